"""R6 stock: orders reserve stock, never more than is left, even with many customers at once."""

from __future__ import annotations

from collections import Counter

from proofwork.harness.checks import CheckContext, check
from proofwork.harness.http import Exchange

from ._orders import (
    add_product,
    all_at_once,
    answered,
    expect_error,
    expect_paid,
    expect_priced,
    expect_stock,
    fail,
    order_body,
    place,
    place_paid,
    price_order,
    stock_of,
)


@check(
    id="stock.order_reserves_stock",
    rule="R6",
    severity="critical",
    title="Placing an order takes its items out of stock",
    order=600,
)
def order_reserves_stock(ctx: CheckContext) -> None:
    sku = add_product(ctx, stock=10)
    place_paid(ctx, [(sku, 3)])
    expect_stock(ctx, sku, 7, "R6 an order of 3 from a stock of 10 leaves 7")
    place_paid(ctx, [(sku, 2)])
    expect_stock(ctx, sku, 5, "R6 a further order of 2 leaves 5")


@check(
    id="stock.out_of_stock_refused",
    rule="R6",
    severity="critical",
    title="An order for more than is left is refused and reserves nothing",
    order=610,
)
def out_of_stock_refused(ctx: CheckContext) -> None:
    plenty, scarce = add_product(ctx, stock=10), add_product(ctx, stock=5)
    ex = place(ctx, order_body(ctx.unique("cust"), [(plenty, 2), (scarce, 6)]))
    rule = "R6 an order for 6 when 5 are left is refused as a conflict"
    expect_error(ex, statuses=(409,), codes={"out_of_stock"}, rule=rule)
    expect_stock(ctx, plenty, 10, "R6 a refused order reserves nothing, not even its other lines")
    expect_stock(ctx, scarce, 5, "R6 a refused order reserves nothing")
    if ctx.provider.charges:
        raise fail("R6 an order refused for stock must not be charged", ex)


@check(
    id="stock.last_units_can_be_sold",
    rule="R6",
    severity="critical",
    title="The last units can be sold, and then the product is out of stock",
    order=620,
)
def last_units_can_be_sold(ctx: CheckContext) -> None:
    sku = add_product(ctx, stock=4)
    place_paid(ctx, [(sku, 4)], rule="R6 an order for exactly what is left succeeds")
    expect_stock(ctx, sku, 0, "R6 selling all 4 of 4 leaves 0")
    ex = place(ctx, order_body(ctx.unique("cust"), [(sku, 1)]))
    expect_error(ex, statuses=(409,), codes={"out_of_stock"}, rule="R6 nothing is left to sell")
    expect_stock(ctx, sku, 0, "R6 stock never goes below zero")


@check(
    id="stock.same_sku_on_two_lines_counted_together",
    rule="R6",
    severity="critical",
    title="Two lines for the same product are judged against its stock together",
    order=625,
)
def same_sku_on_two_lines_counted_together(ctx: CheckContext) -> None:
    sku = add_product(ctx, price="4.00", stock=5)
    ex = place(ctx, order_body(ctx.unique("cust"), [(sku, 3), (sku, 3)]))
    rule = "R6 two lines of 3 for a product with 5 left ask for 6, more than is left"
    # A service may refuse repeated skus as invalid input; it must never take 6 of 5.
    expect_error(ex, statuses=(409, 422), codes={"out_of_stock", "validation_error"}, rule=rule)
    expect_stock(ctx, sku, 5, f"{rule}; a refused order reserves nothing")
    if ctx.provider.charges:
        raise fail(f"{rule}; a refused order must not be charged", ex)
    refuses_repeats = ex.status == 422
    ex = place(ctx, order_body(ctx.unique("cust"), [(sku, 2), (sku, 3)]))
    rule = "R6 two lines of 2 and 3 for a product with 5 left take exactly what is left"
    if refuses_repeats:
        expect_error(ex, statuses=(422,), codes={"validation_error"}, rule=rule)
        expect_stock(ctx, sku, 5, f"{rule}; a refused order reserves nothing")
        return
    order = expect_paid(ex, rule)
    expect_priced(order, price_order([("4.00", 2), ("4.00", 3)], "DE"), ex, rule)
    expect_stock(ctx, sku, 0, f"{rule}; both lines are reserved")


def _outcomes(exchanges: list[Exchange]) -> Counter[str]:
    return Counter(str(ex.status) if ex.status is not None else "no answer" for ex in exchanges)


@check(
    id="stock.concurrent_orders_never_oversell",
    rule="R6",
    severity="critical",
    title="20 customers ordering the last 5 units at once: exactly 5 succeed, stock ends at 0",
    order=630,
)
def concurrent_orders_never_oversell(ctx: CheckContext) -> None:
    stock = 5
    sku = add_product(ctx, stock=stock)
    ctx.provider.latency_s = 0.05  # a real provider's latency widens the race window
    results = all_at_once(20, lambda _: place(ctx, order_body(ctx.unique("cust"), [(sku, 1)])))
    _judge_race(ctx, sku, stock, results)


def _judge_race(ctx: CheckContext, sku: str, stock: int, results: list[Exchange]) -> None:
    seen = _outcomes(results)
    won = [ex for ex in results if ex.status == 201]
    left = stock_of(ctx, sku)
    summary = f"{len(results)} orders at once for {stock} units: answers {dict(seen)}"
    if len(won) > stock or left < 0:
        raise fail(f"R6 stock was oversold: {summary}, stock now {left}", won[-1] if won else None)
    if left != stock - len(won):
        raise fail(
            f"R6 {summary}; stock should be {stock} − {len(won)} = {stock - len(won)}, got {left}",
            ctx.http.last,
        )
    for ex in results:
        if ex.status != 201:
            expect_error(
                ex,
                statuses=(409,),
                codes={"out_of_stock"},
                rule=f"R6 with many customers at once ({summary}), a customer who "
                "missed out gets a 409 out_of_stock",
            )
    if len(won) < stock:
        raise fail(
            f"R6 {summary}: {stock - len(won)} units stayed unsold although customers "
            "were turned away",
            results[0],
        )


@check(
    id="stock.concurrent_crossing_orders",
    rule="R6",
    severity="critical",
    title="Orders taking two products in opposite orders at once neither oversell nor stall",
    order=640,
)
def concurrent_crossing_orders(ctx: CheckContext) -> None:
    first, second = add_product(ctx, stock=10), add_product(ctx, stock=10)
    ctx.provider.latency_s = 0.05

    def order(i: int) -> Exchange:
        lines = [(first, 1), (second, 1)] if i % 2 else [(second, 1), (first, 1)]
        return place(ctx, order_body(ctx.unique("cust"), lines))

    results = all_at_once(16, order)
    stalled = [ex for ex in results if ex.status is None or ex.status >= 500]
    if stalled:
        raise fail(
            f"R6 orders for the same two products at once must all be answered; one "
            f"{answered(stalled[0])}",
            stalled[0],
        )
    _judge_race(ctx, first, 10, results)
    placed = sum(ex.status == 201 for ex in results)
    expect_stock(ctx, second, 10 - placed, f"R6 {placed} orders took one of each product")
