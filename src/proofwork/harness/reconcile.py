"""Reconciling money and stock after kill -9: what the service reports once it is back, set
against what was put on its shelves and what the payment provider charged.

Orders the service reports as `paid` or `payment_pending` hold their units and may carry a
charge; nothing else may. So for every product, its initial stock less the units those orders
hold is the stock it must report, and every successful charge must belong to one of them.
Anything else is a customer charged for nothing, units gone from the shelf with no order, or
units back on the shelf that an order still holds.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from proofwork.harness.provider import Charge

# An order in one of these states holds its units, and may have been charged.
HOLDING = frozenset({"paid", "payment_pending"})


@dataclass(frozen=True)
class Shelf:
    """A product put on the service's shelves with a known stock."""

    sku: str
    initial: int


def units_held(orders: Iterable[dict[str, Any]], sku: str) -> tuple[int, int]:
    """Units of `sku` held by the orders that hold stock, and how many such orders hold it."""
    units, holders = 0, 0
    for order in orders:
        if order.get("status") not in HOLDING:
            continue
        quantities = [_quantity(line) for line in _lines(order) if line.get("sku") == sku]
        if quantities:
            units, holders = units + sum(quantities), holders + 1
    return units, holders


def _lines(order: dict[str, Any]) -> list[dict[str, Any]]:
    items = order.get("items")
    return [line for line in items if isinstance(line, dict)] if isinstance(items, list) else []


def _quantity(line: dict[str, Any]) -> int:
    quantity = line.get("quantity")
    return quantity if isinstance(quantity, int) and not isinstance(quantity, bool) else 0


def stock_drift(
    shelves: Iterable[Shelf], orders: Iterable[dict[str, Any]], stock: Mapping[str, int | None]
) -> list[dict[str, Any]]:
    """One entry per product whose reported stock is not its initial stock less what the
    reported orders hold; `drift` > 0 means units gone with no order, < 0 units too many."""
    reported = list(orders)
    drifts = []
    for shelf in shelves:
        held, holders = units_held(reported, shelf.sku)
        expected, now = shelf.initial - held, stock.get(shelf.sku)
        if now != expected:
            drifts.append(
                {
                    "sku": shelf.sku,
                    "initial": shelf.initial,
                    "held": held,
                    "orders": holders,
                    "expected": expected,
                    "stock": now,
                    "drift": expected - now if now is not None else None,
                }
            )
    return drifts


def drift_units(drifts: Iterable[dict[str, Any]]) -> int:
    """Units off over every product (a product gone altogether counts all it should hold)."""
    return sum(abs(d["drift"]) if d["drift"] is not None else d["expected"] for d in drifts)


def new_successes(charges: Iterable[Charge]) -> list[Charge]:
    """The charges that took money: succeeded, and not a replay of an earlier one."""
    return [c for c in charges if c.status == "succeeded" and not c.replay]


def orphan_charges(
    charges: Iterable[Charge], status_of: Callable[[str], str | None]
) -> list[dict[str, Any]]:
    """Successful charges whose order the service does not report as paid or pending;
    `status_of(reference)` is what the service says of that order (None: unknown to it)."""
    orphans = []
    for charge in new_successes(charges):
        status = status_of(charge.reference)
        if status not in HOLDING:
            orphans.append(
                {
                    "charge_id": charge.charge_id,
                    "reference": charge.reference,
                    "amount": charge.amount,
                    "currency": charge.currency,
                    "order_status": status,
                }
            )
    return orphans


def charged_twice(charges: Iterable[Charge]) -> dict[str, int]:
    """References that took money more than once, and how many times."""
    counted = Counter(c.reference for c in new_successes(charges))
    return {reference: n for reference, n in sorted(counted.items()) if n > 1}
