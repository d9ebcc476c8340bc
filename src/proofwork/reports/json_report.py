"""The canonical JSON report: writing it, and checking it against the packaged schema."""

from __future__ import annotations

import json
import os
import tempfile
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from referencing import Registry, Resource

from proofwork.evidence import Report

SCHEMA_RESOURCE = "report.schema.json"
AUDIT_SCHEMA_RESOURCE = "audit.schema.json"


class ReportSchemaError(ValueError):
    """A report document does not match `proofwork.report/1`."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path  # JSON path of the offending value, e.g. "$.findings[0].severity"
        self.reason = reason


def write_json(report: Report, path: Path) -> None:
    """Write the report's canonical JSON to `path` atomically (UTF-8, indent 2)."""
    write_document(report.to_json(), path)


def write_document(document: dict[str, Any], path: Path) -> None:
    """Write a JSON document to `path` atomically (UTF-8, indent 2)."""
    # allow_nan=False: NaN/Infinity are not JSON, and a reader in another language would choke.
    text = json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False)
    write_atomic(path, text + "\n")


def write_atomic(path: Path, text: str) -> None:
    """Replace `path` with `text` (UTF-8) so a reader never sees a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # The temporary file lives next to the target: a rename is only atomic on one filesystem.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # Tool output decoded with surrogateescape can hold lone surrogates, which UTF-8 cannot
        # encode; "\udcff" is what JSON would have written for one, and it is readable in HTML.
        with os.fdopen(
            fd, "w", encoding="utf-8", errors="backslashreplace", newline="\n"
        ) as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp creates 0600; reports are meant to be read by the web app and by people.
        Path(tmp).chmod(0o644)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_schema(resource: str = SCHEMA_RESOURCE) -> dict[str, Any]:
    """A packaged JSON Schema (draft 2020-12): of `Report.to_json()` unless told otherwise."""
    text = resources.files("proofwork.schema").joinpath(resource).read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def _validator(resource: str) -> Draft202012Validator:
    # The audit schema refers to the report schema's finding, so both are registered by $id.
    schemas = [load_schema(name) for name in (SCHEMA_RESOURCE, AUDIT_SCHEMA_RESOURCE)]
    registry: Registry[Any] = Registry().with_resources(
        (schema["$id"], Resource.from_contents(schema)) for schema in schemas
    )
    return Draft202012Validator(load_schema(resource), registry=registry)


def validate(document: dict[str, Any], resource: str = SCHEMA_RESOURCE) -> None:
    """Raise ReportSchemaError naming the JSON path of the most relevant problem, if any."""
    error = best_match(_validator(resource).iter_errors(document))
    if error is not None:
        raise ReportSchemaError(error.json_path, error.message)
