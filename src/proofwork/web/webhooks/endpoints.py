from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from proofwork.web.auth import Principal, require
from proofwork.web.deps import SessionDep
from proofwork.web.webhooks import repository, service
from proofwork.web.webhooks.schemas import (
    DeliveryOut,
    EndpointCreate,
    EndpointCreated,
    EndpointOut,
)

router = APIRouter(tags=["webhooks"])
Manager = Annotated[Principal, Depends(require("webhooks:manage"))]


@router.post("/webhook-endpoints", status_code=201)
def create_endpoint(
    data: EndpointCreate, session: SessionDep, principal: Manager
) -> EndpointCreated:
    """Register a URL for events; the response holds its signing secret, shown once."""
    endpoint = service.create_endpoint(session=session, principal=principal, data=data)
    session.commit()
    return EndpointCreated(
        **EndpointOut.model_validate(endpoint).model_dump(), secret=endpoint.secret
    )


@router.get("/webhook-endpoints")
def list_endpoints(session: SessionDep, principal: Manager) -> list[EndpointOut]:
    """The organisation's webhook endpoints."""
    return [EndpointOut.model_validate(e) for e in repository.endpoints(session, principal.org_id)]


@router.delete("/webhook-endpoints/{endpoint_id}", status_code=204)
def delete_endpoint(endpoint_id: str, session: SessionDep, principal: Manager) -> Response:
    """Remove an endpoint and its deliveries."""
    service.delete_endpoint(session=session, principal=principal, endpoint_id=endpoint_id)
    session.commit()
    return Response(status_code=204)


@router.get("/webhook-endpoints/{endpoint_id}/deliveries")
def list_deliveries(
    endpoint_id: str,
    session: SessionDep,
    principal: Manager,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> list[DeliveryOut]:
    """The endpoint's latest deliveries, newest first."""
    endpoint = service.get_endpoint(session=session, principal=principal, endpoint_id=endpoint_id)
    return [
        DeliveryOut.model_validate(d) for d in repository.deliveries(session, endpoint.id, limit)
    ]


@router.post("/webhook-deliveries/{delivery_id}/redeliver")
def redeliver(delivery_id: str, session: SessionDep, principal: Manager) -> DeliveryOut:
    """Send a delivery again, with the same webhook-id."""
    delivery = service.redeliver(session=session, principal=principal, delivery_id=delivery_id)
    session.commit()
    return DeliveryOut.model_validate(delivery)
