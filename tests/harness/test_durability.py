"""Durability jobs against a small real service in the real sandbox: acknowledged orders must
survive kill -9, a race for the last units must not oversell, and after kills while orders
are in flight money and stock must reconcile; each can pass and fail."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from shop_harness import run_job, shop_job

from proofwork.evidence import Evidence
from proofwork.harness.durability import Plan
from proofwork.probes.durability import DurabilityProbe
from proofwork.sandbox import BwrapSandbox

Durability = Callable[..., dict[str, Any]]

OPTIONS = {
    "orders": 6,
    "race_stock": 3,
    "race_orders": 12,
    "race_latency_s": 0.1,
    "crashes": 2,
    "in_flight": 16,
    "settle_s": 3,
}


@pytest.fixture
def durability(sandbox_factory: Callable[..., BwrapSandbox]) -> Durability:
    """Runs a durability job against the fake shop with the given flaws."""

    def run(*flaws: str) -> dict[str, Any]:
        return run_job(shop_job(sandbox_factory(), "durability", OPTIONS, flaws=flaws))

    return run


def test_a_journalling_locking_service_loses_nothing_never_oversells_and_reconciles(
    durability: Durability,
) -> None:
    results = durability()
    kill, race = results["kill"], results["race"]
    assert kill["came_back"]
    assert kill["acknowledged"] == 6
    assert kill["lost"] == kill["changed"] == []
    assert kill["stock_after"] == kill["stock_expected"]
    assert race["won"] == 3
    assert race["oversold"] == 0
    assert race["stock_after"] == 0
    assert race["statuses"] == {"201": 3, "409": 9}
    # Killed twice with orders in flight, some waiting on Paystream: money and stock reconcile.
    crashes = results["crashes"]
    rounds = crashes["rounds"]
    assert len(rounds) == 2 and crashes["sent"] == 32
    assert all(r["in_flight_at_kill"] > 0 for r in rounds)
    assert sum(r["waiting_on_provider_at_kill"] for r in rounds) > 0
    assert crashes["charges"] > 0
    assert crashes["orphan_charges"] == crashes["stock_drift"] == []
    assert crashes["stock_drift_units"] == 0
    assert crashes["charged_twice"] == {}
    assert crashes["lost"] == crashes["changed"] == []
    assert crashes["orders_reported"] >= crashes["acknowledged"]
    evidence = Evidence("durability")
    DurabilityProbe().measure(evidence, {}, results)
    assert evidence.metrics["durability.orphan_charges"] == 0
    assert evidence.metrics["durability.stock_drift"] == 0
    assert evidence.findings == []


def test_a_service_that_records_the_order_after_charging_leaves_orphan_charges_and_stock_drift(
    durability: Durability,
) -> None:
    results = durability("split_steps")
    assert results["kill"]["lost"] == [] and results["race"]["oversold"] == 0
    crashes = results["crashes"]
    orphan = crashes["orphan_charges"][0]
    assert orphan["order_status"] is None and orphan["charge_id"].startswith("ch_")
    assert orphan["amount"] and orphan["currency"] == "EUR"
    assert crashes["stock_drift_units"] > 0
    drift = crashes["stock_drift"][0]
    assert drift["drift"] > 0
    assert drift["stock"] == drift["initial"] - drift["held"] - drift["drift"]
    # The probe turns them into the metrics production readiness reads, and findings.
    evidence = Evidence("durability")
    DurabilityProbe().measure(evidence, {}, results)
    assert evidence.metrics["durability.orphan_charges"] == len(crashes["orphan_charges"])
    assert evidence.metrics["durability.stock_drift"] == crashes["stock_drift_units"]
    rules = {f.rule for f in evidence.findings}
    assert {"durability.orphan_charge", "durability.stock_drift"} <= rules


def test_a_service_that_keeps_orders_in_memory_loses_every_acknowledged_one(
    durability: Durability,
) -> None:
    kill = durability("memory")["kill"]
    assert kill["came_back"]
    assert len(kill["lost"]) == kill["acknowledged"] == 6
    first = kill["lost"][0]
    assert first["read"]["status"] == 404
    assert first["read"]["url"].endswith(f"/orders/{first['id']}")
    assert first["placed"]["status"] == 201
    assert kill["stock_after"] is None, "the product itself is gone"


def test_a_service_that_takes_stock_after_payment_oversells(durability: Durability) -> None:
    race = durability("oversell")["race"]
    assert race["won"] == 12
    assert race["oversold"] == 9
    assert race["stock_after"] == -9
    assert race["example"]["status"] == 201


def test_the_plan_has_sane_floors() -> None:
    plan = Plan.from_options({"orders": 0, "race_stock": 0, "race_orders": 1})
    assert (plan.orders, plan.race_stock, plan.race_orders) == (2, 1, 2)
    assert Plan.from_options({}) == Plan()
