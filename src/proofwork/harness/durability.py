"""Durability jobs: what the service acknowledged survives `kill -9` and a restart on the same
DATA_DIR, and many customers ordering the last units at once never oversell.

The race runs first, on a fresh service; then orders are placed (half one by one, half at once)
and the process is killed right after the last acknowledgement, with no chance to flush.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from proofwork.harness.http import Exchange
from proofwork.harness.job import Job
from proofwork.harness.provider import Provider
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

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> Plan:
        """From the job's options."""
        return cls(
            orders=max(2, int(options.get("orders", 12))),
            race_stock=max(1, int(options.get("race_stock", 5))),
            race_orders=max(2, int(options.get("race_orders", 25))),
            race_latency_s=float(options.get("race_latency_s", 0.1)),
        )


def run(job: Job, service: ServiceControl, provider: Provider) -> dict[str, Any]:
    """Start the service, race for the last units, kill -9 it after acknowledged orders."""
    plan = Plan.from_options(job.options)
    results: dict[str, Any] = {"service": start(service, provider)}
    if not results["service"]["started"]:
        return results
    shop = Shop.open(job, service, provider)
    try:
        results["race"] = race(shop, provider, plan)
        results["kill"] = survive_kill(shop, service, plan)
    finally:
        shop.close()
    if results["kill"].get("came_back"):
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
