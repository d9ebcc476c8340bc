"""R10 pagination: walking the pages returns every item exactly once, and `limit` is bounded."""

from __future__ import annotations

from collections import Counter
from typing import Any

from proofwork.harness.checks import CheckContext, check

from ._orders import (
    add_product,
    answered,
    expect_bad_input,
    expect_error_shape,
    fail,
    json_object,
    place_paid,
    walk,
)


def _repeated(ids: list[Any]) -> list[Any]:
    return [value for value, n in Counter(ids).items() if n > 1]


def _expect_page_sizes(pages: list[list[dict[str, Any]]], limit: int, rule: str) -> None:
    for number, page in enumerate(pages, start=1):
        if len(page) > limit:
            raise fail(f"{rule}; page {number} has {len(page)} items with limit={limit}")
        if len(page) == 0 and number < len(pages):
            raise fail(f"{rule}; page {number} is empty but has a next_cursor")


@check(
    id="pagination.products_walk_every_item_once",
    rule="R10",
    severity="major",
    title="Paging through the catalogue shows every product exactly once, in sku order",
    order=900,
)
def products_walk_every_item_once(ctx: CheckContext) -> None:
    mine = [add_product(ctx) for _ in range(7)]
    rule = "R10 walking GET /products with limit=3"
    pages = walk(ctx, "/products", {"limit": 3}, rule)
    _expect_page_sizes(pages, 3, rule)
    skus = [p.get("sku") for page in pages for p in page]
    if repeated := _repeated(skus):
        raise fail(f"{rule} must show each product once; repeated: {repeated[:5]}")
    if missing := [sku for sku in mine if sku not in skus]:
        raise fail(f"{rule} must show every product; missing: {missing}")
    if skus != sorted(skus, key=str):
        raise fail(f"R1 products are listed in sku order; the walk gave {skus[:20]}…")


@check(
    id="pagination.customer_orders_walk_every_order_once",
    rule="R10",
    severity="major",
    title="Paging through a customer's orders shows each order exactly once, newest first",
    order=910,
)
def customer_orders_walk_every_order_once(ctx: CheckContext) -> None:
    customer, placed = _customer_with_orders(ctx, 7)
    _expect_walk_newest_first(ctx, customer, placed, 3)


def _customer_with_orders(ctx: CheckContext, count: int) -> tuple[str, list[str]]:
    sku = add_product(ctx, stock=count + 10)
    customer = ctx.unique("cust")
    return customer, [place_paid(ctx, [(sku, 1)], customer=customer)[0]["id"] for _ in range(count)]


def _expect_walk_newest_first(
    ctx: CheckContext, customer: str, placed: list[str], limit: int
) -> None:
    rule = f"R10 walking a customer's {len(placed)} orders with limit={limit}"
    pages = walk(ctx, "/orders", {"customer_id": customer, "limit": limit}, rule, len(placed) + 2)
    _expect_page_sizes(pages, limit, rule)
    ids = [o.get("id") for page in pages for o in page]
    expected = list(reversed(placed))
    if ids != expected:
        raise fail(
            f"{rule} must give every order once, newest first: expected {expected}, got {ids}",
            ctx.http.last,
        )


@check(
    id="pagination.orders_pages_at_exact_sizes",
    rule="R10",
    severity="major",
    title="Paging 6 orders by 1, 2, 3 and 6 shows each order once, and the walk ends",
    order=915,
)
def orders_pages_at_exact_sizes(ctx: CheckContext) -> None:
    # 6 is a whole number of pages for each limit: a last full page may point at one empty
    # page, which must then be the last.
    customer, placed = _customer_with_orders(ctx, 6)
    for limit in (1, 2, 3, 6):
        _expect_walk_newest_first(ctx, customer, placed, limit)


@check(
    id="pagination.orders_walk_stable_while_orders_arrive",
    rule="R10",
    severity="major",
    title="A new order arriving while a customer pages through never repeats or hides an order",
    order=920,
)
def orders_walk_stable_while_orders_arrive(ctx: CheckContext) -> None:
    sku = add_product(ctx, stock=50)
    customer = ctx.unique("cust")
    placed = [place_paid(ctx, [(sku, 1)], customer=customer)[0]["id"] for _ in range(5)]
    first = ctx.http.get("/orders", params={"customer_id": customer, "limit": 2})
    page = json_object(first, "the first page of orders")
    seen = [o.get("id") for o in page.get("items") or []]
    place_paid(ctx, [(sku, 1)], customer=customer)  # arrives between page 1 and page 2
    cursor = page.get("next_cursor")
    if not isinstance(cursor, str):
        raise fail(f"R10 5 orders with limit=2 need a next page; got next_cursor {cursor!r}", first)
    rest = walk(
        ctx,
        "/orders",
        {"customer_id": customer, "limit": 2, "cursor": cursor},
        "R10 walking on from page 1",
    )
    seen += [o.get("id") for p in rest for o in p]
    rule = "R10 paging with an opaque cursor returns every order exactly once"
    if repeated := _repeated(seen):
        raise fail(
            f"{rule}; a new order arrived mid-walk and {repeated} came back twice "
            "(the cursor counts positions instead of marking a place)",
            ctx.http.last,
        )
    if missing := [o for o in placed if o not in seen]:
        raise fail(
            f"{rule}; a new order arrived mid-walk and {missing} was never shown", ctx.http.last
        )


@check(
    id="pagination.default_and_bounded_limit",
    rule="R10",
    severity="minor",
    title="Pages hold 20 items by default, and limit=1 and limit=100 are honoured",
    order=930,
)
def default_and_bounded_limit(ctx: CheckContext) -> None:
    for _ in range(21):
        add_product(ctx)
    for params, expected in (({}, 20), ({"limit": 1}, 1)):
        ex = ctx.http.get("/products", params=params)
        items = json_object(ex, "a page of products").get("items")
        count = len(items) if isinstance(items, list) else None
        if count != expected:
            raise fail(
                f"R10 with {params or 'no limit'} a page holds {expected} products (there "
                f"are more than 21), got {count}",
                ex,
            )
    ex = ctx.http.get("/products", params={"limit": 100})
    items = json_object(ex, "a page of products").get("items")
    if ex.status != 200 or not isinstance(items, list) or not 21 <= len(items) <= 100:
        raise fail(f"R10 limit=100 is allowed; the service {answered(ex)}", ex)


@check(
    id="pagination.limit_out_of_range_refused",
    rule="R10",
    severity="major",
    title="A limit outside 1–100 is refused with an error body",
    order=940,
)
def limit_out_of_range_refused(ctx: CheckContext) -> None:
    customer = ctx.unique("cust")
    for limit in ("0", "101", "-1", "ten"):
        for path, params in (("/products", {}), ("/orders", {"customer_id": customer})):
            ex = ctx.http.get(path, params={**params, "limit": limit})
            expect_bad_input(ex, f"R10 limit is 1 to 100; GET {path} with limit={limit}")


@check(
    id="pagination.damaged_cursor_handled",
    rule="R9",
    severity="major",
    title="A damaged page cursor is refused cleanly, never with a 500",
    order=950,
)
def damaged_cursor_handled(ctx: CheckContext) -> None:
    customer = ctx.unique("cust")
    for cursor in ("not-a-cursor", "%%%", "eyJvZmZzZXQiOiAtMX0=", "\u00e9\u00e9"):
        for path, params in (("/products", {}), ("/orders", {"customer_id": customer})):
            ex = ctx.http.get(path, params={**params, "cursor": cursor})
            rule = f"R9 GET {path} with a damaged cursor {cursor!r}"
            if ex.status is None or ex.status >= 500:
                raise fail(f"{rule} must not crash the service; it {answered(ex)}", ex)
            if ex.status >= 400:
                expect_error_shape(ex, rule)
