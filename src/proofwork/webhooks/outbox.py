"""Putting events in the outbox (in the caller's transaction) and delivering what is due."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import logging
import random
import socket
import time
import uuid
from threading import Event
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from proofwork.config import Settings
from proofwork.store.database import unit_of_work
from proofwork.store.models import DeliveryState, WebhookDelivery, WebhookEndpoint, utcnow
from proofwork.webhooks.signing import sign

EVENTS = ("run.completed", "run.failed", "scorecard.submitted", "decision.recorded")
# The Standard Webhooks schedule: after the first try, wait these many seconds between tries.
RETRY_AFTER_S = (5, 300, 1800, 7200, 18000, 36000, 36000)
JITTER = 0.1
LEASE_S = 60
TIMEOUT_S = 10
log = logging.getLogger(__name__)


def emit(session: Session, org_id: str, event_type: str, data: dict[str, Any]) -> int:
    """Queue the event for every enabled endpoint of the organisation that wants it."""
    endpoints = session.scalars(
        select(WebhookEndpoint).where(
            WebhookEndpoint.org_id == org_id, WebhookEndpoint.enabled.is_(True)
        )
    )
    queued = 0
    stamp = utcnow()
    for endpoint in endpoints:
        if endpoint.events and event_type not in endpoint.events:
            continue
        payload = {"type": event_type, "timestamp": stamp.isoformat(), "data": data}
        session.add(
            WebhookDelivery(
                org_id=org_id,
                endpoint_id=endpoint.id,
                message_id=f"msg_{uuid.uuid4().hex}",
                event_type=event_type,
                payload=payload,
            )
        )
        queued += 1
    session.flush()
    return queued


class Refused(Exception):
    """The target may not be called (a private address, a bad URL)."""


def check_target(url: str, *, allow_private: bool) -> tuple[str, str]:
    """(URL with the host replaced by its checked address, host) or Refused.

    The name is resolved once, here, and the request goes to that address: a name that
    resolves to a public address for the check and a private one for the call gets nowhere.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Refused(f"{url!r} is not an http(s) URL")
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise Refused(f"cannot resolve {parts.hostname}: {exc}") from exc
    address = ipaddress.ip_address(infos[0][4][0])
    for info in infos:
        candidate = ipaddress.ip_address(info[4][0])
        if not allow_private and not candidate.is_global:
            raise Refused(
                f"{parts.hostname} resolves to {candidate}, a private, loopback or link-local "
                "address; set PROOFWORK_WEBHOOKS_ALLOW_PRIVATE=true to allow it"
            )
    host = f"[{address}]" if address.version == 6 else str(address)
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, "")), parts.hostname


def _claim_due(factory: sessionmaker[Session], limit: int) -> list[str]:
    """Take due deliveries for LEASE_S (a worker that dies mid-call lets them come back)."""
    now = utcnow()
    with unit_of_work(factory) as session:
        due = list(
            session.scalars(
                select(WebhookDelivery.id)
                .where(
                    WebhookDelivery.state == DeliveryState.PENDING,
                    WebhookDelivery.next_attempt_at <= now,
                )
                .order_by(WebhookDelivery.next_attempt_at)
                .limit(limit)
            )
        )
        taken = []
        for delivery_id in due:
            result = session.execute(
                update(WebhookDelivery)
                .where(
                    WebhookDelivery.id == delivery_id,
                    WebhookDelivery.state == DeliveryState.PENDING,
                    WebhookDelivery.next_attempt_at <= now,
                )
                .values(next_attempt_at=now + dt.timedelta(seconds=LEASE_S))
            )
            if getattr(result, "rowcount", 0):
                taken.append(delivery_id)
        return taken


def _next_attempt(attempts: int) -> dt.datetime | None:
    """When to try again after `attempts` tries (None: give up), with ±10% jitter."""
    if attempts > len(RETRY_AFTER_S):
        return None
    delay = RETRY_AFTER_S[attempts - 1]
    return utcnow() + dt.timedelta(seconds=delay * random.uniform(1 - JITTER, 1 + JITTER))  # noqa: S311 - jitter, not a secret


def _post(delivery: WebhookDelivery, endpoint: WebhookEndpoint, allow_private: bool) -> int:
    """POST the signed message; the status code (Refused or httpx.HTTPError on failure)."""
    target, host = check_target(endpoint.url, allow_private=allow_private)
    body = json.dumps(delivery.payload, separators=(",", ":")).encode()
    timestamp = int(time.time())
    headers = {
        "Host": host,
        "Content-Type": "application/json",
        "webhook-id": delivery.message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(endpoint.secret, delivery.message_id, timestamp, body),
        "User-Agent": "Proofwork-Webhooks",
    }
    with httpx.Client(timeout=TIMEOUT_S, follow_redirects=False) as client:
        response = client.post(
            target, content=body, headers=headers, extensions={"sni_hostname": host}
        )
    return response.status_code


def deliver(
    factory: sessionmaker[Session], delivery_id: str, *, allow_private: bool
) -> DeliveryState:
    """Try one delivery now and record the outcome."""
    with unit_of_work(factory) as session:
        delivery = session.get_one(WebhookDelivery, delivery_id)
        endpoint = session.get_one(WebhookEndpoint, delivery.endpoint_id)
        session.expunge_all()
    status, error = None, ""
    try:
        status = _post(delivery, endpoint, allow_private)
    except Refused as exc:
        error = f"refused: {exc}"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"
    return _record(factory, delivery, endpoint, status, error)


def _record(
    factory: sessionmaker[Session],
    delivery: WebhookDelivery,
    endpoint: WebhookEndpoint,
    status: int | None,
    error: str,
) -> DeliveryState:
    attempts = delivery.attempts + 1
    values: dict[str, Any] = {"attempts": attempts, "last_status": status, "last_error": error}
    with unit_of_work(factory) as session:
        if status is not None and 200 <= status < 300:
            values |= {"state": DeliveryState.DELIVERED, "delivered_at": utcnow()}
        elif status == 410 or error.startswith("refused:"):
            values |= {"state": DeliveryState.FAILED}
            if status == 410:  # the receiver says it is gone for good
                session.execute(
                    update(WebhookEndpoint)
                    .where(WebhookEndpoint.id == endpoint.id)
                    .values(enabled=False, disabled_reason="the endpoint answered 410 Gone")
                )
        else:
            retry = _next_attempt(attempts)
            values |= {"next_attempt_at": retry} if retry else {"state": DeliveryState.FAILED}
        session.execute(
            update(WebhookDelivery).where(WebhookDelivery.id == delivery.id).values(**values)
        )
        state: DeliveryState = values.get("state", DeliveryState.PENDING)
        return state


def deliver_due(factory: sessionmaker[Session], *, allow_private: bool, limit: int = 20) -> int:
    """Deliver what is due now; how many were tried."""
    taken = _claim_due(factory, limit)
    for delivery_id in taken:
        deliver(factory, delivery_id, allow_private=allow_private)
    return len(taken)


def redeliver(session: Session, delivery: WebhookDelivery) -> None:
    """Send a delivery again soon, with the same message id."""
    delivery.state = DeliveryState.PENDING
    delivery.next_attempt_at = utcnow()


def deliver_forever(factory: sessionmaker[Session], settings: Settings, stop: Event) -> None:
    """Deliver due webhooks every second until `stop` is set (a busy store is retried)."""
    while not stop.wait(1.0):
        try:
            deliver_due(factory, allow_private=settings.webhooks_allow_private)
        except SQLAlchemyError:
            log.exception("webhook delivery step failed; retrying")
