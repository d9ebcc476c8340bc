"""Writes the committed OpenAPI document: `python -m proofwork.web.openapi` (make openapi)."""

from __future__ import annotations

import json
from pathlib import Path

from proofwork.web.app import openapi_document

COMMITTED = Path(__file__).with_name("openapi.json")


def render() -> str:
    """The document as committed: sorted keys, two-space indent, a final newline."""
    return json.dumps(openapi_document(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    COMMITTED.write_text(render())
    print(f"wrote {COMMITTED}")
