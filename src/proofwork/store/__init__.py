"""The service's store: typed models, Alembic migrations, content-addressed blobs."""

from proofwork.store.blobs import BlobStore, BlobTooLarge, DatabaseBlobs, FolderBlobs, blob_store
from proofwork.store.database import (
    StoreError,
    current_revision,
    describe_url,
    downgrade,
    engine_for,
    head_revision,
    make_engine,
    require_current_schema,
    session_factory,
    unit_of_work,
    upgrade,
)

__all__ = [
    "BlobStore",
    "BlobTooLarge",
    "DatabaseBlobs",
    "FolderBlobs",
    "StoreError",
    "blob_store",
    "current_revision",
    "describe_url",
    "downgrade",
    "engine_for",
    "head_revision",
    "make_engine",
    "require_current_schema",
    "session_factory",
    "unit_of_work",
    "upgrade",
]
