"""Audit events: who did what to which object (written in the caller's unit of work)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from proofwork.store.models import AuditEvent
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
