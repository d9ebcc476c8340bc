"""R12 looking up orders: by id, and a customer's orders newest first; unknown ids are 404."""

from __future__ import annotations

import time

from proofwork.harness.checks import CheckContext, check

from ._orders import (
    MONEY_FIELDS,
    add_product,
    answered,
    expect_error,
    fail,
    json_object,
    place_paid,
)


@check(
    id="orders.read_back_by_id",
    rule="R12",
    severity="critical",
    title="A placed order can be read back by its id, unchanged",
    order=500,
)
def read_back_by_id(ctx: CheckContext) -> None:
    sku = add_product(ctx, price="24.90", stock=10)
    placed, _ = place_paid(ctx, [(sku, 2)], region="NL", codes=["SPRING15"])
    ex = ctx.http.get(f"/orders/{placed['id']}")
    if ex.status != 200:
        raise fail(f"R12 GET /orders/{{id}} returns the order; the service {answered(ex)}", ex)
    read = json_object(ex, "the order")
    for name in ("id", "customer_id", "region", "status", "currency", *MONEY_FIELDS):
        if read.get(name) != placed.get(name):
            raise fail(
                f"R12 the order read back should match the one placed: {name} was "
                f"{placed.get(name)!r} when placed, {read.get(name)!r} when read",
                ex,
            )


@check(
    id="orders.unknown_order_is_404",
    rule="R9",
    severity="major",
    title="Asking for an order that does not exist answers 404 with an error body",
    order=510,
)
def unknown_order_is_404(ctx: CheckContext) -> None:
    ex = ctx.http.get(f"/orders/{ctx.unique('nosuch')}")
    expect_error(ex, statuses=(404,), codes={"not_found"}, rule="R9 unknown orders are 404")


@check(
    id="orders.customer_orders_newest_first",
    rule="R12",
    severity="major",
    title="A customer's orders are listed newest first, and only theirs",
    order=520,
)
def customer_orders_newest_first(ctx: CheckContext) -> None:
    sku = add_product(ctx, stock=20)
    customer, other = ctx.unique("cust"), ctx.unique("cust")
    placed = []
    for _ in range(3):
        placed.append(place_paid(ctx, [(sku, 1)], customer=customer)[0]["id"])
        place_paid(ctx, [(sku, 1)], customer=other)
        time.sleep(0.02)  # distinct timestamps even for a service that orders by time
    ex = ctx.http.get("/orders", params={"customer_id": customer})
    if ex.status != 200:
        raise fail(f"R12 GET /orders?customer_id=… lists orders; the service {answered(ex)}", ex)
    items = json_object(ex, "a page of orders").get("items")
    listed = [o.get("id") if isinstance(o, dict) else o for o in items or []]
    expected = list(reversed(placed))
    if listed != expected:
        raise fail(
            f"R12 the customer's 3 orders, newest first, are {expected}; the service listed "
            f"{listed}",
            ex,
        )


@check(
    id="orders.customer_ids_matched_exactly",
    rule="R12",
    severity="major",
    title="A customer's list holds their orders only, not those of a look-alike customer id",
    order=530,
)
def customer_ids_matched_exactly(ctx: CheckContext) -> None:
    sku = add_product(ctx, stock=20)
    customer = ctx.unique("cust")
    # A prefix match, or SQL LIKE with "_" as a wildcard, mixes these customers up.
    others = [customer + "0", customer[:-1] + "_", customer.upper()]
    mine = place_paid(ctx, [(sku, 1)], customer=customer)[0]["id"]
    theirs = {other: place_paid(ctx, [(sku, 1)], customer=other)[0]["id"] for other in others}
    for who, expected in [(customer, mine), *theirs.items()]:
        ex = ctx.http.get("/orders", params={"customer_id": who})
        if ex.status != 200:
            raise fail(
                f"R12 GET /orders?customer_id=… lists orders; the service {answered(ex)}", ex
            )
        items = json_object(ex, "a page of orders").get("items")
        listed = [o.get("id") if isinstance(o, dict) else o for o in items or []]
        if listed != [expected]:
            raise fail(
                f"R12 customer {who!r} placed one order, {expected}; the service listed {listed} "
                f"(customers {[customer, *others]} must be told apart exactly)",
                ex,
            )
