"""Faults jobs: the payment provider misbehaves, one scenario at a time (faults.toml), and the
service must still answer each new order in time with a documented status, take orders again
once the provider recovers, and never charge a customer twice for a retried order.

Charges are attributed to a customer's order by amount: each scenario's retried order is for a
product of its own price, so every charge for that amount is a charge for that customer, even
when the service never told us the order's id (it hung, or answered 503).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from proofwork.harness.http import Exchange
from proofwork.harness.job import Job
from proofwork.harness.provider import Charge, Provider
from proofwork.harness.service import ServiceControl
from proofwork.harness.shop import CheckFailed, Shop, failure, order_id, said, start

PAID = (201, "paid")
RETRY_POLL_S = 0.5


@dataclass(frozen=True)
class Scenario:
    """One way the provider misbehaves."""

    id: str
    name: str
    mode: str
    delay_s: float = 0.0

    @classmethod
    def from_options(cls, data: dict[str, Any]) -> Scenario:
        """From a `[[faults.scenario]]` table."""
        mode = str(data["mode"])
        return cls(
            str(data.get("id", mode)),
            str(data.get("name", mode)),
            mode,
            float(data.get("delay_s", 0)),
        )


@dataclass(frozen=True)
class Plan:
    """What the pack expects of the service while its provider misbehaves."""

    scenarios: tuple[Scenario, ...]
    answers: dict[int, str]  # accepted status -> what its body must say (order status/error code)
    deadline_s: float = 6.0
    recovery_s: float = 10.0
    orders: int = 3
    settle_s: float = 1.0

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> Plan:
        """From the job's options (the `[faults]` section of faults.toml)."""
        answers = options.get("answers") or {"201": "paid", "202": "payment_pending"}
        return cls(
            scenarios=tuple(Scenario.from_options(s) for s in options.get("scenario", [])),
            answers={int(status): str(word) for status, word in answers.items()},
            deadline_s=float(options.get("deadline_s", 6.0)),
            recovery_s=float(options.get("recovery_s", 10.0)),
            orders=max(1, int(options.get("orders", 3))),
            settle_s=float(options.get("settle_s", 1.0)),
        )

    @property
    def wait_s(self) -> float:
        """How long the client waits: past the deadline, to tell "late" from "never"."""
        return self.deadline_s + 2.0

    @property
    def expected(self) -> str:
        """The accepted answers in words: `201 paid, 202 payment_pending or 503 …`."""
        words = [f"{status} {word}" for status, word in sorted(self.answers.items())]
        return ", ".join(words[:-1]) + (" or " if len(words) > 1 else "") + words[-1]


@dataclass
class Outcome:
    """What happened in one scenario."""

    scenario: Scenario
    answers: list[dict[str, Any]] = field(default_factory=list)
    problems: list[dict[str, Any]] = field(default_factory=list)
    recovered: bool = False
    recovery_s: float | None = None
    keyed_amount: str = ""
    keyed_ids: set[str] = field(default_factory=set)
    retried: Exchange | None = None
    charged: int = 0
    ran: bool = True

    def problem(self, kind: str, message: str, ex: Exchange | None = None) -> None:
        """Note a broken expectation; one per kind is kept (with a count) to stay readable."""
        for seen in self.problems:
            if seen["kind"] == kind:
                seen["count"] += 1
                return
        exchange = ex.to_json() if ex is not None else None
        self.problems.append({"kind": kind, "message": message, "count": 1, "exchange": exchange})

    def to_json(self) -> dict[str, Any]:
        """JSON-ready, for the results file."""
        kinds = [p["kind"] for p in self.problems]
        return {
            "id": self.scenario.id,
            "name": self.scenario.name,
            "mode": self.scenario.mode,
            "ran": self.ran,
            "passed": self.ran and not self.problems,
            "answers": self.answers,
            "hangs": _count(self.problems, "hang"),
            "server_errors": _count(self.problems, "server_error"),
            "undocumented": _count(self.problems, "undocumented"),
            "recovered": self.recovered,
            "recovery_s": self.recovery_s,
            "double_charges": max(0, self.charged - 1),
            "problem_kinds": kinds,
            "problems": self.problems,
        }


def _count(problems: list[dict[str, Any]], kind: str) -> int:
    return sum(p["count"] for p in problems if p["kind"] == kind)


def run(job: Job, service: ServiceControl, provider: Provider) -> dict[str, Any]:
    """Start the service, run every scenario against it, stop it with SIGTERM."""
    plan = Plan.from_options(job.options)
    results: dict[str, Any] = {"service": start(service, provider), "deadline_s": plan.deadline_s}
    if not results["service"]["started"]:
        return results
    shop = Shop.open(job, service, provider)
    try:
        results.update(run_scenarios(shop, provider, plan, _until(job)))
    finally:
        shop.close()
    clean, seconds = service.stop()
    results["service"].update({"sigterm_clean": clean, "sigterm_s": round(seconds, 3)})
    return results


def _until(job: Job) -> float:
    # Leave room for the SIGTERM and for writing the results within the job's deadline.
    return time.monotonic() + job.deadline_s - job.service.shutdown_timeout_s - 2.0


def run_scenarios(shop: Shop, provider: Provider, plan: Plan, until: float) -> dict[str, Any]:
    """Every scenario in turn (those that no longer fit before `until` are not run)."""
    try:
        plain = shop.add_product(price="10.00", stock=10_000)
    except CheckFailed as exc:
        return {"scenarios": [], "setup_error": failure(exc)}
    outcomes: list[Outcome] = []
    for number, scenario in enumerate(plan.scenarios):
        if time.monotonic() + plan.wait_s * 2 + plan.recovery_s > until:
            outcomes.append(Outcome(scenario, ran=False))
            continue
        outcomes.append(run_scenario(shop, provider, plan, scenario, plain, number))
    provider.behave("ok")
    time.sleep(plan.settle_s)  # background retries that double-charge show up here
    charges = provider.charges
    count_charges(outcomes, charges)
    # Let go of requests the provider still holds (black hole, slow), so a service waiting on
    # them is not blamed here for a slow SIGTERM: that is operability's to measure.
    provider.reset()
    return {
        "scenarios": [o.to_json() for o in outcomes],
        "other_double_charges": other_double_charges(outcomes, charges),
    }


def run_scenario(
    shop: Shop, provider: Provider, plan: Plan, scenario: Scenario, plain: str, number: int
) -> Outcome:
    """New orders while the provider misbehaves, then recovery, then the customer's retry."""
    outcome = Outcome(scenario)
    # Whole-euro prices of its own per scenario: a distinct, exactly computable total.
    price = f"{21 + number}.00"
    try:
        keyed_sku = shop.add_product(price=price, stock=1000)
    except CheckFailed as exc:
        outcome.problem("setup", f"{scenario.name}: {exc.message}", exc.exchange)
        return outcome
    outcome.keyed_amount = shop.total(price)
    keyed, key = shop.body(keyed_sku), shop.ctx.unique("key")
    provider.behave(scenario.mode, delay_s=scenario.delay_s)

    def order(i: int) -> Exchange:
        body = keyed if i == 0 else shop.body(plain)
        return shop.place(body, key=key if i == 0 else None, timeout_s=plan.wait_s)

    answers = shop.at_once(plan.orders, order)
    for ex in answers:
        judge(outcome, plan, shop, ex)
    _note_id(outcome, answers[0])
    recover(outcome, plan, shop, provider, plain)
    retry(outcome, plan, shop, keyed, key)
    return outcome


def judge(outcome: Outcome, plan: Plan, shop: Shop, ex: Exchange) -> None:
    """An order placed while the provider misbehaves: answered in time, as documented."""
    outcome.answers.append({"status": ex.status, "elapsed_s": round(ex.elapsed_s, 3)})
    name = outcome.scenario.name
    wanted = f"an answer within {plan.deadline_s:g} s: {plan.expected}"
    if ex.status is None or ex.elapsed_s > plan.deadline_s:
        outcome.problem("hang", f"{name}: expected {wanted}; the service {shop.answered(ex)}", ex)
    elif ex.status not in plan.answers:
        kind = "server_error" if ex.status >= 500 else "undocumented"
        outcome.problem(kind, f"{name}: expected {wanted}; the service {shop.answered(ex)}", ex)
    elif said(ex) != plan.answers[ex.status]:
        shape = shop.error_problem(ex) if ex.status >= 400 else None
        got = shape or f"its body says {said(ex)!r}"
        outcome.problem(
            "undocumented",
            f"{name}: a {ex.status} must say {plan.answers[ex.status]!r}, but {got}; "
            f"the service {shop.answered(ex)}",
            ex,
        )


def recover(outcome: Outcome, plan: Plan, shop: Shop, provider: Provider, sku: str) -> None:
    """The provider answers normally again: a new order must be paid within the window."""
    provider.behave("ok")
    began = time.monotonic()
    while True:
        ex = shop.place(shop.body(sku), timeout_s=plan.wait_s)
        if (ex.status, said(ex)) == PAID:
            outcome.recovered, outcome.recovery_s = True, round(time.monotonic() - began, 3)
            return
        if time.monotonic() - began + RETRY_POLL_S > plan.recovery_s:
            break
        time.sleep(RETRY_POLL_S)
    outcome.problem(
        "not_recovered",
        f"{outcome.scenario.name}, then the provider recovered: expected new orders to be "
        f"paid again (201) within {plan.recovery_s:g} s; the last try {shop.answered(ex)}",
        ex,
    )


def retry(outcome: Outcome, plan: Plan, shop: Shop, body: dict[str, Any], key: str) -> None:
    """The customer whose order met the fault retries it with the same Idempotency-Key."""
    ex = outcome.retried = shop.place(body, key=key, timeout_s=plan.wait_s)
    name = outcome.scenario.name
    if ex.status is None or ex.status >= 500:
        outcome.problem(
            "retry_failed",
            f"{name}: a customer retried their order with the same Idempotency-Key after "
            f"the provider recovered; expected the order, but the service {shop.answered(ex)}",
            ex,
        )
        return
    first = set(outcome.keyed_ids)
    _note_id(outcome, ex)
    if first and len(outcome.keyed_ids) > 1:
        outcome.problem(
            "retry_new_order",
            f"{name}: the retry with the same Idempotency-Key made a second order "
            f"({', '.join(sorted(outcome.keyed_ids))}); one key must be one order",
            ex,
        )


def _note_id(outcome: Outcome, ex: Exchange) -> None:
    found = order_id(ex)
    if found is not None:
        outcome.keyed_ids.add(found)


def count_charges(outcomes: list[Outcome], charges: list[Charge]) -> None:
    """How many successful charges each scenario's retried order got, and the finding if >1."""
    new = [c for c in charges if c.status == "succeeded" and not c.replay]
    for outcome in (o for o in outcomes if o.keyed_amount):
        mine = [c for c in new if _same_amount(c.amount, outcome.keyed_amount)]
        mine += [c for c in new if c.reference in outcome.keyed_ids and c not in mine]
        outcome.charged = len(mine)
        if outcome.charged > 1:
            outcome.problem(
                "double_charge",
                f"{outcome.scenario.name}: a customer who retried their order with the same "
                f"Idempotency-Key was charged {outcome.charged} times "
                f"({', '.join(c.amount + ' for ' + c.reference for c in mine)}); "
                "expected one charge",
                outcome.retried,
            )


def other_double_charges(outcomes: list[Outcome], charges: list[Charge]) -> dict[str, int]:
    """Orders besides the retried ones that got more than one successful charge."""
    keyed = {o.keyed_amount for o in outcomes if o.keyed_amount}
    counted = Counter(
        c.reference
        for c in charges
        if c.status == "succeeded"
        and not c.replay
        and not any(_same_amount(c.amount, k) for k in keyed)
    )
    return {reference: n for reference, n in counted.items() if n > 1}


def _same_amount(amount: str, expected: str) -> bool:
    try:
        return Decimal(amount) == Decimal(expected)
    except ArithmeticError:
        return False
