"""What an order becomes when Paystream declines, fails, or does not answer (R7 and the open question)."""

import logging
import time

import pytest
from fastapi.testclient import TestClient

from app import orders
from app.checkout import Checkout
from app.worker import PaymentRetrier
from tests.conftest import ClientFactory
from tests.support import FAILURES, FakePaystream, add_product, error_code, order_body, stock_of


def retrier(client: TestClient, *, seconds_from_now: float = 60.0) -> PaymentRetrier:
    """A retry worker whose clock runs ahead, so every pending order is due."""
    checkout: Checkout = client.app.state.services.checkout  # type: ignore[attr-defined]
    return PaymentRetrier(checkout, clock=lambda: time.time() + seconds_from_now)


@pytest.fixture
def shop(client: TestClient) -> TestClient:
    add_product(client, "PAN", "12.25", 10)
    return client


def test_a_declined_payment_is_402_and_puts_the_stock_back(shop: TestClient, paystream: FakePaystream) -> None:
    paystream.default = "decline"

    response = shop.post("/orders", json=order_body(("PAN", 4)))

    assert response.status_code == 402
    assert error_code(response) == "payment_declined"
    order_id = response.json()["error"]["order_id"]
    assert shop.get(f"/orders/{order_id}").json()["status"] == "payment_failed"
    assert stock_of(shop, "PAN") == 10


@pytest.mark.parametrize("failure", FAILURES)
def test_an_unanswered_payment_is_202_pending_and_keeps_the_stock(
    shop: TestClient, paystream: FakePaystream, failure: str
) -> None:
    paystream.default = failure

    response = shop.post("/orders", json=order_body(("PAN", 4)))

    assert response.status_code == 202
    assert response.json()["status"] == "payment_pending"
    assert stock_of(shop, "PAN") == 6


def test_a_pending_order_is_paid_once_paystream_is_back(shop: TestClient, paystream: FakePaystream) -> None:
    paystream.default = "error503"
    order_id = shop.post("/orders", json=order_body(("PAN", 1))).json()["id"]
    paystream.default = "succeed"

    assert retrier(shop).run_once() == 1

    assert shop.get(f"/orders/{order_id}").json()["status"] == "paid"
    assert paystream.succeeded_charges == [f"order-{order_id}"]
    assert {r.headers["Idempotency-Key"] for r in paystream.requests} == {f"order-{order_id}"}


def test_a_pending_order_declined_later_releases_its_stock(shop: TestClient, paystream: FakePaystream) -> None:
    paystream.default = "timeout"
    order_id = shop.post("/orders", json=order_body(("PAN", 3))).json()["id"]
    paystream.default = "decline"

    retrier(shop).run_once()

    assert shop.get(f"/orders/{order_id}").json()["status"] == "payment_failed"
    assert stock_of(shop, "PAN") == 10


def test_a_still_unanswered_payment_waits_longer_each_time(shop: TestClient, paystream: FakePaystream) -> None:
    paystream.default = "error500"
    order_id = shop.post("/orders", json=order_body(("PAN", 1))).json()["id"]
    checkout: Checkout = shop.app.state.services.checkout  # type: ignore[attr-defined]

    retrier(shop).run_once()

    assert shop.get(f"/orders/{order_id}").json()["status"] == "payment_pending"
    assert [checkout.retry_delay_s(n) for n in (1, 2, 3, 10)] == [0.01, 0.02, 0.04, 0.05]


def test_orders_that_are_not_due_are_left_alone(shop: TestClient, paystream: FakePaystream) -> None:
    paystream.default = "error500"
    shop.post("/orders", json=order_body(("PAN", 1)))
    requests_so_far = len(paystream.requests)

    assert retrier(shop, seconds_from_now=-60).run_once() == 0
    assert len(paystream.requests) == requests_so_far


def test_a_long_pending_payment_is_reported(
    client_factory: ClientFactory, paystream: FakePaystream, caplog: pytest.LogCaptureFixture
) -> None:
    client = client_factory(pending_alert_s=1.0)
    add_product(client, "PAN")
    paystream.default = "error503"
    client.post("/orders", json=order_body(("PAN", 1)))

    with caplog.at_level(logging.ERROR, logger="app.worker"):
        retrier(client, seconds_from_now=5).run_once()

    assert "reconcile" in caplog.text


def test_an_order_reserved_before_a_crash_is_charged_after_restart(
    client_factory: ClientFactory, paystream: FakePaystream
) -> None:
    first = client_factory()
    add_product(first, "PAN", "12.25", 10)
    paystream.script = ["crash"]
    with pytest.raises(RuntimeError):
        first.post("/orders", json=order_body(("PAN", 2)))

    second = client_factory()  # a new process on the same DATA_DIR
    retrier(second).run_once()

    [order] = second.get("/orders", params={"customer_id": "cust-1"}).json()["items"]
    assert order["status"] == "paid"
    assert stock_of(second, "PAN") == 8
    assert len(paystream.succeeded_charges) == 1


def test_the_background_worker_completes_pending_orders(
    client_factory: ClientFactory, paystream: FakePaystream
) -> None:
    client = client_factory(run_worker=True)
    add_product(client, "PAN")
    paystream.script = ["error503", "error503"]

    order_id = client.post("/orders", json=order_body(("PAN", 1))).json()["id"]

    deadline = time.monotonic() + 5
    while client.get(f"/orders/{order_id}").json()["status"] == "payment_pending":
        assert time.monotonic() < deadline, "the worker did not complete the payment"
        time.sleep(0.02)
    assert client.get(f"/orders/{order_id}").json()["status"] == "paid"


def test_the_worker_survives_a_failing_round(
    client_factory: ClientFactory, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[int] = []
    real_claim_due = orders.claim_due

    def flaky_claim_due(*args: object, **kwargs: object) -> list[orders.Order]:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database is locked")
        return real_claim_due(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(orders, "claim_due", flaky_claim_due)
    with caplog.at_level(logging.ERROR, logger="app.worker"):
        client_factory(run_worker=True)
        deadline = time.monotonic() + 5
        while len(calls) < 3:
            assert time.monotonic() < deadline
            time.sleep(0.01)

    assert "payment retry round failed" in caplog.text


def test_stopping_the_worker_interrupts_a_batch(shop: TestClient, paystream: FakePaystream) -> None:
    paystream.default = "error503"
    for _ in range(3):
        shop.post("/orders", json=order_body(("PAN", 1)))
    worker = retrier(shop)
    worker.stop(timeout_s=0.1)
    requests_so_far = len(paystream.requests)

    assert worker.run_once() == 3
    assert len(paystream.requests) == requests_so_far
