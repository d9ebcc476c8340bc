"""Webhook deliveries to a real receiver on loopback (allowed explicitly): Standard Webhooks
signatures, the retry schedule with jitter, one webhook-id across retries, 410 disables,
private targets refused unless allowed."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from databases import Store
from sqlalchemy import select, update

from proofwork.jobs import queue
from proofwork.jobs.execute import _end
from proofwork.store.database import unit_of_work
from proofwork.store.models import (
    DeliveryState,
    Organisation,
    Run,
    RunState,
    Submission,
    WebhookDelivery,
    WebhookEndpoint,
    utcnow,
)
from proofwork.webhooks import outbox
from proofwork.webhooks.signing import new_secret


class Receiver:
    """A loopback HTTP server that answers with scripted statuses and keeps what it got."""

    def __init__(self) -> None:
        self.statuses: list[int] = []
        self.received: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(receiver.statuses.pop(0) if receiver.statuses else 204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://localhost:{self.server.server_port}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def verify(self, secret: str, headers: dict[str, str], body: bytes) -> bool:
        """Check the signature the way a receiver following the spec does."""
        key = base64.b64decode(secret.removeprefix("whsec_"))
        signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
        expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
        return f"v1,{expected}" in headers["webhook-signature"].split(" ")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver()
    made.thread.start()
    yield made
    made.server.shutdown()
    made.server.server_close()


@pytest.fixture
def endpoint(fresh_store: Store, receiver: Receiver) -> WebhookEndpoint:
    with unit_of_work(fresh_store.factory) as session:
        org = Organisation(name="Acme")
        session.add(org)
        session.flush()
        found = WebhookEndpoint(org_id=org.id, url=receiver.url, secret=new_secret(), events=[])
        session.add(found)
        session.flush()
        return found


def _emit(store: Store, endpoint: WebhookEndpoint, event: str = "decision.recorded") -> str:
    with unit_of_work(store.factory) as session:
        assert outbox.emit(session, endpoint.org_id, event, {"x": 1}) == 1
        return session.scalars(select(WebhookDelivery.id)).all()[-1]


def _delivery(store: Store, delivery_id: str) -> WebhookDelivery:
    with unit_of_work(store.factory) as session:
        return session.get_one(WebhookDelivery, delivery_id)


def _make_due(store: Store, delivery_id: str) -> None:
    with unit_of_work(store.factory) as session:
        session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == delivery_id)
            .values(next_attempt_at=utcnow() - dt.timedelta(seconds=1))
        )


def test_a_delivery_is_signed_the_standard_webhooks_way(
    fresh_store: Store, endpoint: WebhookEndpoint, receiver: Receiver
) -> None:
    delivery_id = _emit(fresh_store, endpoint)
    assert outbox.deliver_due(fresh_store.factory, allow_private=True) == 1
    ((headers, body),) = receiver.received
    assert receiver.verify(endpoint.secret, headers, body)
    assert json.loads(body)["type"] == "decision.recorded"
    assert headers["webhook-id"] == _delivery(fresh_store, delivery_id).message_id
    assert headers["host"].startswith("localhost")
    delivered = _delivery(fresh_store, delivery_id)
    assert (delivered.state, delivered.attempts, delivered.last_status) == (
        DeliveryState.DELIVERED,
        1,
        204,
    )
    assert outbox.deliver_due(fresh_store.factory, allow_private=True) == 0


def test_failures_are_retried_on_the_schedule_with_the_same_webhook_id(
    fresh_store: Store, endpoint: WebhookEndpoint, receiver: Receiver
) -> None:
    receiver.statuses = [500, 503]
    delivery_id = _emit(fresh_store, endpoint)
    before = utcnow()
    outbox.deliver_due(fresh_store.factory, allow_private=True)
    first = _delivery(fresh_store, delivery_id)
    wait = (first.next_attempt_at - before).total_seconds()
    assert first.state == DeliveryState.PENDING and 4.4 <= wait <= 5.6  # 5 s ± 10% jitter
    assert outbox.deliver_due(fresh_store.factory, allow_private=True) == 0  # not due yet
    _make_due(fresh_store, delivery_id)
    outbox.deliver_due(fresh_store.factory, allow_private=True)
    second = _delivery(fresh_store, delivery_id)
    assert 270 <= (second.next_attempt_at - utcnow()).total_seconds() <= 330  # 5 min ± 10%
    _make_due(fresh_store, delivery_id)
    outbox.deliver_due(fresh_store.factory, allow_private=True)
    assert _delivery(fresh_store, delivery_id).state == DeliveryState.DELIVERED
    ids = {headers["webhook-id"] for headers, _ in receiver.received}
    assert len(receiver.received) == 3 and len(ids) == 1


def test_a_410_disables_the_endpoint(
    fresh_store: Store, endpoint: WebhookEndpoint, receiver: Receiver
) -> None:
    receiver.statuses = [410]
    delivery_id = _emit(fresh_store, endpoint)
    outbox.deliver_due(fresh_store.factory, allow_private=True)
    assert _delivery(fresh_store, delivery_id).state == DeliveryState.FAILED
    with unit_of_work(fresh_store.factory) as session:
        disabled = session.get_one(WebhookEndpoint, endpoint.id)
        assert not disabled.enabled and "410" in disabled.disabled_reason
        assert outbox.emit(session, endpoint.org_id, "decision.recorded", {}) == 0


def test_private_targets_are_refused_after_resolution_unless_allowed(
    fresh_store: Store, endpoint: WebhookEndpoint, receiver: Receiver
) -> None:
    delivery_id = _emit(fresh_store, endpoint)
    outbox.deliver_due(fresh_store.factory, allow_private=False)
    refused = _delivery(fresh_store, delivery_id)
    assert refused.state == DeliveryState.FAILED and receiver.received == []
    assert "localhost resolves to 127.0.0.1" in refused.last_error
    assert "PROOFWORK_WEBHOOKS_ALLOW_PRIVATE" in refused.last_error
    for url in ("http://169.254.169.254/latest", "http://10.0.0.1/", "ftp://example.org/"):
        with pytest.raises(outbox.Refused):
            outbox.check_target(url, allow_private=False)


def test_a_run_ending_queues_its_event_in_the_same_transaction(
    fresh_store: Store, endpoint: WebhookEndpoint, receiver: Receiver
) -> None:
    with unit_of_work(fresh_store.factory) as session:
        submission = Submission(org_id=endpoint.org_id, sha256="0" * 64, size=1, origin="upload")
        session.add(submission)
        session.flush()
        run = queue.enqueue(
            session, org_id=endpoint.org_id, submission_id=submission.id, challenge=None,
            probes=None, cores=1,
        )  # fmt: skip
        claim = queue.claim_next(session, worker="w", free_cores=1)
    assert claim is not None
    assert _end(fresh_store.factory, claim, RunState.FAILED, reason="refused: bad archive")
    outbox.deliver_due(fresh_store.factory, allow_private=True)
    ((_, body),) = receiver.received
    event = json.loads(body)
    assert event["type"] == "run.failed"
    assert event["data"]["run_id"] == run.id and event["data"]["reason"] == "refused: bad archive"
    with unit_of_work(fresh_store.factory) as session:
        assert session.get_one(Run, run.id).state == RunState.FAILED
