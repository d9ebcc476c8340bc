from __future__ import annotations

import secrets

from sqlalchemy.orm import Session

from proofwork.store.blobs import BlobStore
from proofwork.store.erasure import erase_candidate
from proofwork.store.models import Candidate
from proofwork.web import audit
from proofwork.web.auth import Principal
from proofwork.web.candidates import repository
from proofwork.web.candidates.schemas import CandidateCreate
from proofwork.web.errors import not_found


def create_candidate(*, session: Session, principal: Principal, data: CandidateCreate) -> Candidate:
    """A new candidate with a random alias for blind review."""
    candidate = Candidate(
        org_id=principal.org_id,
        name=data.name,
        email=data.email,
        alias=f"Candidate {secrets.token_hex(3).upper()}",
    )
    session.add(candidate)
    session.flush()
    audit.record(session, principal, "create", "candidate", candidate.id)
    return candidate


def get_candidate(*, session: Session, principal: Principal, candidate_id: str) -> Candidate:
    """The caller's organisation's candidate; 404 for anything else."""
    found = repository.get(session, principal.org_id, candidate_id)
    if found is None:
        raise not_found("candidate")
    return found


def delete_candidate(
    *, session: Session, principal: Principal, blobs: BlobStore, candidate_id: str
) -> None:
    """Erase the candidate: invitations, submissions, runs, reports and their blobs."""
    if not erase_candidate(
        session=session, blobs=blobs, org_id=principal.org_id, candidate_id=candidate_id
    ):
        raise not_found("candidate")
    audit.record(session, principal, "erase", "candidate", candidate_id)
