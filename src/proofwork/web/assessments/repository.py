from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from proofwork.store.models import Assessment


def get(session: Session, org_id: str, assessment_id: str) -> Assessment | None:
    """The organisation's assessment, or None."""
    return session.scalar(
        select(Assessment).where(Assessment.id == assessment_id, Assessment.org_id == org_id)
    )


def listing(org_id: str) -> Select[Assessment]:
    """The organisation's assessments (for a page)."""
    return select(Assessment).where(Assessment.org_id == org_id)
