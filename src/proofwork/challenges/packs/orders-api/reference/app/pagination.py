"""Opaque cursors: base64 of the last item's sort key, tagged with what they page through."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from app.errors import ApiError

Item = TypeVar("Item")


@dataclass(frozen=True)
class Page(Generic[Item]):
    items: list[Item]
    next_cursor: str | None


def encode_cursor(kind: str, after: str | int) -> str:
    """Make a cursor that resumes after the sort key `after`."""
    raw = json.dumps({"k": kind, "a": after}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, kind: str, key_type: type[Any]) -> Any:
    """Return the sort key inside `cursor`; a cursor we did not make is a 400."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        after = data["a"]
        valid = data["k"] == kind and type(after) is key_type
    except (binascii.Error, ValueError, TypeError, KeyError):
        valid = False
    if not valid:
        raise ApiError(400, "invalid_parameter", "cursor is not valid here; use a next_cursor we returned")
    return after
