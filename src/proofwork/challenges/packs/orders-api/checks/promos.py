"""R4 promo codes: the percentage is applied first and rounded half-up, then the fixed amount;
forbidden combinations, unknown codes and FIVEOFF under €20.00 are refused with nothing ordered.

"The discount never exceeds the subtotal" cannot bind with these codes (FIVEOFF needs €20.00,
so the most taken off is 15% + €5.00, under the subtotal), so no check can reach a fully
discounted order or its tax.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal

from proofwork.harness.checks import CheckContext, check

from ._orders import (
    Line,
    add_product,
    expect_error,
    expect_priced,
    expect_stock,
    fail,
    order_body,
    place,
    place_paid,
    price_order,
)


def _discounted(ctx: CheckContext, line: Line, codes: Sequence[str], rule: str) -> None:
    price, qty = line
    sku = add_product(ctx, price=price, stock=50)
    order, ex = place_paid(ctx, [(sku, qty)], region="DE", codes=codes, rule=rule)
    expect_priced(order, price_order([line], "DE", codes), ex, rule)


def _refused(
    ctx: CheckContext,
    codes: Sequence[str],
    allowed: Iterable[str],
    rule: str,
    price: str = "10.00",
    lines: Sequence[Line] = (),
) -> None:
    """The order is refused with one of `allowed` codes, and nothing is reserved or charged.

    By default one line of 2 at `price`; `lines` gives (price, quantity) lines instead.
    """
    lines = lines or [(price, 2)]
    skus = [add_product(ctx, price=line_price, stock=5) for line_price, _ in lines]
    ordered = [(sku, qty) for sku, (_, qty) in zip(skus, lines, strict=True)]
    ex = place(ctx, order_body(ctx.unique("cust"), ordered, "DE", codes))
    expect_error(ex, statuses=(422, 400), codes=allowed, rule=rule)
    for sku in skus:
        expect_stock(ctx, sku, 5, f"{rule}; nothing may be ordered")
    if ctx.provider.charges:
        raise fail(f"{rule}; nothing may be ordered, but Paystream was asked for a charge", ex)


@check(
    id="promos.welcome10_rounds_half_up",
    rule="R4",
    severity="critical",
    title="WELCOME10 takes 10% off, rounded half-up (10% of 1.25 is 0.13)",
    order=300,
)
def welcome10_rounds_half_up(ctx: CheckContext) -> None:
    # 10% of 1.25 = 0.125: the brief's own example, half-up 0.13; banker's and float give 0.12.
    _discounted(ctx, ("1.25", 1), ["WELCOME10"], "R4 WELCOME10 is 10% off, rounded half-up")


@check(
    id="promos.spring15_rounds_half_up",
    rule="R4",
    severity="critical",
    title="SPRING15 takes 15% off, rounded half-up (15% of 20.30 is 3.05)",
    order=310,
)
def spring15_rounds_half_up(ctx: CheckContext) -> None:
    # 15% of 20.30 = 3.045: half-up 3.05; banker's and float give 3.04.
    _discounted(ctx, ("10.15", 2), ["SPRING15"], "R4 SPRING15 is 15% off, rounded half-up")


@check(
    id="promos.fiveoff_at_the_minimum",
    rule="R4",
    severity="major",
    title="FIVEOFF takes €5.00 off an order of exactly €20.00",
    order=320,
)
def fiveoff_at_the_minimum(ctx: CheckContext) -> None:
    _discounted(ctx, ("10.00", 2), ["FIVEOFF"], "R4 FIVEOFF applies from a €20.00 subtotal")


@check(
    id="promos.fiveoff_below_minimum_refused",
    rule="R4",
    severity="critical",
    title="FIVEOFF on an order under €20.00 is refused and nothing is ordered",
    order=330,
)
def fiveoff_below_minimum_refused(ctx: CheckContext) -> None:
    _refused(
        ctx,
        ["FIVEOFF"],
        {"promo_not_applicable"},
        "R4 FIVEOFF needs a subtotal of at least €20.00 (this one is 2 × 9.99 = 19.98)",
        price="9.99",
    )


@check(
    id="promos.percentage_then_fixed",
    rule="R4",
    severity="critical",
    title="A percentage code and FIVEOFF combine: percentage first (rounded), then €5.00",
    order=340,
)
def percentage_then_fixed(ctx: CheckContext) -> None:
    # 10% of 25.45 = 2.545 -> 2.55 (banker's and float: 2.54), then 5.00: discount 7.55.
    # Fixed first would give 7.05. Still >= 20.00 after the percentage, so FIVEOFF applies
    # however its minimum is read. FIVEOFF is listed first on purpose: the brief sets the order.
    _discounted(
        ctx,
        ("25.45", 1),
        ["FIVEOFF", "WELCOME10"],
        "R4 the percentage is applied first and rounded, then the fixed amount",
    )


@check(
    id="promos.two_percentage_codes_refused",
    rule="R4",
    severity="critical",
    title="Two percentage codes together are refused and nothing is ordered",
    order=350,
)
def two_percentage_codes_refused(ctx: CheckContext) -> None:
    _refused(
        ctx,
        ["WELCOME10", "SPRING15"],
        {"promo_not_combinable"},
        "R4 at most one percentage code may be used (WELCOME10 + SPRING15)",
    )


@check(
    id="promos.same_code_twice_refused",
    rule="R4",
    severity="critical",
    title="The same promo code twice is refused and nothing is ordered",
    order=360,
)
def same_code_twice_refused(ctx: CheckContext) -> None:
    for code in ("WELCOME10", "FIVEOFF"):
        _refused(
            ctx,
            [code, code],
            {"promo_not_combinable", "invalid_promo", "validation_error"},
            f"R4 the same code twice ({code} + {code}) is an error",
            price="15.00",
        )


@check(
    id="promos.unknown_code_refused",
    rule="R4",
    severity="major",
    title="An unknown promo code is refused and nothing is ordered",
    order=370,
)
def unknown_code_refused(ctx: CheckContext) -> None:
    _refused(ctx, ["FREESTUFF"], {"invalid_promo"}, "R4 an unknown code (FREESTUFF) is an error")


@check(
    id="promos.more_than_two_codes_refused",
    rule="R4",
    severity="critical",
    title="More than two promo codes are refused and nothing is ordered",
    order=380,
)
def more_than_two_codes_refused(ctx: CheckContext) -> None:
    _refused(
        ctx,
        ["WELCOME10", "FIVEOFF", "SPRING15"],
        {"validation_error", "promo_not_combinable", "invalid_promo"},
        "R4 a customer may give up to two codes",
        price="15.00",
    )


@check(
    id="promos.fiveoff_minimum_judged_on_the_subtotal",
    rule="R4",
    severity="major",
    title="FIVEOFF's €20.00 minimum is judged on the subtotal, not on what a percentage code left",
    order=390,
)
def fiveoff_minimum_judged_on_the_subtotal(ctx: CheckContext) -> None:
    # 20.00 less 10% = 18.00 and 22.00 less 15% = 18.70 are under 20.00, but the subtotals are not:
    # FIVEOFF applies to both, whichever order the codes come in.
    for line, codes in (
        (("10.00", 2), ["WELCOME10", "FIVEOFF"]),
        (("11.00", 2), ["FIVEOFF", "SPRING15"]),
    ):
        subtotal = Decimal(line[0]) * line[1]
        _discounted(
            ctx,
            line,
            codes,
            f"R4 FIVEOFF needs a subtotal of at least €20.00; this one is {subtotal}, so "
            f"{' + '.join(codes)} both apply although the percentage leaves less than €20.00",
        )


@check(
    id="promos.fiveoff_under_minimum_refuses_the_whole_order",
    rule="R4",
    severity="critical",
    title="FIVEOFF under €20.00 beside a percentage code refuses the order, not just FIVEOFF",
    order=391,
)
def fiveoff_under_minimum_refuses_the_whole_order(ctx: CheckContext) -> None:
    # One cent under the minimum: dropping FIVEOFF and charging with WELCOME10 alone is not
    # what the customer asked for; the brief says the order is an error.
    _refused(
        ctx,
        ["WELCOME10", "FIVEOFF"],
        {"promo_not_applicable"},
        "R4 FIVEOFF on a subtotal of 19.99, one cent under €20.00, is an error even next to "
        "a percentage code",
        lines=[("19.99", 1)],
    )


@check(
    id="promos.unknown_code_beside_a_valid_one_refused",
    rule="R4",
    severity="major",
    title="An unknown promo code next to a valid one is refused and nothing is ordered",
    order=392,
)
def unknown_code_beside_a_valid_one_refused(ctx: CheckContext) -> None:
    for codes in (["WELCOME10", "FREESTUFF"], ["FREESTUFF", "FIVEOFF"]):
        _refused(
            ctx,
            codes,
            {"invalid_promo"},
            f"R4 an unknown code is an error even beside a valid one ({' + '.join(codes)})",
            price="15.00",
        )
