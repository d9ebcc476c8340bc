"""Writing outputs so no reader ever sees half a file: write beside, flush, rename over."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any


def write_atomic(path: Path, text: str) -> None:
    """Replace `path` with `text` in one step (a crash leaves the old file or the new one)."""
    temporary = path.with_name(f".{path.name}.partial")
    with temporary.open("w", encoding="utf-8", newline="") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def write_csv(path: Path, header: Iterable[str], rows: Iterable[Iterable[object]]) -> None:
    """A CSV output, UTF-8, comma-separated, `\\n` line ends."""
    lines = [",".join(header)]
    lines += [",".join(_field(value) for value in row) for row in rows]
    write_atomic(path, "\n".join(lines) + "\n")


def write_json(path: Path, document: dict[str, Any]) -> None:
    """A JSON output, keys sorted, so the same run always writes the same bytes."""
    write_atomic(path, json.dumps(document, indent=2, sort_keys=True) + "\n")


def _field(value: object) -> str:
    text = str(value)
    if any(c in text for c in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text


def clear_partials(folder: Path) -> None:
    """Remove what a killed run left half-written."""
    for leftover in folder.glob(".*.partial"):
        leftover.unlink()
