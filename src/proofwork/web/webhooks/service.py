from __future__ import annotations

from sqlalchemy.orm import Session

from proofwork.store.models import WebhookDelivery, WebhookEndpoint
from proofwork.web import audit
from proofwork.web.auth import Principal
from proofwork.web.errors import not_found
from proofwork.web.webhooks import repository
from proofwork.web.webhooks.schemas import EndpointCreate
from proofwork.webhooks import outbox, signing


def create_endpoint(
    *, session: Session, principal: Principal, data: EndpointCreate
) -> WebhookEndpoint:
    """Register an endpoint with a fresh whsec_ secret."""
    endpoint = WebhookEndpoint(
        org_id=principal.org_id,
        url=data.url,
        secret=signing.new_secret(),
        events=list(data.events),
    )
    session.add(endpoint)
    session.flush()
    audit.record(session, principal, "create", "webhook_endpoint", endpoint.id)
    return endpoint


def get_endpoint(*, session: Session, principal: Principal, endpoint_id: str) -> WebhookEndpoint:
    """The caller's organisation's endpoint; 404 for anything else."""
    found = repository.endpoint(session, principal.org_id, endpoint_id)
    if found is None:
        raise not_found("webhook endpoint")
    return found


def delete_endpoint(*, session: Session, principal: Principal, endpoint_id: str) -> None:
    """Remove an endpoint and its deliveries."""
    session.delete(get_endpoint(session=session, principal=principal, endpoint_id=endpoint_id))
    audit.record(session, principal, "delete", "webhook_endpoint", endpoint_id)


def redeliver(*, session: Session, principal: Principal, delivery_id: str) -> WebhookDelivery:
    """Queue a delivery again (same webhook-id)."""
    delivery = repository.delivery(session, principal.org_id, delivery_id)
    if delivery is None:
        raise not_found("webhook delivery")
    outbox.redeliver(session, delivery)
    audit.record(session, principal, "redeliver", "webhook_delivery", delivery.id)
    return delivery
