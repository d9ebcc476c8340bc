"""R2, R3, R5: money is exact, lines and subtotals add up, and each region's tax rounds half-up.

Prices are picked so that float arithmetic, Python's `round()` or banker's rounding land on a
different cent than the brief's half-up rule (for example 19% of 5.50 is 1.045: half-up 1.05,
banker's and float 1.04).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from proofwork.harness.checks import CheckContext, check
from proofwork.harness.http import Exchange

from ._orders import (
    Line,
    add_product,
    expect_error,
    expect_paid,
    expect_priced,
    expect_stock,
    fail,
    json_object,
    money,
    order_body,
    place,
    place_paid,
    price_order,
)


def _priced_order_check(
    ctx: CheckContext, lines: Sequence[Line], region: str, rule: str, codes: Sequence[str] = ()
) -> dict[str, Any]:
    """Order one product per (price, quantity) line and compare every amount with the brief."""
    skus = [add_product(ctx, price=price, stock=200) for price, _ in lines]
    ordered = [(sku, qty) for sku, (_, qty) in zip(skus, lines, strict=True)]
    order, ex = place_paid(ctx, ordered, region=region, codes=codes, rule=rule)
    expect_priced(order, price_order(lines, region, codes), ex, rule)
    return order


@check(
    id="pricing.simple_order_placed_and_paid",
    rule="R3",
    severity="critical",
    title="A simple order is placed, paid and priced correctly",
    order=200,
)
def simple_order_placed_and_paid(ctx: CheckContext) -> None:
    sku = add_product(ctx, price="11.00", stock=10)
    customer = ctx.unique("cust")
    ex = place(ctx, order_body(customer, [(sku, 1)], "DE"))
    order, _ = _expect_order_shape(ex, customer, sku)
    expect_priced(order, price_order([("11.00", 1)], "DE"), ex, "R3/R5 a one-line order in DE")


def _expect_order_shape(ex: Exchange, customer: str, sku: str) -> tuple[dict[str, Any], Exchange]:
    order = expect_paid(ex, "R3/R7 a valid order with a successful payment")
    for name, wanted in (("customer_id", customer), ("region", "DE"), ("currency", "EUR")):
        if order.get(name) != wanted:
            raise fail(f"R3 the order should carry {name} {wanted!r}, got {order.get(name)!r}", ex)
    if not isinstance(order.get("created_at"), str):
        raise fail("R12 an order carries its created_at time as a string", ex)
    items = order.get("items")
    if not isinstance(items, list) or len(items) != 1 or items[0].get("sku") != sku:
        raise fail(f"R3 the order should list its one line for {sku}, got {items!r}", ex)
    return order, ex


@check(
    id="pricing.money_is_two_decimal_strings",
    rule="R2",
    severity="major",
    title="Every amount is a string with exactly two decimals, never a JSON number",
    order=210,
)
def money_is_two_decimal_strings(ctx: CheckContext) -> None:
    sku = add_product(ctx, price="7.00", stock=10)
    order, ex = place_paid(ctx, [(sku, 2)], region="FR", codes=["WELCOME10"])
    for name in ("subtotal", "discount", "tax", "total"):
        money(order.get(name), f"the order's {name}", ex)
    for line in order.get("items") or []:
        money(line.get("unit_price"), "a line's unit_price", ex)
        money(line.get("line_total"), "a line's line_total", ex)
    product_ex = ctx.http.get(f"/products/{sku}")
    product = json_object(product_ex, "the product")
    money(product.get("price"), "the product's price", product_ex)


@check(
    id="pricing.sums_are_exact",
    rule="R2",
    severity="critical",
    title="Amounts add up exactly (3 × 0.10 + 0.20 = 0.50)",
    order=220,
)
def sums_are_exact(ctx: CheckContext) -> None:
    # Exactly: subtotal 2.50, 19% tax 0.475 -> 0.48, total 2.98. In floats the subtotal is
    # 2.5000000000000004 or 2.5 and the tax 0.47499999..., so float money totals 2.97.
    lines = [("0.10", 3), ("0.20", 1), ("2.00", 1)]
    _priced_order_check(ctx, lines, "DE", "R2 amounts are exact")


@check(
    id="pricing.line_totals_and_subtotal",
    rule="R3",
    severity="critical",
    title="Each line costs price × quantity and the subtotal is their sum",
    order=230,
)
def line_totals_and_subtotal(ctx: CheckContext) -> None:
    lines = [("19.99", 3), ("0.35", 7), ("4.05", 1)]
    order = _priced_order_check(ctx, lines, "NL", "R3 line totals and subtotal")
    got_lines = order.get("items")
    if not isinstance(got_lines, list) or len(got_lines) != len(lines):
        raise fail(f"R3 the order should list its {len(lines)} lines, got {got_lines!r}")
    for (price, qty), line in zip(lines, got_lines, strict=True):
        expected = Decimal(price) * qty
        got = money(line.get("line_total"), "a line_total")
        if got != expected or money(line.get("unit_price"), "a unit_price") != Decimal(price):
            raise fail(
                f"R3 a line of {qty} × {price} should show unit_price {price} and line_total "
                f"{expected}, got {line.get('unit_price')} and {line.get('line_total')}",
                ctx.http.last,
            )


TAX_CASES = {
    # region: (price, why this price)
    "DE": ("5.50", "19% of 5.50 = 1.045: half-up 1.05, banker's or float 1.04"),
    "FR": ("3.33", "20% of 3 × 3.33 = 1.998: rounds to 2.00"),
    "NL": ("4.50", "21% of 4.50 = 0.945: half-up 0.95, banker's or float 0.94"),
    "IE": ("13.50", "23% of 13.50 = 3.105: half-up 3.11, banker's or float 3.10"),
}


def _tax_check(region: str) -> None:
    price, why = TAX_CASES[region]
    qty = 3 if region == "FR" else 1
    rate = {"DE": "19%", "FR": "20%", "NL": "21%", "IE": "23%"}[region]

    @check(
        id=f"pricing.tax_{region.lower()}",
        rule="R5",
        severity="critical",
        title=f"{region} orders carry {rate} tax, rounded half-up to the cent",
        order=240,
    )
    def tax_check(ctx: CheckContext) -> None:
        _priced_order_check(ctx, [(price, qty)], region, f"R5 {region} tax ({why})")


for _region in TAX_CASES:
    _tax_check(_region)


@check(
    id="pricing.tax_rounded_once_per_order",
    rule="R5",
    severity="critical",
    title="Tax is rounded once on the whole order, not line by line",
    order=250,
)
def tax_rounded_once_per_order(ctx: CheckContext) -> None:
    # Per line: 19% of 0.50 = 0.095 -> 0.10 twice = 0.20; once per order: 19% of 1.00 = 0.19.
    _priced_order_check(ctx, [("0.50", 1), ("0.50", 1)], "DE", "R5 tax is rounded once per order")


@check(
    id="pricing.amounts_below_half_a_cent_round_down",
    rule="R2",
    severity="critical",
    title="Half-up rounds down below half a cent (10% of 1.24 is 0.12, not 0.13)",
    order=252,
)
def amounts_below_half_a_cent_round_down(ctx: CheckContext) -> None:
    # 10% of 1.24 = 0.124 -> 0.12 and 19% of 1.12 = 0.2128 -> 0.21; rounding up instead (a
    # ceiling passes every half-a-cent case) gives 0.13 and 0.22.
    _priced_order_check(
        ctx, [("1.24", 1)], "DE", "R2 half-up rounding keeps 0.124 at 0.12", ["WELCOME10"]
    )


@check(
    id="pricing.tax_on_the_subtotal_less_the_rounded_discount",
    rule="R5",
    severity="critical",
    title="Tax is charged on the subtotal less the discount as rounded, and rounded once",
    order=254,
)
def tax_on_the_subtotal_less_the_rounded_discount(ctx: CheckContext) -> None:
    # 10% of 20.15 = 2.015 -> 2.02; tax is 19% of 18.13 = 3.4447 -> 3.44, total 21.57. Taxing
    # 20.15 - 2.015 gives 3.45; rounding only the total, (20.15 - 2.015) x 1.19, gives 21.58.
    _priced_order_check(
        ctx,
        [("20.15", 1)],
        "DE",
        "R4/R5 the percentage is rounded first, and tax is charged on what is left",
        ["WELCOME10"],
    )


@check(
    id="pricing.tax_after_a_fixed_discount_rounds_half_up",
    rule="R5",
    severity="critical",
    title="Tax on an order after FIVEOFF is charged on the discounted subtotal, half-up",
    order=256,
)
def tax_after_a_fixed_discount_rounds_half_up(ctx: CheckContext) -> None:
    # 26.50 - 5.00 = 21.50; 19% = 4.085 -> 4.09 (banker's 4.08; taxing 26.50 first gives 5.04).
    _priced_order_check(
        ctx,
        [("13.25", 2)],
        "DE",
        "R5 tax is charged on the discounted subtotal (26.50 - 5.00) and rounded half-up",
        ["FIVEOFF"],
    )


@check(
    id="pricing.unknown_region_refused",
    rule="R5",
    severity="major",
    title="An order for a region we do not sell to is refused and reserves nothing",
    order=260,
)
def unknown_region_refused(ctx: CheckContext) -> None:
    sku = add_product(ctx, price="10.00", stock=5)
    for region in ("US", "GB", ""):
        ex = place(ctx, order_body(ctx.unique("cust"), [(sku, 1)], region))
        expect_error(
            ex,
            statuses=(422, 400),
            codes={"unknown_region", "validation_error"},
            rule=f"R5 region {region!r} is not DE, FR, NL or IE and must be refused",
        )
    expect_stock(ctx, sku, 5, "R5 a refused order must reserve nothing")
    if ctx.provider.charges:
        raise fail("R5 an order refused for its region was sent to Paystream anyway")
