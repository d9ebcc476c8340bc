from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from proofwork.store.models import Candidate


def get(session: Session, org_id: str, candidate_id: str) -> Candidate | None:
    """The organisation's candidate, or None."""
    return session.scalar(
        select(Candidate).where(Candidate.id == candidate_id, Candidate.org_id == org_id)
    )


def listing(org_id: str) -> Select[Candidate]:
    """The organisation's candidates (for a page)."""
    return select(Candidate).where(Candidate.org_id == org_id)
