"""Faults jobs against a small real service in the real sandbox: each expectation (an answer in
time, a documented status, recovery, one charge per retried order) can pass and can fail."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from shop_harness import run_job, shop_job

from proofwork.harness.faults import Plan
from proofwork.sandbox import BwrapSandbox

Faults = Callable[..., dict[str, Any]]

ANSWERS = {"201": "paid", "202": "payment_pending", "503": "payment_unavailable"}


def options(*scenarios: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A `[faults]` section with short windows, so a test takes seconds."""
    base = {"deadline_s": 2.5, "recovery_s": 2.0, "orders": 2, "settle_s": 0.3}
    return {"answers": ANSWERS, "scenario": list(scenarios), **base, **extra}


ERROR500 = {"id": "error500", "name": "provider error 500", "mode": "error500"}
BLACKHOLE = {"id": "blackhole", "name": "black hole", "mode": "blackhole"}
SLOW = {"id": "slow", "name": "slow provider", "mode": "slow", "delay_s": 3}
RESET = {"id": "reset", "name": "connection reset", "mode": "reset"}


@pytest.fixture
def faults(sandbox_factory: Callable[..., BwrapSandbox]) -> Faults:
    """Runs a faults job against the fake shop with the given flaws."""

    def run(
        *flaws: str, scenarios: tuple[dict[str, Any], ...] = (ERROR500,), deadline_s: float = 60
    ) -> dict[str, Any]:
        job = shop_job(
            sandbox_factory(), "faults", options(*scenarios), flaws=flaws, deadline_s=deadline_s
        )
        return run_job(job)

    return run


def scenario(results: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(s for s in results["scenarios"] if s["id"] == name)
    return found


def test_a_service_that_answers_pending_and_recovers_passes_every_scenario(
    faults: Faults,
) -> None:
    results = faults(scenarios=(ERROR500, BLACKHOLE, SLOW, RESET))
    assert results["service"]["started"]
    for outcome in results["scenarios"]:
        assert outcome["passed"], outcome["problems"]
        assert outcome["recovered"]
        assert outcome["double_charges"] == 0
        assert {a["status"] for a in outcome["answers"]} == {202}
    assert results["other_double_charges"] == {}


def test_a_service_that_waits_for_a_silent_provider_hangs(faults: Faults) -> None:
    outcome = scenario(faults("no_timeout", scenarios=(BLACKHOLE,)), "blackhole")
    assert outcome["hangs"] == 2
    assert not outcome["passed"]
    problem = outcome["problems"][0]
    assert problem["kind"] == "hang"
    assert problem["count"] == 2
    assert problem["message"].startswith("black hole: expected an answer within 2.5 s")
    assert "did not answer" in problem["message"]
    assert problem["exchange"]["method"] == "POST"


def test_a_service_that_crashes_on_a_provider_error_is_a_server_error(faults: Faults) -> None:
    outcome = scenario(faults("crash_on_error"), "error500")
    assert outcome["server_errors"] == 2
    assert outcome["problems"][0]["kind"] == "server_error"
    assert "answered 500" in outcome["problems"][0]["message"]
    assert outcome["recovered"], "it takes orders again once the provider is fine"


def test_a_service_that_never_takes_orders_again_has_not_recovered(faults: Faults) -> None:
    outcome = scenario(faults("stuck_after_error"), "error500")
    assert outcome["hangs"] == outcome["server_errors"] == 0, "503 is a documented answer"
    assert not outcome["recovered"]
    kinds = outcome["problem_kinds"]
    assert "not_recovered" in kinds
    message = next(p for p in outcome["problems"] if p["kind"] == "not_recovered")["message"]
    assert "within 2 s" in message
    assert "answered 503" in message


def test_a_retry_that_ignores_the_idempotency_key_is_a_double_charge(faults: Faults) -> None:
    # The slow provider books the charge and answers late: the service's own attempt timed
    # out, and the customer's retry with the same key must not be charged again.
    outcome = scenario(faults("no_idempotency", scenarios=(SLOW,)), "slow")
    assert outcome["double_charges"] == 1
    assert {"retry_new_order", "double_charge"} <= set(outcome["problem_kinds"])
    doubled = next(p for p in outcome["problems"] if p["kind"] == "double_charge")
    assert "charged 2 times" in doubled["message"]


def test_a_status_the_contract_does_not_list_for_an_outage_is_undocumented(
    faults: Faults,
) -> None:
    outcome = scenario(faults("declines_on_error", scenarios=(RESET,)), "reset")
    assert outcome["undocumented"] == 2
    assert outcome["server_errors"] == outcome["hangs"] == 0
    message = outcome["problems"][0]["message"]
    assert "expected an answer within 2.5 s: 201 paid, 202 payment_pending or 503" in message
    assert "answered 402" in message


def test_scenarios_that_no_longer_fit_the_deadline_are_not_run(faults: Faults) -> None:
    # 12 s, less the 3 s shutdown grace and 2 s for results, leaves 7 s: one scenario may take
    # two waits of 4.5 s and a 2 s recovery window, so none fits.
    results = faults(scenarios=(ERROR500, RESET), deadline_s=12)
    assert [(s["id"], s["ran"], s["passed"]) for s in results["scenarios"]] == [
        ("error500", False, False),
        ("reset", False, False),
    ]


def test_the_plan_reads_the_accepted_answers_from_the_pack() -> None:
    plan = Plan.from_options(options(ERROR500))
    assert plan.answers == {201: "paid", 202: "payment_pending", 503: "payment_unavailable"}
    assert plan.expected == "201 paid, 202 payment_pending or 503 payment_unavailable"
    assert plan.wait_s == plan.deadline_s + 2
