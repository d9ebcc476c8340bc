"""R8 retries are safe: one Idempotency-Key is one order, reserved once and charged once."""

from __future__ import annotations

import time
from typing import Any

from proofwork.harness.checks import CheckContext, check
from proofwork.harness.http import Exchange

from ._orders import (
    add_product,
    all_at_once,
    answered,
    expect_charged_once,
    expect_error,
    expect_paid,
    expect_stock,
    fail,
    json_object,
    order_body,
    place,
)

RETRY_OK = (200, 201)  # openapi: 200 is "a retry with the same key and body; the original order"


def customer_order_ids(ctx: CheckContext, customer: str) -> list[Any]:
    """The ids GET /orders?customer_id=… lists on its first page."""
    ex = ctx.http.get("/orders", params={"customer_id": customer, "limit": 100})
    if ex.status != 200:
        raise fail(f"R12 listing a customer's orders; the service {answered(ex)}", ex)
    items = json_object(ex, "a page of orders").get("items") or []
    return [o.get("id") for o in items if isinstance(o, dict)]


@check(
    id="idempotency.same_key_same_order",
    rule="R8",
    severity="critical",
    title="A retried order with the same Idempotency-Key returns the same order, charged once",
    order=800,
)
def same_key_same_order(ctx: CheckContext) -> None:
    sku = add_product(ctx, stock=10)
    body, key = order_body(ctx.unique("cust"), [(sku, 3)]), ctx.unique("key")
    first = expect_paid(place(ctx, body, key=key), "R8 the first attempt")
    ex = place(ctx, body, key=key)
    again = expect_paid(ex, "R8 a retry with the same key and body returns the order", RETRY_OK)
    if again["id"] != first["id"]:
        raise fail(
            f"R8 the same key and body must return the same order: first id "
            f"{first['id']}, retry id {again['id']} (a second order)",
            ex,
        )
    expect_stock(ctx, sku, 7, "R8 a retry must not reserve stock again (10 − 3 once)")
    expect_charged_once(ctx, first["id"], "R8 a retry must not charge again")


@check(
    id="idempotency.same_key_other_body_conflicts",
    rule="R8",
    severity="major",
    title="Reusing an Idempotency-Key for a different order is refused as a conflict",
    order=810,
)
def same_key_other_body_conflicts(ctx: CheckContext) -> None:
    sku = add_product(ctx, stock=10)
    customer, key = ctx.unique("cust"), ctx.unique("key")
    first = expect_paid(place(ctx, order_body(customer, [(sku, 1)]), key=key), "R8 first attempt")
    ex = place(ctx, order_body(customer, [(sku, 2)]), key=key)
    expect_error(
        ex,
        statuses=(409,),
        codes={"idempotency_conflict"},
        rule="R8 the same key with a different body (quantity 2 instead of 1)",
    )
    expect_stock(ctx, sku, 9, "R8 the refused second body reserves nothing")
    expect_charged_once(ctx, first["id"], "R8 the refused second body is not charged")


@check(
    id="idempotency.different_keys_different_orders",
    rule="R8",
    severity="critical",
    title="Two identical orders with different Idempotency-Keys are two orders",
    order=820,
)
def different_keys_different_orders(ctx: CheckContext) -> None:
    sku = add_product(ctx, stock=10)
    body = order_body(ctx.unique("cust"), [(sku, 1)])
    one = expect_paid(place(ctx, body, key=ctx.unique("key")), "R8 an order with a new key")
    two = expect_paid(place(ctx, body, key=ctx.unique("key")), "R8 an order with another key")
    if one["id"] == two["id"]:
        raise fail(
            "R8 a different Idempotency-Key is a different order; the service returned "
            f"the same order {one['id']} twice",
            ctx.http.last,
        )
    expect_stock(ctx, sku, 8, "R8 two orders of 1 from 10 leave 8")


@check(
    id="idempotency.concurrent_retries_one_order",
    rule="R8",
    severity="critical",
    title="Five simultaneous retries of one order make one order and one charge",
    order=830,
)
def concurrent_retries_one_order(ctx: CheckContext) -> None:
    sku = add_product(ctx, stock=10)
    customer, key = ctx.unique("cust"), ctx.unique("key")
    body = order_body(customer, [(sku, 2)])
    ctx.provider.latency_s = 0.3  # the "page hung" case: retries land while the first is paying
    results = all_at_once(5, lambda _: place(ctx, body, key=key))
    ids = _judge_retries(results)
    expect_stock(ctx, sku, 8, "R8 simultaneous retries reserve the stock once (10 − 2)")
    listed = customer_order_ids(ctx, customer)
    if len(listed) != 1:
        raise fail(
            f"R8 simultaneous retries with one key must make one order; the customer "
            f"has {len(listed)} orders: {listed}",
            ctx.http.last,
        )
    expect_charged_once(ctx, ids.pop(), "R8 simultaneous retries charge once")


def _judge_retries(results: list[Exchange]) -> set[str]:
    rule = "R8 simultaneous retries with one key"
    ids: set[str] = set()
    for ex in results:
        if ex.status in RETRY_OK:
            ids.add(str(json_object(ex, "the order").get("id")))
        elif ex.status == 409:
            # Refusing a retry while the first attempt is in flight is fine (Stripe does it).
            expect_error(ex, statuses=(409,), codes={"idempotency_conflict"}, rule=rule)
        else:
            raise fail(
                f"{rule} are answered with the order (200/201) or a 409 while the first "
                f"is in flight; the service {answered(ex)}",
                ex,
            )
    if len(ids) != 1:
        raise fail(
            f"{rule} must all return the same one order; got order ids {sorted(ids)}", results[0]
        )
    return ids


@check(
    id="idempotency.retry_after_client_timeout",
    rule="R8",
    severity="critical",
    title="A customer who gives up waiting and retries is charged once",
    order=840,
)
def retry_after_client_timeout(ctx: CheckContext) -> None:
    sku = add_product(ctx, stock=10)
    customer, key = ctx.unique("cust"), ctx.unique("key")
    body = order_body(customer, [(sku, 1)])
    ctx.provider.latency_s = 1.0
    place(ctx, body, key=key, timeout_s=0.3)  # the page "hangs" and the customer gives up
    time.sleep(2.0)  # meanwhile the first attempt completes on the server
    ctx.provider.latency_s = 0.0
    ex = _retry_until_settled(ctx, body, key)
    order = expect_paid(ex, "R8 the customer's retry returns their order", RETRY_OK)
    listed = customer_order_ids(ctx, customer)
    if listed != [order["id"]]:
        raise fail(
            f"R8 one Idempotency-Key is one order; after a retry the customer has orders {listed}",
            ctx.http.last,
        )
    expect_stock(ctx, sku, 9, "R8 a retry reserves nothing more (10 − 1 once)")
    expect_charged_once(ctx, order["id"], "R8 a customer who retried is charged once")


def _retry_until_settled(ctx: CheckContext, body: dict[str, Any], key: str) -> Exchange:
    # A 409 "still in progress" is a fair answer to a retry; the customer retries again.
    deadline = time.monotonic() + 5.0
    while True:
        ex = place(ctx, body, key=key)
        if ex.status != 409 or time.monotonic() > deadline:
            return ex
        time.sleep(0.5)
