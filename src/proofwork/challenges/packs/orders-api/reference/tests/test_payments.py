import socket
import time
from collections.abc import Callable
from decimal import Decimal

import httpx
import pytest

from app.payments import Outcome, Paystream, idempotency_key, interpret
from tests.support import FAILURES, FakePaystream, charge_body


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def make_client(
    handler: Callable[[httpx.Request], httpx.Response], clock: FakeClock, max_attempts: int = 3
) -> Paystream:
    return Paystream(
        "http://paystream.test",
        attempt_timeout_s=2.0,
        connect_timeout_s=0.5,
        max_attempts=max_attempts,
        transport=httpx.MockTransport(handler),
        sleep=clock.sleep,
        clock=clock,
    )


def test_a_charge_sends_the_amount_as_a_string_with_the_order_key() -> None:
    fake, clock = FakePaystream(), FakeClock()

    result = make_client(fake, clock).charge("ord_1", Decimal("49.9"), budget_s=3)

    assert result.outcome is Outcome.SUCCEEDED
    assert result.charge_id == "ch_0"
    [request] = fake.requests
    assert request.url == "http://paystream.test/charges"
    assert charge_body(request) == {"amount": "49.90", "currency": "EUR", "reference": "ord_1"}
    assert request.headers["Idempotency-Key"] == idempotency_key("ord_1")


def test_a_decline_is_final_and_not_retried() -> None:
    fake, clock = FakePaystream(default="decline"), FakeClock()

    result = make_client(fake, clock).charge("ord_1", Decimal("1.00"), budget_s=3)

    assert result.outcome is Outcome.DECLINED
    assert len(fake.requests) == 1


@pytest.mark.parametrize("failure", FAILURES)
def test_transient_failures_are_retried_with_the_same_key(failure: str) -> None:
    fake, clock = FakePaystream(script=[failure, failure]), FakeClock()

    result = make_client(fake, clock).charge("ord_1", Decimal("1.00"), budget_s=3)

    assert result.outcome is Outcome.SUCCEEDED
    assert {request.headers["Idempotency-Key"] for request in fake.requests} == {"order-ord_1"}
    assert len(fake.requests) == 3
    assert clock.sleeps and all(0 < pause <= 0.2 for pause in clock.sleeps)


def test_it_gives_up_after_the_last_attempt_without_sleeping_again() -> None:
    fake, clock = FakePaystream(default="error503"), FakeClock()

    result = make_client(fake, clock, max_attempts=2).charge("ord_1", Decimal("1.00"), budget_s=3)

    assert result.outcome is Outcome.UNKNOWN
    assert "503" in result.detail
    assert len(fake.requests) == 2
    assert len(clock.sleeps) == 1


def test_it_stops_when_the_budget_is_spent() -> None:
    fake, clock = FakePaystream(default="timeout"), FakeClock()
    fake_request_cost = 1.0

    def slow_timeout(request: httpx.Request) -> httpx.Response:
        clock.now += fake_request_cost
        return fake(request)

    result = make_client(slow_timeout, clock, max_attempts=10).charge("ord_1", Decimal("1.00"), budget_s=2.5)

    assert result.outcome is Outcome.UNKNOWN
    assert clock.now <= 2.5 + fake_request_cost
    assert len(fake.requests) < 10


def test_a_zero_budget_makes_no_attempt() -> None:
    fake, clock = FakePaystream(), FakeClock()

    result = make_client(fake, clock).charge("ord_1", Decimal("1.00"), budget_s=0)

    assert result.outcome is Outcome.UNKNOWN
    assert fake.requests == []


def test_a_real_timeout_is_bounded_by_the_attempt_timeout() -> None:
    # A loopback socket that accepts connections and never answers: the "black hole" provider.
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        host, port = server.getsockname()
        client = Paystream(f"http://{host}:{port}", attempt_timeout_s=0.2, connect_timeout_s=0.2, max_attempts=2)
        started = time.monotonic()
        result = client.charge("ord_1", Decimal("1.00"), budget_s=0.5)
        elapsed = time.monotonic() - started
        client.close()

    assert result.outcome is Outcome.UNKNOWN
    assert "Timeout" in result.detail
    assert elapsed < 1.0


@pytest.mark.parametrize(
    ("status", "body", "outcome"),
    [
        (201, {"id": "ch_1", "status": "succeeded"}, Outcome.SUCCEEDED),
        (200, {"id": "ch_1", "status": "succeeded"}, Outcome.SUCCEEDED),
        (402, {"status": "declined"}, Outcome.DECLINED),
        (402, None, Outcome.DECLINED),
        (201, {"status": "declined"}, Outcome.DECLINED),
        (201, {"status": "processing"}, Outcome.UNKNOWN),
        (201, ["succeeded"], Outcome.UNKNOWN),
        (400, {"error": "bad"}, Outcome.UNKNOWN),
        (409, {"error": "in progress"}, Outcome.UNKNOWN),
        (500, None, Outcome.UNKNOWN),
    ],
)
def test_interpret_trusts_only_clear_answers(status: int, body: object, outcome: Outcome) -> None:
    assert interpret(status, body).outcome is outcome
