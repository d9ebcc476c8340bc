from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from proofwork.store.models import WebhookDelivery, WebhookEndpoint


def endpoint(session: Session, org_id: str, endpoint_id: str) -> WebhookEndpoint | None:
    """The organisation's endpoint, or None."""
    return session.scalar(
        select(WebhookEndpoint).where(
            WebhookEndpoint.id == endpoint_id, WebhookEndpoint.org_id == org_id
        )
    )


def endpoints(session: Session, org_id: str) -> list[WebhookEndpoint]:
    """The organisation's endpoints, oldest first."""
    query = select(WebhookEndpoint).where(WebhookEndpoint.org_id == org_id)
    return list(session.scalars(query.order_by(WebhookEndpoint.created_at)))


def deliveries(session: Session, endpoint_id: str, limit: int) -> list[WebhookDelivery]:
    """The endpoint's latest deliveries, newest first."""
    query = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
    return list(session.scalars(query.order_by(WebhookDelivery.created_at.desc()).limit(limit)))


def delivery(session: Session, org_id: str, delivery_id: str) -> WebhookDelivery | None:
    """The organisation's delivery, or None."""
    return session.scalar(
        select(WebhookDelivery).where(
            WebhookDelivery.id == delivery_id, WebhookDelivery.org_id == org_id
        )
    )
