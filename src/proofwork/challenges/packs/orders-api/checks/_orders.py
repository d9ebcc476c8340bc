"""Shared helpers for the orders-api checks: the brief's arithmetic and the calls checks make.

Expected amounts are computed here with Decimal straight from the brief (R2-R5), and every
failure message shows the arithmetic, so a hiring lead can see which rule broke and how.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, TypeVar

from proofwork.harness.checks import CheckContext, CheckFailed, detail
from proofwork.harness.http import Exchange

CENT = Decimal("0.01")
TAX_RATES = {
    "DE": Decimal("0.19"),
    "FR": Decimal("0.20"),
    "NL": Decimal("0.21"),
    "IE": Decimal("0.23"),
}
PERCENT_CODES = {"WELCOME10": Decimal("0.10"), "SPRING15": Decimal("0.15")}
FIVEOFF = Decimal("5.00")
FIVEOFF_MINIMUM = Decimal("20.00")
MONEY = re.compile(r"^-?[0-9]+\.[0-9]{2}$")
MONEY_FIELDS = ("subtotal", "discount", "tax", "total")
ERROR_CODES = frozenset(
    {
        "invalid_json",
        "invalid_parameter",
        "validation_error",
        "not_found",
        "duplicate_sku",
        "unknown_sku",
        "unknown_region",
        "invalid_promo",
        "promo_not_combinable",
        "promo_not_applicable",
        "out_of_stock",
        "idempotency_conflict",
        "payment_declined",
        "payment_unavailable",
    }
)
# What the contract allows for input the service cannot accept (openapi: 400 and 422).
BAD_INPUT = (400, 422)
BAD_INPUT_CODES = frozenset({"invalid_json", "invalid_parameter", "validation_error"})
# The brief's own bound for "answers quickly" when Paystream misbehaves.
PROMPT_S = 6.0

T = TypeVar("T")
Line = tuple[str, int]  # (unit price as a money string, quantity)


def half_up(value: Decimal) -> Decimal:
    """Round to the cent, half-up (R2)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def percent(rate: Decimal) -> str:
    """`Decimal("0.19")` -> `19%`."""
    return f"{(rate * 100).normalize():f}%"


@dataclass(frozen=True)
class Priced:
    """An order's expected money, and how each amount follows from the brief."""

    subtotal: Decimal
    discount: Decimal
    tax: Decimal
    total: Decimal
    working: dict[str, str]

    def amount(self, name: str) -> Decimal:
        """One of subtotal, discount, tax, total."""
        value: Decimal = getattr(self, name)
        return value


def price_order(lines: Sequence[Line], region: str, codes: Iterable[str] = ()) -> Priced:
    """What R3-R5 say the order costs, with the working spelled out."""
    subtotal = sum((Decimal(price) * qty for price, qty in lines), Decimal("0.00"))
    subtotal_working = " + ".join(f"{qty} × {price}" for price, qty in lines)
    discount, discount_working = _discount(subtotal, list(codes))
    taxable = subtotal - discount
    rate = TAX_RATES[region]
    tax = half_up(taxable * rate)
    total = taxable + tax
    working = {
        "subtotal": f"{subtotal_working} = {subtotal}",
        "discount": discount_working,
        "tax": f"{percent(rate)} ({region}) of {taxable} = {taxable * rate}, rounded half-up",
        "total": f"{subtotal} − discount {discount} + tax {tax}",
    }
    return Priced(subtotal, discount, tax, total, working)


def _discount(subtotal: Decimal, codes: list[str]) -> tuple[Decimal, str]:
    discount = Decimal("0.00")
    steps: list[str] = []
    for code in codes:
        if code in PERCENT_CODES:
            rate = PERCENT_CODES[code]
            discount += half_up(subtotal * rate)
            steps.append(f"{code} {percent(rate)} of {subtotal} = {subtotal * rate}, half-up")
    if "FIVEOFF" in codes:
        discount += FIVEOFF
        steps.append("then FIVEOFF 5.00")
    discount = min(discount, subtotal)
    return discount, ("; ".join(steps) or "no promo code") + f" = {discount}"


def answered(ex: Exchange) -> str:
    """What the service did, in words: `answered 500: {...}` or `did not answer: timeout`."""
    if ex.status is None:
        return f"did not answer ({ex.error}) after {ex.elapsed_s:.1f} s"
    body = ex.response_body[:300].decode("utf-8", errors="replace")
    after = f" after {ex.elapsed_s:.1f} s" if ex.elapsed_s >= 1 else ""
    return f"answered {ex.status}{after}: {body}"


def fail(message: str, ex: Exchange | None = None) -> CheckFailed:
    """A CheckFailed to raise (kept as a function so call sites read `raise fail(...)`)."""
    return CheckFailed(message, exchange=ex)


def json_object(ex: Exchange, what: str) -> dict[str, Any]:
    """The body as a JSON object, or a failure naming what was expected."""
    body = ex.json()
    if not isinstance(body, dict):
        raise fail(f"{what}: expected a JSON object, got {type(body).__name__}", ex)
    return body


def error_shape_problem(ex: Exchange) -> str | None:
    """Why the body is not `{"error": {"code": ..., "message": ...}}` (R9), or None."""
    try:
        body = ex.json()
    except CheckFailed:
        return "the body is not JSON"
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return 'the body has no "error" object'
    if not isinstance(error.get("code"), str) or not isinstance(error.get("message"), str):
        return 'the "error" object needs a string "code" and a string "message"'
    return None


def expect_error_shape(ex: Exchange, rule: str) -> dict[str, Any]:
    """The body has the Error shape (R9); a code openapi.yaml does not list is a minor detail."""
    problem = error_shape_problem(ex)
    if problem is not None:
        raise fail(f"{rule}; errors must have the Error shape (R9), but {problem}", ex)
    error: dict[str, Any] = ex.json()["error"]
    if error["code"] not in ERROR_CODES:
        detail(
            f"{rule}; error code {error['code']!r} is not one of the codes listed in openapi.yaml",
            ex,
        )
    return error


def expect_error(
    ex: Exchange, *, statuses: Iterable[int], codes: Iterable[str], rule: str
) -> dict[str, Any]:
    """The service refused with one of `statuses`, an Error body, and one of `codes`.

    Anything but a refusal (no answer, a 2xx, a 5xx where a 4xx was due) fails the check; a
    refusal with the Error shape but another 4xx or another code is a documented detail the
    service got wrong (minor), and the check goes on to judge what matters more.
    """
    statuses, codes = tuple(statuses), frozenset(codes)
    wanted = f"{' or '.join(map(str, statuses))} with error code {' or '.join(sorted(codes))}"
    if ex.status not in statuses and not (_client_error(ex.status) and _client_error(*statuses)):
        raise fail(f"{rule}; expected {wanted}, but the service {answered(ex)}", ex)
    error = expect_error_shape(ex, rule)
    if ex.status not in statuses:
        detail(f"{rule}; expected {wanted}, but the service refused with {ex.status}", ex)
    elif error["code"] not in codes and error["code"] in ERROR_CODES:
        detail(f"{rule}; expected {wanted}, got error code {error['code']!r}", ex)
    return error


def _client_error(*statuses: int | None) -> bool:
    return all(status is not None and 400 <= status < 500 for status in statuses)


def expect_bad_input(ex: Exchange, rule: str) -> None:
    """Refused as bad input: 400/422 with the Error shape, and never a 5xx (R9)."""
    expect_error(ex, statuses=BAD_INPUT, codes=BAD_INPUT_CODES, rule=rule)


def money(value: Any, where: str, ex: Exchange | None = None) -> Decimal:
    """A money string (R2) as a Decimal, or a failure saying how it was not one."""
    if not isinstance(value, str) or not MONEY.match(value):
        shown = repr(value) if isinstance(value, str) else f"{value!r} (a JSON {_kind(value)})"
        raise fail(
            f"R2 money travels as a string with exactly two decimals, but {where} was {shown}", ex
        )
    try:
        return Decimal(value)
    except InvalidOperation:
        raise fail(f"R2: {where} is not a number: {value!r}", ex) from None


def _kind(value: Any) -> str:
    return {bool: "boolean", int: "number", float: "number", type(None): "null"}.get(
        type(value), type(value).__name__
    )


def expect_priced(order: dict[str, Any], priced: Priced, ex: Exchange, rule: str) -> None:
    """Every amount matches the brief; the first one off is reported with its working."""
    for name in MONEY_FIELDS:
        got = money(order.get(name), f"the order's {name}", ex)
        expected = priced.amount(name)
        if got != expected:
            working = priced.working[name]
            raise fail(f"{rule}: expected {name} {expected} ({working}), got {got}", ex)


def expect_charged_once(ctx: CheckContext, order_id: str, why: str) -> None:
    """Paystream holds exactly one successful charge for the order, and nobody was charged twice.

    Other references may show up: a service may settle earlier checks' pending orders later.
    """
    charged = ctx.provider.succeeded_by_reference()
    doubled = {ref: n for ref, n in charged.items() if n > 1}
    if charged.get(order_id) != 1 or doubled:
        raise fail(
            f"{why}: Paystream should hold one successful charge for {order_id}, "
            f"it holds {charged.get(order_id, 0)}"
            + (f"; charged twice: {doubled}" if doubled else "")
        )


# -- calls -------------------------------------------------------------------------------------


def add_product(ctx: CheckContext, *, price: str = "10.00", stock: int = 100) -> str:
    """Add a fresh product and return its sku; fails the check if the service refuses."""
    sku = ctx.unique("sku")
    body = {"sku": sku, "name": f"Test pan {sku}", "price": price, "stock": stock}
    ex = ctx.http.post("/products", json=body)
    if ex.status != 201:
        raise fail(
            f"R1 operations add products with POST /products (201); the service {answered(ex)}",
            ex,
        )
    return sku


def stock_of(ctx: CheckContext, sku: str) -> int:
    """The product's stock as GET /products/{sku} reports it."""
    ex = ctx.http.get(f"/products/{sku}")
    if ex.status != 200:
        raise fail(f"R1 GET /products/{sku} should return the product; the service {answered(ex)}")
    stock = json_object(ex, f"GET /products/{sku}").get("stock")
    if not isinstance(stock, int) or isinstance(stock, bool):
        raise fail(f"R1 a product's stock is an integer, got {stock!r}", ex)
    return stock


def expect_stock(ctx: CheckContext, sku: str, expected: int, why: str) -> None:
    """The product's stock is exactly `expected`; `why` says which rule that follows from."""
    got = stock_of(ctx, sku)
    if got != expected:
        raise fail(f"{why}: expected stock of {sku} to be {expected}, got {got}", ctx.http.last)


def order_body(
    customer: str, lines: Sequence[tuple[str, int]], region: str = "DE", codes: Sequence[str] = ()
) -> dict[str, Any]:
    """A POST /orders body; lines are (sku, quantity)."""
    body: dict[str, Any] = {
        "customer_id": customer,
        "region": region,
        "items": [{"sku": sku, "quantity": qty} for sku, qty in lines],
    }
    if codes:
        body["promo_codes"] = list(codes)
    return body


def place(
    ctx: CheckContext,
    body: dict[str, Any],
    *,
    key: str | None = None,
    timeout_s: float | None = None,
) -> Exchange:
    """POST /orders, with an Idempotency-Key when given."""
    headers = {"Idempotency-Key": key} if key else None
    return ctx.http.post("/orders", json=body, headers=headers, timeout_s=timeout_s)


def expect_paid(ex: Exchange, rule: str, statuses: Iterable[int] = (201,)) -> dict[str, Any]:
    """The order was placed and paid; returns it."""
    statuses = tuple(statuses)
    if ex.status not in statuses:
        wanted = " or ".join(map(str, statuses))
        raise fail(
            f"{rule}; expected the order to be placed and paid ({wanted}), "
            f"but the service {answered(ex)}",
            ex,
        )
    order = json_object(ex, "the placed order")
    if order.get("status") != "paid":
        raise fail(
            f"{rule}; Paystream said succeeded, so the order should be 'paid', "
            f"got status {order.get('status')!r}",
            ex,
        )
    if not isinstance(order.get("id"), str) or not order["id"]:
        raise fail(f"{rule}; the order has no string id", ex)
    return order


def place_paid(
    ctx: CheckContext,
    lines: Sequence[tuple[str, int]],
    *,
    region: str = "DE",
    codes: Sequence[str] = (),
    customer: str | None = None,
    rule: str = "R3 a valid order is placed and paid",
) -> tuple[dict[str, Any], Exchange]:
    """Place an order the brief allows and return it once paid (fails the check otherwise)."""
    body = order_body(customer or ctx.unique("cust"), lines, region, codes)
    ex = place(ctx, body)
    return expect_paid(ex, rule), ex


def walk(
    ctx: CheckContext, path: str, params: dict[str, Any], rule: str, max_pages: int = 1000
) -> list[list[dict[str, Any]]]:
    """Follow `next_cursor` to the last page (R10); returns the pages' items."""
    pages: list[list[dict[str, Any]]] = []
    cursor: str | None = None
    while len(pages) < max_pages:
        query = dict(params, **({"cursor": cursor} if cursor is not None else {}))
        ex = ctx.http.get(path, params=query)
        if ex.status != 200:
            raise fail(f"{rule}; page {len(pages) + 1} of {path}: the service {answered(ex)}", ex)
        page = json_object(ex, f"a page of {path}")
        items, cursor = page.get("items"), page.get("next_cursor")
        if not isinstance(items, list) or "next_cursor" not in page or not _cursor_ok(cursor):
            raise fail(
                f"{rule}; a page needs an 'items' list and a 'next_cursor' (string or "
                f"null), got {str(page)[:200]}",
                ex,
            )
        pages.append(items)
        if cursor is None:
            return pages
    raise fail(f"{rule}; {path} still had a next_cursor after {max_pages} pages", ctx.http.last)


def _cursor_ok(cursor: Any) -> bool:
    return cursor is None or (isinstance(cursor, str) and cursor != "")


def all_at_once(count: int, call: Callable[[int], T]) -> list[T]:
    """Run `call(0..count-1)` on `count` threads released together, to open race windows."""
    barrier = threading.Barrier(count)

    def run(i: int) -> T:
        barrier.wait()
        return call(i)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))
