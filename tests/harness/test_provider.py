"""The fake Paystream: each mode behaves as specified and idempotent charges count once."""

from __future__ import annotations

import random
import statistics
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from proofwork.harness.provider import Latency, Provider

CHARGE = {"amount": "49.99", "currency": "EUR", "reference": "ord_1"}


_client = httpx.Client(trust_env=False)


@pytest.fixture(scope="module", autouse=True)
def _close_client() -> Iterator[None]:
    yield
    _client.close()


@pytest.fixture
def provider() -> Iterator[Provider]:
    with Provider() as started:
        yield started


def charge(
    provider: Provider,
    body: dict[str, Any] | None = None,
    key: str | None = "k1",
    timeout: float = 5,
) -> httpx.Response:
    headers = {"Idempotency-Key": key} if key else {}
    return _client.post(
        provider.url + "/charges", json=body or CHARGE, headers=headers, timeout=timeout
    )


def test_ok_charges_and_answers_201(provider: Provider) -> None:
    response = charge(provider)

    assert response.status_code == 201
    assert response.json()["status"] == "succeeded" and response.json()["id"].startswith("ch_")
    [booked] = provider.charges
    assert (booked.idempotency_key, booked.amount, booked.currency, booked.reference) == (
        "k1",
        "49.99",
        "EUR",
        "ord_1",
    )
    assert booked.status == "succeeded" and not booked.replay
    assert provider.succeeded_by_reference() == {"ord_1": 1}


def test_decline_answers_402(provider: Provider) -> None:
    provider.behave("decline")

    response = charge(provider)

    assert response.status_code == 402 and response.json()["status"] == "declined"
    assert provider.succeeded_by_reference() == {}


@pytest.mark.parametrize(
    "change",
    [
        {"amount": 49.99},
        {"amount": "49.9"},
        {"amount": "0.00"},
        {"amount": "-1.00"},
        {"currency": "USD"},
        {"reference": ""},
    ],
)
def test_invalid_requests_are_refused_like_a_real_provider(
    provider: Provider, change: dict[str, Any]
) -> None:
    response = charge(provider, {**CHARGE, **change})

    assert response.status_code == 400
    assert provider.charges[0].status == "rejected" and provider.charges[0].reason
    assert provider.succeeded_by_reference() == {}


def test_a_body_that_is_not_json_is_refused(provider: Provider) -> None:
    response = httpx.post(provider.url + "/charges", content=b"{nope")

    assert response.status_code == 400


def test_a_repeated_key_returns_the_original_charge_and_counts_once(provider: Provider) -> None:
    first, again = charge(provider), charge(provider)

    assert again.status_code == 201 and again.json() == first.json()
    assert [c.replay for c in provider.charges] == [False, True]
    assert provider.succeeded_by_reference() == {"ord_1": 1}


def test_a_repeated_key_replays_a_decline_too(provider: Provider) -> None:
    provider.behave("decline")
    charge(provider)
    provider.behave("ok")

    assert charge(provider).status_code == 402
    assert provider.succeeded_by_reference() == {}


def test_a_key_reused_for_another_request_conflicts(provider: Provider) -> None:
    charge(provider)

    response = charge(provider, {**CHARGE, "amount": "50.00"})

    assert response.status_code == 409
    assert provider.charges[-1].status == "key_reused"
    assert provider.succeeded_by_reference() == {"ord_1": 1}


def test_new_keys_are_new_charges(provider: Provider) -> None:
    charge(provider, key="a")
    charge(provider, key="b")
    charge(provider, key=None)

    assert provider.succeeded_by_reference() == {"ord_1": 3}


def test_slow_answers_after_the_delay(provider: Provider) -> None:
    provider.behave("slow", delay_s=0.4)

    started = time.monotonic()
    response = charge(provider)

    assert response.status_code == 201 and time.monotonic() - started >= 0.4


def test_latency_is_added_to_every_answer(provider: Provider) -> None:
    provider.latency_s = 0.3

    started = time.monotonic()
    charge(provider)

    assert time.monotonic() - started >= 0.3


def test_a_latency_distribution_has_its_median_and_tail() -> None:
    latency = Latency(median_ms=20, p99_ms=100)
    rng = random.Random(7)  # noqa: S311 - reproducible draws, not secrets
    draws = sorted(latency.draw(rng) for _ in range(20_000))
    assert statistics.median(draws) == pytest.approx(0.020, rel=0.05)
    assert draws[int(0.99 * len(draws))] == pytest.approx(0.100, rel=0.1)
    assert Latency(30, 30).draw(rng) == pytest.approx(0.030)
    with pytest.raises(ValueError, match="median_ms <= p99_ms"):
        Latency(median_ms=50, p99_ms=10)


def answered_after(provider: Provider, count: int) -> list[float]:
    seconds = []
    for n in range(count):
        started = time.monotonic()
        charge(provider, {**CHARGE, "reference": f"o{n}"}, key=f"k{n}")
        seconds.append(time.monotonic() - started)
    return seconds


def test_each_answer_waits_a_seeded_draw_of_the_latency(provider: Provider) -> None:
    latency = Latency(median_ms=40, p99_ms=200)
    provider.slow_down(latency, seed=3)
    first = answered_after(provider, 6)
    provider.slow_down(latency, seed=3)
    again = answered_after(provider, 6)
    rng = random.Random(3)  # noqa: S311 - the provider's own seeded draws
    expected = [latency.draw(rng) for _ in range(6)]
    for seen in (first, again):
        assert all(s >= e for s, e in zip(seen, expected, strict=True))
        assert all(s < e + 0.1 for s, e in zip(seen, expected, strict=True))
    provider.reset()
    assert max(answered_after(provider, 3)) < 0.1, "reset takes the latency away"


def test_a_slow_answer_holds_up_no_other_request(provider: Provider) -> None:
    provider.slow_down(Latency(median_ms=300, p99_ms=300))
    threads = [
        threading.Thread(target=charge, args=(provider, {**CHARGE, "reference": f"o{i}"}, f"k{i}"))
        for i in range(20)
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(provider.succeeded_by_reference()) == 20
    assert 0.3 <= time.monotonic() - started < 1.5


@pytest.mark.parametrize(("mode", "status"), [("error500", 500), ("error503", 503)])
def test_error_modes_answer_their_status_and_charge_nothing(
    provider: Provider, mode: str, status: int
) -> None:
    provider.behave(mode)

    assert charge(provider).status_code == status
    assert provider.charges[0].status == mode
    assert provider.succeeded_by_reference() == {}


def test_reset_closes_the_connection_without_an_answer(provider: Provider) -> None:
    provider.behave("reset")

    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        charge(provider)
    assert provider.charges[0].status == "reset"


def call_into(provider: Provider, outcome: list[BaseException | httpx.Response]) -> None:
    """Charge with a long timeout and keep whatever came back, answer or error."""
    try:
        outcome.append(charge(provider, timeout=30))
    except httpx.HTTPError as exc:
        outcome.append(exc)


def test_blackhole_holds_the_request_until_stop(provider: Provider) -> None:
    provider.behave("blackhole")
    outcome: list[BaseException | httpx.Response] = []
    caller = threading.Thread(target=call_into, args=(provider, outcome))
    caller.start()
    time.sleep(0.5)
    assert caller.is_alive() and provider.charges[0].status == "blackhole"

    started = time.monotonic()
    provider.stop()
    caller.join(timeout=5)

    assert not caller.is_alive() and time.monotonic() - started < 3
    assert isinstance(outcome[0], httpx.RemoteProtocolError)


def test_reset_also_lets_a_held_request_go(provider: Provider) -> None:
    provider.behave("slow", delay_s=30)
    outcome: list[BaseException | httpx.Response] = []
    caller = threading.Thread(target=call_into, args=(provider, outcome))
    caller.start()
    time.sleep(0.3)

    provider.reset()
    caller.join(timeout=5)

    assert not caller.is_alive() and isinstance(outcome[0], httpx.HTTPError)


def test_times_applies_a_mode_to_the_next_requests_then_reverts(provider: Provider) -> None:
    provider.behave("error503")
    provider.behave("decline", times=2)

    statuses = [charge(provider, key=f"k{i}").status_code for i in range(4)]

    assert statuses == [402, 402, 503, 503]


def test_reset_forgets_charges_and_goes_back_to_ok(provider: Provider) -> None:
    provider.behave("decline")
    provider.latency_s = 0.1
    charge(provider)

    provider.reset()

    assert provider.charges == [] and provider.latency_s == 0
    assert charge(provider).status_code == 201  # same key: forgotten, so a new charge


def test_unknown_paths_and_modes_are_refused(provider: Provider) -> None:
    assert httpx.get(provider.url + "/charges/ch_1").status_code == 404
    with pytest.raises(ValueError, match="unknown provider mode"):
        provider.behave("sometimes")


def test_it_serves_many_requests_at_once(provider: Provider) -> None:
    provider.latency_s = 0.2
    threads = [
        threading.Thread(target=charge, args=(provider, {**CHARGE, "reference": f"o{i}"}, f"k{i}"))
        for i in range(30)
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(provider.succeeded_by_reference()) == 30
    assert time.monotonic() - started < 2
