"""Audit events: who did what to which object (written in the caller's unit of work)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from proofwork.store.models import ApiToken, AuditEvent, User
from proofwork.web.auth import Principal


def record(
    session: Session,
    principal: Principal,
    action: str,
    object_type: str,
    object_id: str,
    **detail: Any,
) -> None:
    """Add an audit event for the caller's organisation."""
    session.add(
        AuditEvent(
            org_id=principal.org_id,
            actor=principal.actor,
            action=action,
            object_type=object_type,
            object_id=object_id,
            detail=detail,
        )
    )


@dataclass(frozen=True)
class Entry:
    """An audit event as the audit log shows it: the actor named, not just an id."""

    id: int
    created_at: dt.datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    detail: dict[str, Any]


def actor_name(user_email: str | None, token_name: str | None, actor: str) -> str:
    """A person by e-mail, an API token by its name, a candidate's invitation as such."""
    if user_email:
        return user_email
    if token_name is not None:
        return f"API token {token_name or actor[:8]}"
    return "a candidate (invitation link)" if actor != "unknown" else "unknown"


def entries(
    session: Session, org_id: str, *, object_type: str = "", before: int | None = None,
    limit: int = 50,
) -> tuple[list[Entry], int | None]:  # fmt: skip
    """One page of the organisation's audit log, newest first, and the id to page on from."""
    query = (
        select(AuditEvent, User.email, ApiToken.name)
        .outerjoin(User, User.id == AuditEvent.actor)
        .outerjoin(ApiToken, ApiToken.id == AuditEvent.actor)
        .where(AuditEvent.org_id == org_id)
        .order_by(AuditEvent.id.desc())
        .limit(limit + 1)
    )
    if object_type:
        query = query.where(AuditEvent.object_type == object_type)
    if before is not None:
        query = query.where(AuditEvent.id < before)
    rows = session.execute(query).all()
    found = [
        Entry(
            event.id,
            event.created_at,
            actor_name(email, token_name, event.actor),
            event.action,
            event.object_type,
            event.object_id,
            event.detail,
        )
        for event, email, token_name in rows[:limit]
    ]
    return found, (found[-1].id if len(rows) > limit else None)


def object_types(session: Session, org_id: str) -> list[str]:
    """The kinds of objects the organisation's audit log mentions (for its filter)."""
    return list(
        session.scalars(
            select(AuditEvent.object_type)
            .where(AuditEvent.org_id == org_id)
            .distinct()
            .order_by(AuditEvent.object_type)
        )
    )
