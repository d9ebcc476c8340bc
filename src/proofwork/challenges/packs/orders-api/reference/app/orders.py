"""Orders as stored: reading, writing, listing and settling their payment (R7, R11, R12)."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum

from app import catalogue
from app.db import Database
from app.errors import ApiError
from app.money import from_cents, to_cents
from app.pagination import Page, decode_cursor, encode_cursor
from app.payments import ChargeResult, Outcome
from app.pricing import Line


class Status(StrEnum):
    PAID = "paid"
    PAYMENT_FAILED = "payment_failed"
    PAYMENT_PENDING = "payment_pending"


@dataclass(frozen=True)
class Order:
    id: str
    customer_id: str
    region: str
    status: Status
    items: tuple[Line, ...]
    promo_codes: tuple[str, ...]
    subtotal: Decimal
    discount: Decimal
    tax: Decimal
    total: Decimal
    created_at: str

    @property
    def stock_lines(self) -> list[tuple[str, int]]:
        return [(line.sku, line.quantity) for line in self.items]


def now_iso() -> str:
    """The current UTC time as RFC 3339 with milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def insert(conn: sqlite3.Connection, order: Order, *, next_attempt_at: float) -> None:
    """Store a new order and its lines inside the caller's transaction."""
    conn.execute(
        """INSERT INTO orders (id, customer_id, region, status, promo_codes, subtotal_cents,
               discount_cents, tax_cents, total_cents, created_at, next_attempt_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (
            order.id,
            order.customer_id,
            order.region,
            order.status.value,
            json.dumps(list(order.promo_codes)),
            *(to_cents(amount) for amount in (order.subtotal, order.discount, order.tax, order.total)),
            order.created_at,
            next_attempt_at,
        ),
    )
    conn.executemany(
        "INSERT INTO order_lines (order_id, line_no, sku, quantity, unit_price_cents) VALUES (?, ?, ?, ?, ?)",
        [(order.id, n, line.sku, line.quantity, to_cents(line.unit_price)) for n, line in enumerate(order.items)],
    )


def get(db: Database, order_id: str) -> Order:
    """Return one order or raise a 404."""
    with db.connection() as conn:
        orders = _load(conn, "WHERE id = ?", (order_id,))
    if not orders:
        raise ApiError(404, "not_found", f"no order with id {order_id!r}")
    return orders[0]


def list_for_customer(db: Database, customer_id: str, *, limit: int, cursor: str | None) -> Page[Order]:
    """One page of a customer's orders, newest first."""
    before = decode_cursor(cursor, "orders", int) if cursor else 2**62
    with db.connection() as conn:
        rows = conn.execute(
            "SELECT seq FROM orders WHERE customer_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?",
            (customer_id, before, limit + 1),
        ).fetchall()
        seqs = [row["seq"] for row in rows[:limit]]
        orders = _load(conn, f"WHERE seq IN ({','.join('?' * len(seqs))}) ORDER BY seq DESC", seqs)
    more = len(rows) > limit
    return Page(orders, encode_cursor("orders", seqs[-1]) if more else None)


def settle(
    db: Database,
    order: Order,
    result: ChargeResult,
    *,
    retry_delay_s: Callable[[int], float],
    clock: Callable[[], float] = time.time,
) -> Status:
    """Record what Paystream said about a pending order; return the order's status afterwards."""
    with db.transaction() as conn:
        if result.outcome is Outcome.SUCCEEDED:
            _move(conn, order.id, Status.PAID, charge_id=result.charge_id)
        elif result.outcome is Outcome.DECLINED:
            if _move(conn, order.id, Status.PAYMENT_FAILED):
                catalogue.release(conn, order.stock_lines)
        else:
            attempts = conn.execute("SELECT payment_attempts FROM orders WHERE id = ?", (order.id,)).fetchone()[
                "payment_attempts"
            ]
            conn.execute(
                """UPDATE orders SET payment_attempts = payment_attempts + 1, next_attempt_at = ?
                   WHERE id = ? AND status = 'payment_pending'""",
                (clock() + retry_delay_s(attempts + 1), order.id),
            )
        row = conn.execute("SELECT status FROM orders WHERE id = ?", (order.id,)).fetchone()
    return Status(row["status"])


def claim_due(db: Database, *, now: float, lease_s: float, limit: int) -> list[Order]:
    """Pending orders whose next payment attempt is due, leased to the caller for `lease_s`."""
    with db.transaction() as conn:
        rows = conn.execute(
            """SELECT id FROM orders WHERE status = 'payment_pending' AND next_attempt_at <= ?
               ORDER BY next_attempt_at LIMIT ?""",
            (now, limit),
        ).fetchall()
        ids = [row["id"] for row in rows]
        conn.executemany("UPDATE orders SET next_attempt_at = ? WHERE id = ?", [(now + lease_s, i) for i in ids])
        return _load(conn, f"WHERE id IN ({','.join('?' * len(ids))})", ids)


def _move(conn: sqlite3.Connection, order_id: str, status: Status, *, charge_id: str | None = None) -> bool:
    """Leave payment_pending for a final status; False when the order had already left it."""
    moved = conn.execute(
        """UPDATE orders SET status = ?, charge_id = ?, next_attempt_at = NULL,
               payment_attempts = payment_attempts + 1
           WHERE id = ? AND status = 'payment_pending'""",
        (status.value, charge_id, order_id),
    ).rowcount
    return moved == 1


def _load(conn: sqlite3.Connection, where: str, params: Sequence[object]) -> list[Order]:
    rows = conn.execute(f"SELECT * FROM orders {where}", params).fetchall()  # noqa: S608 - fixed fragments
    if not rows:
        return []
    ids = [row["id"] for row in rows]
    lines: dict[str, list[Line]] = {order_id: [] for order_id in ids}
    for line in conn.execute(
        f"SELECT * FROM order_lines WHERE order_id IN ({','.join('?' * len(ids))}) ORDER BY order_id, line_no",
        ids,
    ):
        lines[line["order_id"]].append(
            Line(sku=line["sku"], quantity=line["quantity"], unit_price=from_cents(line["unit_price_cents"]))
        )
    return [_order(row, tuple(lines[row["id"]])) for row in rows]


def _order(row: sqlite3.Row, items: tuple[Line, ...]) -> Order:
    return Order(
        id=row["id"],
        customer_id=row["customer_id"],
        region=row["region"],
        status=Status(row["status"]),
        items=items,
        promo_codes=tuple(json.loads(row["promo_codes"])),
        subtotal=from_cents(row["subtotal_cents"]),
        discount=from_cents(row["discount_cents"]),
        tax=from_cents(row["tax_cents"]),
        total=from_cents(row["total_cents"]),
        created_at=row["created_at"],
    )
