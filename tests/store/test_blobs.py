"""Content-addressed blobs, in a folder (embedded) or in the store's rows (scale-out)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from proofwork.config import load_settings
from proofwork.store import BlobStore, BlobTooLarge, DatabaseBlobs, FolderBlobs, blob_store
from proofwork.store.models import Blob


@pytest.fixture(params=["folder", "database"])
def blobs(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    return FolderBlobs(tmp_path / "blobs") if request.param == "folder" else DatabaseBlobs()


def test_a_blob_is_named_by_its_sha256_and_read_back(db: Session, blobs: BlobStore) -> None:
    blob = blobs.put(db, [b"hello ", b"world"])
    assert blob.sha256 == hashlib.sha256(b"hello world").hexdigest()
    assert blob.size == 11
    assert blobs.read(db, blob.sha256) == b"hello world"


def test_the_same_bytes_are_kept_once(db: Session, blobs: BlobStore) -> None:
    first, second = blobs.put(db, [b"same"]), blobs.put(db, [b"sa", b"me"])
    assert first.sha256 == second.sha256
    assert len(db.scalars(select(Blob)).all()) == 1


def test_a_stream_past_the_cap_is_refused_and_nothing_is_kept(
    db: Session, blobs: BlobStore, tmp_path: Path
) -> None:
    def chunks() -> list[bytes]:
        return [b"x" * 1000] * 5

    with pytest.raises(BlobTooLarge, match="4096 bytes"):
        blobs.put(db, chunks(), limit=4096)
    assert db.scalars(select(Blob)).all() == []
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_a_missing_blob_is_a_key_error(db: Session, blobs: BlobStore) -> None:
    with pytest.raises(KeyError):
        blobs.read(db, "0" * 64)


def test_deleted_blobs_are_gone_after_commit(db: Session, blobs: BlobStore) -> None:
    sha = blobs.put(db, [b"secret"]).sha256
    db.commit()
    blobs.delete(db, [sha])
    db.commit()
    with pytest.raises(KeyError):
        blobs.read(db, sha)
    if isinstance(blobs, FolderBlobs):
        assert not blobs.path(sha).exists()


def test_a_folder_blob_whose_transaction_rolls_back_leaves_no_file(
    db: Session, tmp_path: Path
) -> None:
    blobs = FolderBlobs(tmp_path / "blobs")
    sha = blobs.put(db, [b"never kept"]).sha256
    assert blobs.path(sha).is_file()
    db.rollback()
    assert not blobs.path(sha).exists()


def test_auto_keeps_blobs_in_a_folder_on_sqlite_and_in_rows_on_postgresql(
    tmp_path: Path,
) -> None:
    embedded = blob_store(load_settings(home=tmp_path))
    assert isinstance(embedded, FolderBlobs) and embedded.root == tmp_path / "blobs"
    scaled = blob_store(load_settings(home=tmp_path, database_url="postgresql+psycopg://h/db"))
    assert isinstance(scaled, DatabaseBlobs)
    chosen = blob_store(load_settings(home=tmp_path, blobs="database"))
    assert isinstance(chosen, DatabaseBlobs)
