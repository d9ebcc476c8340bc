"""A shop service driven through the pack's own check helpers (`checks/_orders.py`), for the
harness kinds that break things around it: faults, durability and operability.

The helpers know the pack's contract (how a product is added, what an order body looks like,
how an error is shaped); the harness kinds only know what they break and what they expect.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

from proofwork.harness.checks import CheckContext, CheckFailed, load_helpers
from proofwork.harness.http import Exchange, Http
from proofwork.harness.job import Job
from proofwork.harness.provider import Provider
from proofwork.harness.service import ServiceControl, ServiceError

T = TypeVar("T")
DEFAULT_HELPERS = "_orders"

__all__ = ["CheckFailed", "Shop", "failure", "load_helpers", "order_id", "said", "start"]


def start(service: ServiceControl, provider: Provider) -> dict[str, Any]:
    """Start the service; what the results say of it: `started`, and `startup_s` or `error`."""
    try:
        return {"started": True, "startup_s": round(service.start(provider.url), 3)}
    except ServiceError as exc:
        return {"started": False, "error": str(exc)}


def failure(exc: CheckFailed) -> dict[str, Any]:
    """A helper's refusal (a product the service would not add …) as JSON for the results."""
    exchange = exc.exchange.to_json() if exc.exchange is not None else None
    return {"message": exc.message, "exchange": exchange}


def order_id(ex: Exchange) -> str | None:
    """The `id` of the order a 2xx answer carries, or None."""
    if ex.status is None or not 200 <= ex.status < 300:
        return None
    body = _body(ex)
    found = body.get("id") if isinstance(body, dict) else None
    return found if isinstance(found, str) and found else None


def said(ex: Exchange) -> str | None:
    """What an answer says in a word: an order's `status`, or an error's `code`."""
    body = _body(ex)
    if not isinstance(body, dict):
        return None
    error = body.get("error")
    word = error.get("code") if isinstance(error, dict) else body.get("status")
    return word if isinstance(word, str) else None


def _body(ex: Exchange) -> Any:
    try:
        return ex.json()
    except CheckFailed:
        return None


@dataclass
class Shop:
    """Products and orders on the service under test, through the pack's helpers."""

    helpers: ModuleType
    ctx: CheckContext

    @classmethod
    def open(
        cls, job: Job, service: ServiceControl, provider: Provider, base_url: str | None = None
    ) -> Shop:
        """A shop on the running service (or on `base_url`), with a recording client."""
        name = str(job.options.get("helpers", DEFAULT_HELPERS))
        http = Http(base_url or service.base_url)
        return cls(load_helpers(Path(job.checks_dir), name), CheckContext(http, provider, service))

    @property
    def http(self) -> Http:
        """The recording client."""
        return self.ctx.http

    def add_product(self, *, price: str = "10.00", stock: int = 100) -> str:
        """A fresh product; raises CheckFailed (with the exchange) if the service refuses."""
        sku: str = self.helpers.add_product(self.ctx, price=price, stock=stock)
        return sku

    def body(self, sku: str, quantity: int = 1) -> dict[str, Any]:
        """A new customer's order body for `quantity` of one product."""
        body: dict[str, Any] = self.helpers.order_body(self.ctx.unique("cust"), [(sku, quantity)])
        return body

    def place(
        self, body: dict[str, Any], *, key: str | None = None, timeout_s: float | None = None
    ) -> Exchange:
        """POST an order (with an Idempotency-Key when given); every outcome is an answer."""
        ex: Exchange = self.helpers.place(self.ctx, body, key=key, timeout_s=timeout_s)
        return ex

    def read(self, order: str, timeout_s: float | None = None) -> Exchange:
        """GET one order back."""
        return self.http.get(f"/orders/{order}", timeout_s=timeout_s)

    def customer_orders(self, customer: str) -> list[dict[str, Any]]:
        """Every order the service lists for the customer, page by page; raises CheckFailed
        when the listing does not work."""
        rule = "R12 GET /orders?customer_id=… lists a customer's orders"
        pages = self.helpers.walk(self.ctx, "/orders", {"customer_id": customer}, rule, 50)
        return [order for page in pages for order in page if isinstance(order, dict)]

    def stock(self, sku: str) -> int:
        """The product's stock as the service reports it; raises CheckFailed otherwise."""
        left: int = self.helpers.stock_of(self.ctx, sku)
        return left

    def total(self, price: str, quantity: int = 1) -> str:
        """What the brief says an order body from `body()` costs, as a money string."""
        return str(self.helpers.price_order([(price, quantity)], "DE").total)

    def answered(self, ex: Exchange) -> str:
        """What the service did, in words (`answered 500 after 6.1 s: …`)."""
        text: str = self.helpers.answered(ex)
        return text

    def error_problem(self, ex: Exchange) -> str | None:
        """Why the body is not the contract's error shape, or None."""
        problem: str | None = self.helpers.error_shape_problem(ex)
        return problem

    def at_once(self, count: int, call: Callable[[int], T]) -> list[T]:
        """`call(0..count-1)` on threads released together, to open race windows."""
        results: list[T] = self.helpers.all_at_once(count, call)
        return results

    def close(self) -> None:
        """Close the client's connections."""
        self.http.close()
