from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from proofwork.store.models import Submission


def get(session: Session, org_id: str, submission_id: str) -> Submission | None:
    """The organisation's submission, or None."""
    return session.scalar(
        select(Submission).where(Submission.id == submission_id, Submission.org_id == org_id)
    )
