from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from proofwork.store.models import Invitation


def get(session: Session, org_id: str, invitation_id: str) -> Invitation | None:
    """The organisation's invitation, or None."""
    return session.scalar(
        select(Invitation).where(Invitation.id == invitation_id, Invitation.org_id == org_id)
    )


def listing(org_id: str) -> Select[Invitation]:
    """The organisation's invitations (for a page)."""
    return select(Invitation).where(Invitation.org_id == org_id)
