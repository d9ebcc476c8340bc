"""Erasing a candidate for real: their rows cascade away, and so do blobs nobody else uses."""

from __future__ import annotations

from typing import Any

from sqlalchemy import CompoundSelect, delete, select, union
from sqlalchemy.orm import Session

from proofwork.store.blobs import BlobStore
from proofwork.store.models import Candidate, Run, Submission


def _referenced(session: Session, shas: set[str]) -> set[str]:
    if not shas:
        return set()
    query: CompoundSelect[Any] = union(
        select(Submission.sha256).where(Submission.sha256.in_(shas)),
        select(Run.report_sha256).where(Run.report_sha256.in_(shas)),
        select(Run.html_sha256).where(Run.html_sha256.in_(shas)),
    )
    return set(session.scalars(query))


def _candidate_blobs(session: Session, candidate_id: str) -> set[str]:
    submissions = select(Submission.id).where(Submission.candidate_id == candidate_id)
    query: CompoundSelect[Any] = union(
        select(Submission.sha256).where(Submission.candidate_id == candidate_id),
        select(Run.report_sha256).where(Run.submission_id.in_(submissions)),
        select(Run.html_sha256).where(Run.submission_id.in_(submissions)),
    )
    return {sha for sha in session.scalars(query) if sha}


def erase_candidate(*, session: Session, blobs: BlobStore, org_id: str, candidate_id: str) -> bool:
    """Delete the candidate, their invitations, submissions, runs, reports and unshared blobs.

    Returns False when the organisation has no such candidate.
    """
    shas = _candidate_blobs(session, candidate_id)
    deleted = session.execute(
        delete(Candidate).where(Candidate.id == candidate_id, Candidate.org_id == org_id)
    )
    if not deleted.rowcount:  # type: ignore[attr-defined]
        return False
    session.expire_all()
    blobs.delete(session, shas - _referenced(session, shas))
    return True
