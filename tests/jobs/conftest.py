"""Queue fixtures: an organisation with a tiny generic submission stored as a real archive."""

from __future__ import annotations

import pytest
from databases import Store
from jobs_support import Enqueue, tiny_archive

from proofwork.jobs import queue
from proofwork.store.database import unit_of_work
from proofwork.store.models import Organisation, Submission


@pytest.fixture
def enqueue(fresh_store: Store) -> Enqueue:
    """Queues a run of an archive (the tiny project by default); returns the run's id."""
    with unit_of_work(fresh_store.factory) as session:
        org = Organisation(name="Acme")
        session.add(org)
        session.flush()
        org_id = org.id

    def make(archive: bytes | None = None, cores: int = 1, probes: list[str] | None = None) -> str:
        with unit_of_work(fresh_store.factory) as session:
            blob = fresh_store.blobs.put(session, [archive or tiny_archive()])
            submission = Submission(
                org_id=org_id, sha256=blob.sha256, size=blob.size, origin="upload"
            )
            session.add(submission)
            session.flush()
            run = queue.enqueue(
                session,
                org_id=org_id,
                submission_id=submission.id,
                challenge=None,
                probes=probes or ["tests"],
                cores=cores,
            )
            return run.id

    return make
