"""Placing an order: price it, reserve stock, charge it, exactly once per Idempotency-Key (R3-R8)."""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import time
import uuid
from dataclasses import dataclass

from app import catalogue, orders, pricing
from app.config import Settings
from app.db import Database
from app.errors import ApiError
from app.orders import Order, Status
from app.payments import Paystream
from app.schemas import OrderCreate

log = logging.getLogger("app.checkout")


@dataclass(frozen=True)
class Placement:
    order: Order
    replayed: bool


@dataclass(frozen=True)
class Checkout:
    """Everything placing an order needs, wired once at start."""

    db: Database
    payments: Paystream
    settings: Settings

    def place(self, request: OrderCreate, idempotency_key: str | None) -> Placement:
        """Place the order, or return the one an earlier request with the same key placed."""
        terms = _terms(request)
        request_hash = _fingerprint(request)
        with self.db.transaction() as conn:
            earlier = _earlier_order(conn, idempotency_key, request_hash)
            if earlier is None:
                order = _reserve_new_order(conn, request, terms, self._first_retry_at())
                if idempotency_key is not None:
                    _remember_key(conn, idempotency_key, request_hash, order.id)
        if earlier is not None:
            return Placement(orders.get(self.db, earlier), replayed=True)
        log.info("order reserved", extra={"order_id": order.id, "total": str(order.total)})
        return Placement(self._pay(order), replayed=False)

    def retry_delay_s(self, attempts: int) -> float:
        """How long to wait before the next background attempt after `attempts` failed ones."""
        return min(self.settings.retry_base_s * 2.0 ** max(attempts - 1, 0), self.settings.retry_max_s)

    def _pay(self, order: Order) -> Order:
        result = self.payments.charge(order.id, order.total, budget_s=self.settings.payment_budget_s)
        status = orders.settle(self.db, order, result, retry_delay_s=self.retry_delay_s)
        log.info("order payment settled", extra={"order_id": order.id, "status": status.value})
        return orders.get(self.db, order.id)

    def _first_retry_at(self) -> float:
        # Leave the request its own budget before the background worker may pick the order up.
        return time.time() + self.settings.payment_budget_s + 5.0


def _terms(request: OrderCreate) -> pricing.Terms:
    try:
        return pricing.terms_for(request.region, request.promo_codes)
    except pricing.PricingError as exc:
        raise ApiError(422, exc.code, exc.message) from None


def _fingerprint(request: OrderCreate) -> str:
    canonical = json.dumps(request.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _earlier_order(conn: sqlite3.Connection, key: str | None, request_hash: str) -> str | None:
    if key is None:
        return None
    row = conn.execute("SELECT request_hash, order_id FROM idempotency_keys WHERE key = ?", (key,)).fetchone()
    if row is None:
        return None
    if row["request_hash"] != request_hash:
        raise ApiError(409, "idempotency_conflict", "this Idempotency-Key was already used with a different body")
    order_id: str = row["order_id"]
    return order_id


def _remember_key(conn: sqlite3.Connection, key: str, request_hash: str, order_id: str) -> None:
    conn.execute(
        "INSERT INTO idempotency_keys (key, request_hash, order_id) VALUES (?, ?, ?)", (key, request_hash, order_id)
    )


def _reserve_new_order(conn: sqlite3.Connection, request: OrderCreate, terms: pricing.Terms, retry_at: float) -> Order:
    lines = _priced_lines(conn, request)
    try:
        quote = pricing.quote(lines, terms)
    except pricing.PricingError as exc:
        raise ApiError(422, exc.code, exc.message) from None
    order = Order(
        id=f"ord_{uuid.uuid4().hex}",
        customer_id=request.customer_id,
        region=request.region,
        status=Status.PAYMENT_PENDING,
        items=tuple(lines),
        promo_codes=tuple(request.promo_codes),
        subtotal=quote.subtotal,
        discount=quote.discount,
        tax=quote.tax,
        total=quote.total,
        created_at=orders.now_iso(),
    )
    catalogue.reserve(conn, order.stock_lines)
    orders.insert(conn, order, next_attempt_at=retry_at)
    return order


def _priced_lines(conn: sqlite3.Connection, request: OrderCreate) -> list[pricing.Line]:
    prices = catalogue.prices(conn, (item.sku for item in request.items))
    unknown = sorted({item.sku for item in request.items} - prices.keys())
    if unknown:
        raise ApiError(422, "unknown_sku", f"no product with sku {', '.join(map(repr, unknown))}")
    return [pricing.Line(item.sku, item.quantity, prices[item.sku]) for item in request.items]
