"""Durability jobs: what the service acknowledged survives `kill -9` and a restart on the same
DATA_DIR, many customers ordering the last units at once never oversell, and a kill while
orders are in flight leaves money and stock that reconcile.

The race runs first, on a fresh service; then orders are placed (half one by one, half at once)
and the process is killed right after the last acknowledgement, with no chance to flush. Then,
`crashes` times, a burst of orders goes out a few milliseconds apart while Paystream takes its
time (some orders wait on it), and the process is killed at a seeded moment inside the burst.
Once the last restart has let pending payments settle, what the service reports is reconciled
with the stock it was given and the charges Paystream took (`proofwork.harness.reconcile`).
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from proofwork.harness import reconcile
from proofwork.harness.http import Exchange
from proofwork.harness.job import Job
from proofwork.harness.provider import Charge, Latency, Provider
from proofwork.harness.service import ServiceControl, ServiceError
from proofwork.harness.shop import CheckFailed, Shop, failure, order_id, said, start

ACKNOWLEDGED = range(200, 300)  # the brief (R11): any 2xx is an acknowledgement
READ_TIMEOUT_S = 3.0
# Fields of an acknowledged order that must read back the same after the kill.
KEPT = ("customer_id", "total", "items")
# A pending payment may settle while the service is down and restarts; nothing else may change.
SETTLES = {"payment_pending": {"payment_pending", "paid", "payment_failed"}}


@dataclass(frozen=True)
class Plan:
    """How hard to push (the `[durability]` section of faults.toml)."""

    orders: int = 12
    race_stock: int = 5
    race_orders: int = 25
    race_latency_s: float = 0.1
    crashes: int = 3
    in_flight: int = 24
    in_flight_spacing_ms: float = 20.0
    in_flight_latency: Latency = field(default_factory=lambda: Latency(100.0, 1500.0))
    settle_s: float = 30.0
    seed: int = 20261203

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> Plan:
        """From the job's options."""
        latency = options.get("in_flight_latency", {})
        return cls(
            orders=max(2, int(options.get("orders", 12))),
            race_stock=max(1, int(options.get("race_stock", 5))),
            race_orders=max(2, int(options.get("race_orders", 25))),
            race_latency_s=float(options.get("race_latency_s", 0.1)),
            crashes=max(0, int(options.get("crashes", 3))),
            in_flight=max(2, int(options.get("in_flight", 24))),
            in_flight_spacing_ms=float(options.get("in_flight_spacing_ms", 20.0)),
            in_flight_latency=Latency(
                float(latency.get("median_ms", 100.0)), float(latency.get("p99_ms", 1500.0))
            ),
            settle_s=float(options.get("settle_s", 30.0)),
            seed=int(options.get("seed", 20261203)),
        )


def run(job: Job, service: ServiceControl, provider: Provider) -> dict[str, Any]:
    """Start the service, race for the last units, kill -9 it after acknowledged orders and
    again while orders are in flight, then reconcile money and stock."""
    # Room at the end for a graceful stop and the results.
    deadline = time.monotonic() + job.deadline_s - job.service.shutdown_timeout_s - 5
    plan = Plan.from_options(job.options)
    results: dict[str, Any] = {"service": start(service, provider)}
    if not results["service"]["started"]:
        return results
    shop = Shop.open(job, service, provider)
    try:
        results["race"] = race(shop, provider, plan)
        results["kill"] = survive_kill(shop, service, plan)
        if results["kill"].get("came_back") and plan.crashes:
            results["crashes"] = crash_in_flight(shop, service, provider, plan, deadline)
    finally:
        shop.close()
    if results["kill"].get("came_back") and results.get("crashes", {}).get("came_back", True):
        clean, seconds = service.stop()
        results["service"].update({"sigterm_clean": clean, "sigterm_s": round(seconds, 3)})
    return results


def race(shop: Shop, provider: Provider, plan: Plan) -> dict[str, Any]:
    """`race_orders` customers order one of the last `race_stock` units at the same moment."""
    try:
        sku = shop.add_product(stock=plan.race_stock)
    except CheckFailed as exc:
        return {"setup_error": failure(exc)}
    provider.latency_s = plan.race_latency_s
    try:
        answers = shop.at_once(plan.race_orders, lambda _: shop.place(shop.body(sku)))
    finally:
        provider.latency_s = 0.0
    won = [ex for ex in answers if ex.status in ACKNOWLEDGED]
    left = _stock(shop, sku)
    oversold = max(len(won) - plan.race_stock, -left if left is not None else 0, 0)
    failed = [ex for ex in answers if ex.status is None or ex.status >= 500]
    example = won[-1] if oversold and won else (failed[0] if failed else None)
    return {
        "stock": plan.race_stock,
        "orders": plan.race_orders,
        "won": len(won),
        "stock_after": left,
        "oversold": oversold,
        "statuses": _statuses(answers),
        "server_errors": len(failed),
        "example": example.to_json() if example is not None else None,
    }


def _stock(shop: Shop, sku: str) -> int | None:
    try:
        return shop.stock(sku)
    except CheckFailed:
        return None


def _statuses(answers: list[Exchange]) -> dict[str, int]:
    counted: dict[str, int] = {}
    for ex in answers:
        name = str(ex.status) if ex.status is not None else "no answer"
        counted[name] = counted.get(name, 0) + 1
    return counted


def survive_kill(shop: Shop, service: ServiceControl, plan: Plan) -> dict[str, Any]:
    """Acknowledged orders, kill -9 right after the last one, a restart, and each read back."""
    stock = plan.orders * 2 + 10
    try:
        sku = shop.add_product(stock=stock)
    except CheckFailed as exc:
        return {"setup_error": failure(exc)}
    one_by_one = [shop.place(shop.body(sku)) for _ in range(plan.orders // 2)]
    at_once = shop.at_once(plan.orders - len(one_by_one), lambda _: shop.place(shop.body(sku)))
    acknowledged = [ex for ex in one_by_one + at_once if order_id(ex) is not None]
    began = time.monotonic()
    try:
        service.kill()
    except ServiceError as exc:
        return {"acknowledged": len(acknowledged), "came_back": False, "error": str(exc)}
    restart_s = round(time.monotonic() - began, 3)
    return {
        "acknowledged": len(acknowledged),
        "came_back": True,
        "restart_s": restart_s,
        "stock_expected": stock - len(acknowledged),
        "stock_after": _stock(shop, sku),
        **read_back(shop, acknowledged),
    }


def read_back(shop: Shop, acknowledged: list[Exchange]) -> dict[str, Any]:
    """Each acknowledged order, read back after the restart: there, and unchanged."""
    lost: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    for ex in acknowledged:
        before = ex.json()
        read = shop.read(before["id"], timeout_s=READ_TIMEOUT_S)
        if read.status != 200:
            lost.append({"id": before["id"], "read": read.to_json(), "placed": ex.to_json()})
        elif (difference := _difference(before, read)) is not None:
            changed.append({"id": before["id"], "change": difference, "read": read.to_json()})
    return {"lost": lost, "changed": changed}


def _difference(before: dict[str, Any], read: Exchange) -> str | None:
    try:
        after = read.json()
    except CheckFailed:
        return "the order no longer reads as JSON"
    if not isinstance(after, dict):
        return "the order no longer reads as a JSON object"
    for name in KEPT:
        if after.get(name) != before.get(name):
            return f"{name} was {before.get(name)!r}, now {after.get(name)!r}"
    was, now = before.get("status"), said(read)
    if now != was and now not in SETTLES.get(str(was), set()):
        return f"status was {was!r}, now {now!r}"
    return None


# -- kill -9 while orders are in flight ------------------------------------------------------

ROUND_S = 15.0  # what one crash round may take: the burst, a restart, the last answers
SETTLE_POLL_S = 1.0
WAIT_FOR_CHARGE_S = 2.0  # after the seeded moment, for a charge to be on its way


@dataclass
class Crashes:
    """What the crash rounds put on the shelves and sent, gathered for the reconciliation."""

    shelves: list[reconcile.Shelf] = field(default_factory=list)
    customers: list[str] = field(default_factory=list)
    acknowledged: list[Exchange] = field(default_factory=list)
    rounds: list[dict[str, Any]] = field(default_factory=list)


def crash_in_flight(
    shop: Shop, service: ServiceControl, provider: Provider, plan: Plan, deadline: float
) -> dict[str, Any]:
    """`crashes` rounds of kill -9 inside a burst of orders, then settle and reconcile."""
    rng = random.Random(plan.seed)  # noqa: S311 - reproducible moments, not secrets
    first_charge = len(provider.charges)
    crashes = Crashes()
    provider.slow_down(plan.in_flight_latency, seed=plan.seed)
    try:
        for _ in range(plan.crashes):
            if time.monotonic() + ROUND_S + plan.settle_s > deadline:
                break
            outcome = crash_round(shop, service, provider, plan, rng, crashes)
            if not outcome.get("came_back", True) or "setup_error" in outcome:
                return {"rounds": crashes.rounds, **outcome}
    finally:
        provider.slow_down(None)
    if not crashes.rounds:
        return {"rounds": [], "came_back": True, "skipped": "no time left in the budget"}
    settle_s = max(0.0, min(plan.settle_s, deadline - time.monotonic() - 5))
    waited_s = settle(shop, crashes.customers, settle_s)
    return {
        "rounds": crashes.rounds,
        "came_back": True,
        "sent": len(crashes.customers),
        "acknowledged": len(crashes.acknowledged),
        "settled_s": round(waited_s, 3),
        **read_back(shop, crashes.acknowledged),
        **reconcile_all(shop, crashes, provider.charges[first_charge:]),
    }


def crash_round(
    shop: Shop,
    service: ServiceControl,
    provider: Provider,
    plan: Plan,
    rng: random.Random,
    crashes: Crashes,
) -> dict[str, Any]:
    """One burst of orders for a fresh product, and kill -9 at a seeded moment inside it."""
    quantities = [rng.randint(1, 3) for _ in range(plan.in_flight)]
    spacing_s = plan.in_flight_spacing_ms / 1000
    kill_at_s = rng.uniform(0.4, 0.95) * plan.in_flight * spacing_s
    try:
        shelf = reconcile.Shelf(shop.add_product(stock=sum(quantities) + 5), sum(quantities) + 5)
    except CheckFailed as exc:
        return {"setup_error": failure(exc)}
    bodies = [shop.body(shelf.sku, quantity) for quantity in quantities]
    crashes.shelves.append(shelf)
    crashes.customers += [str(body["customer_id"]) for body in bodies]
    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        began = time.monotonic()
        sent = [
            pool.submit(_place_at, shop, body, began + n * spacing_s)
            for n, body in enumerate(bodies)
        ]
        time.sleep(max(0.0, began + kill_at_s - time.monotonic()))
        # The window that matters most is a charge on its way: a slow or busy service may
        # not have reached Paystream by the seeded moment, so wait (briefly) until it has.
        until = time.monotonic() + WAIT_FOR_CHARGE_S
        while provider.waiting == 0 and time.monotonic() < until:
            time.sleep(0.005)
        moment = _moment(sent, provider, time.monotonic() - began, spacing_s)
        try:
            service.kill()
        except ServiceError as exc:
            crashes.rounds.append(moment)
            return {"came_back": False, "error": str(exc)}
        answers = [future.result() for future in sent]
    acknowledged = [ex for ex in answers if order_id(ex) is not None]
    crashes.acknowledged += acknowledged
    crashes.rounds.append({**moment, "sku": shelf.sku, "acknowledged": len(acknowledged)})
    return {"came_back": True}


def _place_at(shop: Shop, body: dict[str, Any], at: float) -> Exchange:
    time.sleep(max(0.0, at - time.monotonic()))
    return shop.place(body, timeout_s=10.0)


def _moment(
    sent: list[Future[Exchange]], provider: Provider, at_s: float, spacing_s: float
) -> dict[str, Any]:
    """Where the orders stood when the kill came (the rest were sent after it)."""
    answered = sum(future.done() for future in sent)
    out = min(len(sent), int(at_s / spacing_s) + 1) if spacing_s > 0 else len(sent)
    return {
        "kill_at_s": round(at_s, 3),
        "orders": len(sent),
        "answered_before_kill": answered,
        "in_flight_at_kill": max(0, out - answered),
        "waiting_on_provider_at_kill": provider.waiting,
    }


def settle(shop: Shop, customers: list[str], seconds: float) -> float:
    """Let pending payments settle, up to `seconds`; how long it took."""
    began = time.monotonic()
    while True:
        reported = reported_orders(shop, customers)
        pending = isinstance(reported, dict) and any(
            order.get("status") == "payment_pending" for order in reported.values()
        )
        if not pending or time.monotonic() - began + SETTLE_POLL_S > seconds:
            return time.monotonic() - began
        time.sleep(SETTLE_POLL_S)


def reported_orders(shop: Shop, customers: Iterable[str]) -> dict[str, dict[str, Any]] | str:
    """Every order the service lists for these customers, by id; or why it could not list."""
    found: dict[str, dict[str, Any]] = {}
    for customer in customers:
        try:
            orders = shop.customer_orders(customer)
        except CheckFailed as exc:
            return exc.message
        found.update({str(o.get("id")): o for o in orders})
    return found


def reconcile_all(shop: Shop, crashes: Crashes, charges: list[Charge]) -> dict[str, Any]:
    """Stock per product and every successful charge, against what the service reports.

    Orders are listed before and after the stock is read, until no status moved in between,
    so a payment settling meanwhile cannot make stock and orders disagree. A charge for an
    order not among them is looked up by its reference. Without a listing of the orders,
    stock cannot be reconciled (`unreconciled` says why), but charges still are."""
    reported: dict[str, dict[str, Any]] | str = {}
    stock: dict[str, int | None] = {}
    for _ in range(3):
        before = reported_orders(shop, crashes.customers)
        stock = {shelf.sku: _stock(shop, shelf.sku) for shelf in crashes.shelves}
        reported = reported_orders(shop, crashes.customers)
        if isinstance(reported, str) or _status_map(before) == _status_map(reported):
            break
    known = dict(reported) if isinstance(reported, dict) else {}
    money = {
        "charges": len(reconcile.new_successes(charges)),
        "orphan_charges": reconcile.orphan_charges(charges, lambda ref: _status(shop, known, ref)),
        "charged_twice": reconcile.charged_twice(charges),
    }
    if isinstance(reported, str):
        return {**money, "unreconciled": reported}
    drifts = reconcile.stock_drift(crashes.shelves, reported.values(), stock)
    pending = sum(o.get("status") == "payment_pending" for o in reported.values())
    return {
        **money,
        "orders_reported": len(reported),
        "pending_after_settle": pending,
        "stock_drift": drifts,
        "stock_drift_units": reconcile.drift_units(drifts),
    }


def _status(shop: Shop, known: dict[str, dict[str, Any]], reference: str) -> str | None:
    """What the service says of the order a charge names (None: it does not know it)."""
    if reference not in known:
        read = shop.read(reference, timeout_s=READ_TIMEOUT_S)
        known[reference] = {"status": said(read)} if read.status == 200 else {}
    status = known[reference].get("status")
    return status if isinstance(status, str) else None


def _status_map(reported: dict[str, dict[str, Any]] | str) -> dict[str, Any] | str:
    if isinstance(reported, str):
        return reported
    return {order_id: order.get("status") for order_id, order in reported.items()}
