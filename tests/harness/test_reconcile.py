"""Reconciling money and stock: which orders hold units, which charges belong to nobody."""

from __future__ import annotations

from typing import Any

from proofwork.harness.provider import Charge
from proofwork.harness.reconcile import (
    Shelf,
    charged_twice,
    drift_units,
    orphan_charges,
    stock_drift,
    units_held,
)


def order(id: str, status: str, *lines: tuple[str, int]) -> dict[str, Any]:
    return {"id": id, "status": status, "items": [{"sku": s, "quantity": q} for s, q in lines]}


def charge(reference: str, *, status: str = "succeeded", replay: bool = False) -> Charge:
    return Charge(f"key-{reference}", "11.90", "EUR", reference, status, 0.0, replay, "ch_1")


ORDERS = [
    order("o1", "paid", ("A", 2), ("B", 1)),
    order("o2", "payment_pending", ("A", 3)),
    order("o3", "payment_failed", ("A", 5)),
]


def test_paid_and_pending_orders_hold_their_units_and_failed_ones_do_not() -> None:
    assert units_held(ORDERS, "A") == (5, 2)
    assert units_held(ORDERS, "B") == (1, 1)
    assert units_held(ORDERS, "C") == (0, 0)


def test_stock_that_matches_the_orders_has_no_drift() -> None:
    shelves = [Shelf("A", 10), Shelf("B", 4)]
    assert stock_drift(shelves, ORDERS, {"A": 5, "B": 3}) == []


def test_units_gone_with_no_order_or_back_while_held_are_drift() -> None:
    shelves = [Shelf("A", 10), Shelf("B", 4), Shelf("C", 7)]
    drifts = stock_drift(shelves, ORDERS, {"A": 2, "B": 5, "C": None})
    assert drifts == [
        {"sku": "A", "initial": 10, "held": 5, "orders": 2, "expected": 5, "stock": 2, "drift": 3},
        {"sku": "B", "initial": 4, "held": 1, "orders": 1, "expected": 3, "stock": 5, "drift": -2},
        {"sku": "C", "initial": 7, "held": 0, "orders": 0, "expected": 7, "stock": None,
         "drift": None},
    ]  # fmt: skip
    assert drift_units(drifts) == 3 + 2 + 7


def test_a_charge_belongs_to_a_paid_or_pending_order_and_replays_take_no_money() -> None:
    statuses = {"o1": "paid", "o2": "payment_pending", "o3": "payment_failed"}
    charges = [
        charge("o1"),
        charge("o1", replay=True),
        charge("o2"),
        charge("o3"),
        charge("o4"),
        charge("o5", status="declined"),
    ]
    orphans = orphan_charges(charges, statuses.get)
    assert [(o["reference"], o["order_status"]) for o in orphans] == [
        ("o3", "payment_failed"),
        ("o4", None),
    ]
    assert orphans[1] == {
        "charge_id": "ch_1",
        "reference": "o4",
        "amount": "11.90",
        "currency": "EUR",
        "order_status": None,
    }


def test_money_taken_twice_for_one_order_is_counted() -> None:
    charges = [charge("o1"), charge("o1", replay=True), charge("o2"), charge("o2")]
    assert charged_twice(charges) == {"o2": 2}
