"""R11 durability: what the service acknowledged survives a restart and a kill.

These checks restart the service, so they run last (high `order`).
"""

from __future__ import annotations

from typing import Any

from proofwork.harness.checks import CheckContext, check

from ._orders import (
    MONEY_FIELDS,
    add_product,
    answered,
    expect_charged_once,
    expect_paid,
    expect_stock,
    fail,
    json_object,
    order_body,
    place,
    place_paid,
)


def _bounce(ctx: CheckContext, how: str) -> None:
    """Restart or kill the service; one that does not come back has lost everything (R11)."""
    bounce = ctx.service.restart if how == "restart" else ctx.service.kill
    try:
        bounce()
    except Exception as exc:  # whatever went wrong, the service is not back
        raise fail(f"R11 the service did not come back after a {how}: {exc}") from exc


def _place_some(ctx: CheckContext, sku: str, customer: str, count: int) -> list[dict[str, Any]]:
    codes: list[list[str]] = [[], ["WELCOME10"], ["SPRING15"]]
    return [
        place_paid(ctx, [(sku, 1 + i % 2)], customer=customer, codes=codes[i % 3])[0]
        for i in range(count)
    ]


def _expect_all_there(ctx: CheckContext, placed: list[dict[str, Any]], after: str) -> None:
    rule = f"R11 an acknowledged order is never lost, including {after}"
    for order in placed:
        ex = ctx.http.get(f"/orders/{order['id']}")
        if ex.status != 200:
            raise fail(f"{rule}; order {order['id']} is gone: the service {answered(ex)}", ex)
        read = json_object(ex, "the order")
        for name in ("status", "customer_id", *MONEY_FIELDS):
            if read.get(name) != order.get(name):
                raise fail(
                    f"{rule}; order {order['id']} changed {after}: {name} was "
                    f"{order.get(name)!r}, now {read.get(name)!r}",
                    ex,
                )


def _expect_listing(ctx: CheckContext, customer: str, placed: list[dict[str, Any]]) -> None:
    ex = ctx.http.get("/orders", params={"customer_id": customer, "limit": 100})
    items = json_object(ex, "a page of orders").get("items") or []
    listed = [o.get("id") for o in items if isinstance(o, dict)]
    expected = [o["id"] for o in reversed(placed)]
    if listed != expected:
        raise fail(
            f"R11/R12 after a restart the customer's orders are still listed newest "
            f"first: expected {expected}, got {listed}",
            ex,
        )


@check(
    id="durability.orders_survive_restart",
    rule="R11",
    severity="critical",
    title="Orders, stock and products survive a restart of the service",
    order=10_000,
)
def orders_survive_restart(ctx: CheckContext) -> None:
    sku = add_product(ctx, price="12.35", stock=40)
    customer = ctx.unique("cust")
    placed = _place_some(ctx, sku, customer, 4)
    reserved = sum(1 + i % 2 for i in range(4))
    _bounce(ctx, "restart")
    _expect_all_there(ctx, placed, "after a restart")
    _expect_listing(ctx, customer, placed)
    expect_stock(ctx, sku, 40 - reserved, "R11 reserved stock stays reserved after a restart")


@check(
    id="durability.retry_after_restart_same_order",
    rule="R8",
    severity="critical",
    title="A retry after a restart still returns the original order and charges nothing more",
    order=10_010,
)
def retry_after_restart_same_order(ctx: CheckContext) -> None:
    sku = add_product(ctx, stock=10)
    body, key = order_body(ctx.unique("cust"), [(sku, 2)]), ctx.unique("key")
    first = expect_paid(place(ctx, body, key=key), "R8 the first attempt")
    _bounce(ctx, "restart")
    ex = place(ctx, body, key=key)
    again = expect_paid(ex, "R8/R11 a retry after a restart returns the order", (200, 201))
    if again["id"] != first["id"]:
        raise fail(
            f"R8 a customer's retry after a restart made a second order ({again['id']} "
            f"besides {first['id']}): Idempotency-Keys must survive restarts",
            ex,
        )
    expect_stock(ctx, sku, 8, "R8 the retry after a restart reserves nothing more (10 − 2)")
    expect_charged_once(ctx, first["id"], "R8 one order, one charge across a restart")


@check(
    id="durability.orders_survive_kill",
    rule="R11",
    severity="critical",
    title="Orders acknowledged just before the process is killed are still there",
    order=10_020,
)
def orders_survive_kill(ctx: CheckContext) -> None:
    sku = add_product(ctx, price="3.99", stock=40)
    customer = ctx.unique("cust")
    placed = _place_some(ctx, sku, customer, 6)
    reserved = sum(1 + i % 2 for i in range(6))
    _bounce(ctx, "kill")  # SIGKILL right after the last acknowledgement: no chance to flush
    _expect_all_there(ctx, placed, "after the process was killed")
    _expect_listing(ctx, customer, placed)
    expect_stock(ctx, sku, 40 - reserved, "R11 reserved stock stays reserved after a kill")
