"""Content-addressed blobs: submissions' archives and reports, named by their sha256.

Two places, one interface. Embedded (SQLite) keeps the bytes in a folder under PROOFWORK_HOME;
scale-out (PostgreSQL) keeps them in the `blob` table, so a worker on another machine reaches
them through the database it already uses (see "Blobs" in README.md). Either way the `blob`
table lists every blob, so erasure can tell which ones no row refers to any more.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from sqlalchemy import delete, event, select
from sqlalchemy.orm import Session

from proofwork.config import Settings
from proofwork.store.models import Blob

CHUNK = 1024 * 1024


class BlobTooLarge(Exception):
    """The stream went past the cap; nothing was kept."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"larger than the {limit} bytes allowed")
        self.limit = limit


class BlobStore(Protocol):
    def put(self, session: Session, chunks: Iterable[bytes], limit: int | None = None) -> Blob:
        """Store the bytes (streamed, refused past `limit`); return the blob's row."""

    def read(self, session: Session, sha256: str) -> bytes:
        """The blob's bytes (KeyError when there is none)."""

    def delete(self, session: Session, sha256s: Iterable[str]) -> None:
        """Remove the blobs when the session's transaction commits."""


def _digest_to(chunks: Iterable[bytes], sink: _Sink, limit: int | None) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    for chunk in chunks:
        size += len(chunk)
        if limit is not None and size > limit:
            raise BlobTooLarge(limit)
        digest.update(chunk)
        sink.write(chunk)
    return digest.hexdigest(), size


class _Sink(Protocol):
    def write(self, data: bytes, /) -> object: ...


def _row(session: Session, sha: str, size: int, data: bytes | None) -> Blob:
    blob = session.get(Blob, sha)
    if blob is None:
        blob = Blob(sha256=sha, size=size, data=data)
        session.add(blob)
        session.flush()
    return blob


class FolderBlobs:
    """Blobs as files `<root>/<sha[:2]>/<sha>`, written to a temporary name then renamed."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def put(self, session: Session, chunks: Iterable[bytes], limit: int | None = None) -> Blob:
        """Stream to a temporary file, then move it to its content address."""
        self.root.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as sink:
                sha, size = _digest_to(chunks, sink, limit)
            target = self.path(sha)
            new = not target.exists()
            target.parent.mkdir(exist_ok=True)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        if new:
            # A transaction that rolls back leaves no file that no row names.
            @event.listens_for(session, "after_rollback", once=True)
            def _forget(_session: Session) -> None:
                target.unlink(missing_ok=True)

        return _row(session, sha, size, None)

    def read(self, session: Session, sha256: str) -> bytes:
        """The file's bytes."""
        if session.get(Blob, sha256) is None:
            raise KeyError(sha256)
        return self.path(sha256).read_bytes()

    def delete(self, session: Session, sha256s: Iterable[str]) -> None:
        """Delete the rows now and the files once the transaction commits."""
        shas = sorted(set(sha256s))
        if not shas:
            return
        session.execute(delete(Blob).where(Blob.sha256.in_(shas)))

        @event.listens_for(session, "after_commit", once=True)
        def _unlink(_session: Session) -> None:
            for sha in shas:
                self.path(sha).unlink(missing_ok=True)


class DatabaseBlobs:
    """Blobs as rows of the store's `blob` table (bytea on PostgreSQL)."""

    def put(self, session: Session, chunks: Iterable[bytes], limit: int | None = None) -> Blob:
        """Stream into a spooled buffer (disk past 8 MiB), then one row."""
        with tempfile.SpooledTemporaryFile(max_size=8 * CHUNK) as sink:
            sha, size = _digest_to(chunks, sink, limit)
            sink.seek(0)
            if session.get(Blob, sha) is not None:
                return _row(session, sha, size, None)
            return _row(session, sha, size, sink.read())

    def read(self, session: Session, sha256: str) -> bytes:
        """The row's bytes."""
        data = session.scalar(select(Blob.data).where(Blob.sha256 == sha256))
        if data is None:
            raise KeyError(sha256)
        return data

    def delete(self, session: Session, sha256s: Iterable[str]) -> None:
        """Delete the rows (gone when the transaction commits)."""
        shas = sorted(set(sha256s))
        if shas:
            session.execute(delete(Blob).where(Blob.sha256.in_(shas)))


def blob_store(settings: Settings) -> BlobStore:
    """The blob store the settings choose (auto: a folder on SQLite, rows on PostgreSQL)."""
    choice = settings.blobs
    if choice == "auto":
        choice = "folder" if settings.store_url.startswith("sqlite") else "database"
    return FolderBlobs(settings.blobs_dir) if choice == "folder" else DatabaseBlobs()
