"""Reading a multipart upload as it streams in: the archive goes to a spooled file, counted."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import IO

from python_multipart import MultipartParser
from python_multipart.multipart import parse_options_header

from proofwork.web.errors import ApiError

FIELD_LIMIT = 4096
SPOOL_BYTES = 8 * 1024 * 1024


def _spool() -> IO[bytes]:
    # Closed by whoever consumes the upload (read_upload on errors, the endpoint after).
    return tempfile.SpooledTemporaryFile(SPOOL_BYTES)


@dataclass
class Upload:
    """The parsed form: the file (spooled to disk past 8 MiB) and the small text fields."""

    file: IO[bytes] = field(default_factory=lambda: _spool())
    filename: str = ""
    size: int = 0
    seen_file: bool = False
    fields: dict[str, str] = field(default_factory=dict)


class _Reader:
    def __init__(self, limit: int) -> None:
        self.limit, self.upload = limit, Upload()
        self._header_field = self._header_value = b""
        self._headers: dict[bytes, bytes] = {}
        self._name, self._is_file, self._value = "", False, bytearray()

    def callbacks(self) -> dict[str, object]:
        return {
            "on_part_begin": self._begin,
            "on_header_field": lambda d, s, e: self._grow("_header_field", d[s:e]),
            "on_header_value": lambda d, s, e: self._grow("_header_value", d[s:e]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._data,
            "on_part_end": self._end,
        }

    def _grow(self, name: str, data: bytes) -> None:
        setattr(self, name, getattr(self, name) + data)

    def _begin(self) -> None:
        self._headers, self._value = {}, bytearray()

    def _header_end(self) -> None:
        self._headers[self._header_field.lower()] = self._header_value
        self._header_field = self._header_value = b""

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        self._name = options.get(b"name", b"").decode("utf-8", "replace")
        self._is_file = b"filename" in options
        if self._is_file and self._name == "file":
            if self.upload.seen_file:
                raise ApiError(422, "send one file field, not several")
            self.upload.seen_file = True
            self.upload.filename = options[b"filename"].decode("utf-8", "replace")[:255]

    def _data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self._is_file and self._name == "file":
            self.upload.size += len(chunk)
            if self.upload.size > self.limit:
                raise ApiError(413, f"the upload is larger than the {self.limit} bytes allowed")
            self.upload.file.write(chunk)
        else:
            self._value += chunk
            if len(self._value) > FIELD_LIMIT:
                raise ApiError(413, f"form field {self._name!r} is over {FIELD_LIMIT} bytes")

    def _end(self) -> None:
        if not self._is_file:
            self.upload.fields[self._name] = self._value.decode("utf-8", "replace")


async def read_upload(
    content_type: str, stream: AsyncIterator[bytes], content_length: int | None, limit: int
) -> Upload:
    """Parse the form as it arrives; 413 as soon as the file passes `limit` bytes."""
    kind, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise ApiError(415, "send the archive as multipart/form-data with a `file` field")
    if content_length is not None and content_length > limit + 64 * 1024:
        raise ApiError(413, f"the upload is larger than the {limit} bytes allowed")
    reader = _Reader(limit)
    parser = MultipartParser(boundary, reader.callbacks())  # type: ignore[arg-type]
    try:
        async for chunk in stream:
            parser.write(chunk)
        parser.finalize()
    except ApiError:
        reader.upload.file.close()
        raise
    except ValueError as exc:  # the multipart parser's own errors (bad framing)
        reader.upload.file.close()
        raise ApiError(400, f"malformed multipart body: {exc}") from exc
    if not reader.upload.seen_file:
        reader.upload.file.close()
        raise ApiError(422, "the form has no `file` field with the archive")
    reader.upload.file.seek(0)
    return reader.upload
