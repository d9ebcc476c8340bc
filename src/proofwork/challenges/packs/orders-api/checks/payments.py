"""R7 payment: an order is paid only when Paystream says so, for exactly its total; a decline
releases the stock; and when Paystream is down or slow the service still answers quickly.
"""

from __future__ import annotations

import time
from decimal import Decimal

from proofwork.harness.checks import CheckContext, check
from proofwork.harness.http import Exchange

from ._orders import (
    PROMPT_S,
    add_product,
    answered,
    expect_error,
    expect_paid,
    expect_stock,
    fail,
    json_object,
    order_body,
    place,
    place_paid,
    price_order,
    stock_of,
)

RECOVERY_S = 10.0  # how long a service may take to take orders again once Paystream is back


@check(
    id="payments.charged_exactly_the_total",
    rule="R7",
    severity="critical",
    title="A paid order is charged once, for exactly its total, in euros",
    order=700,
)
def charged_exactly_the_total(ctx: CheckContext) -> None:
    sku = add_product(ctx, price="25.45", stock=10)
    order, ex = place_paid(ctx, [(sku, 1)], region="IE", codes=["WELCOME10", "FIVEOFF"])
    expected = price_order([("25.45", 1)], "IE", ["WELCOME10", "FIVEOFF"]).total
    mine = [c for c in ctx.provider.charges if c.reference == order["id"]]
    rejected = [c for c in ctx.provider.charges if c.status == "rejected"]
    if not mine and rejected:
        raise fail(
            f"R7 Paystream refused the charge request ({rejected[0].reason}), yet the "
            "order was reported paid",
            ex,
        )
    succeeded = [c for c in mine if c.status == "succeeded" and not c.replay]
    if len(succeeded) != 1:
        raise fail(
            f"R7 a paid order is charged exactly once with reference = its id "
            f"({order['id']}); Paystream saw {len(succeeded)} successful charges "
            f"(all charges: {[(c.reference, c.status) for c in ctx.provider.charges]})",
            ex,
        )
    charge = succeeded[0]
    if Decimal(charge.amount) != expected or charge.amount != order.get("total"):
        raise fail(
            f"R7 the order must be charged its total {expected}; Paystream was asked "
            f"for {charge.amount} (the order says total {order.get('total')})",
            ex,
        )
    if not charge.idempotency_key:
        raise fail(
            "R7/R8 a charge must carry an Idempotency-Key so a retry cannot charge twice", ex
        )


@check(
    id="payments.declined_is_402_and_releases_stock",
    rule="R7",
    severity="critical",
    title="A declined payment is answered with 402 and puts the stock back on the shelf",
    order=710,
)
def declined_is_402_and_releases_stock(ctx: CheckContext) -> None:
    sku = add_product(ctx, stock=5)
    ctx.provider.behave("decline")
    ex = place(ctx, order_body(ctx.unique("cust"), [(sku, 2)]))
    rule = "R7 when Paystream declines, the service answers 402 payment_declined"
    error = expect_error(ex, statuses=(402,), codes={"payment_declined"}, rule=rule)
    expect_stock(ctx, sku, 5, "R7 a declined order's stock goes back on the shelf")
    order_id = error.get("order_id")
    if isinstance(order_id, str) and order_id:
        _expect_order_status(ctx, order_id, {"payment_failed"}, "R7 a declined order")
    ctx.provider.behave("ok")
    place_paid(ctx, [(sku, 2)], rule="R7 after a decline, the next customer can still order")


@check(
    id="payments.declined_order_retried_with_its_key_stays_declined",
    rule="R8",
    severity="major",
    title="Retrying a declined order with its Idempotency-Key returns that order: nothing more",
    order=715,
)
def declined_order_retried_with_its_key_stays_declined(ctx: CheckContext) -> None:
    sku = add_product(ctx, stock=5)
    body, key = order_body(ctx.unique("cust"), [(sku, 2)]), ctx.unique("key")
    ctx.provider.behave("decline")
    first = place(ctx, body, key=key)
    rule = "R7 when Paystream declines, the service answers 402 payment_declined"
    error = expect_error(first, statuses=(402,), codes={"payment_declined"}, rule=rule)
    ctx.provider.behave("ok")
    ex = place(ctx, body, key=key)
    rule = (
        "R8 the same key and body return the same order; this one was declined, so the "
        "retry is answered 402 again"
    )
    again = expect_error(ex, statuses=(402,), codes={"payment_declined"}, rule=rule)
    if error.get("order_id") != again.get("order_id"):
        raise fail(
            f"{rule}: the decline named order {error.get('order_id')!r}, the retry "
            f"{again.get('order_id')!r}",
            ex,
        )
    expect_stock(ctx, sku, 5, f"{rule}; the retry reserves nothing (the decline released it)")
    if ctx.provider.succeeded_by_reference():
        raise fail(f"{rule}; nothing may be charged for a declined order's retry", ex)


def _expect_order_status(ctx: CheckContext, order_id: str, allowed: set[str], rule: str) -> None:
    ex = ctx.http.get(f"/orders/{order_id}")
    if ex.status != 200:
        raise fail(f"{rule} is still an order to look up; the service {answered(ex)}", ex)
    status = json_object(ex, "the order").get("status")
    if status not in allowed:
        raise fail(f"{rule} must have status {' or '.join(sorted(allowed))}, got {status!r}", ex)


def _expect_prompt_unpaid(ctx: CheckContext, sku: str, stock: int, trouble: str) -> Exchange:
    """Paystream is in trouble: the order is answered quickly, 503 or 202, and never 'paid'."""
    ex = place(ctx, order_body(ctx.unique("cust"), [(sku, 1)]), timeout_s=PROMPT_S + 4)
    rule = f"R7 when Paystream {trouble}, the service must still answer quickly"
    if ex.status is None or ex.elapsed_s > PROMPT_S:
        raise fail(f"{rule} (within {PROMPT_S:g} s); it {answered(ex)}", ex)
    if ex.status == 503:
        expect_error(ex, statuses=(503,), codes={"payment_unavailable"}, rule=rule)
        expect_stock(ctx, sku, stock, f"{rule}; a 503 means nothing was reserved")
    elif ex.status == 202:
        status = json_object(ex, "the pending order").get("status")
        if status != "payment_pending":
            raise fail(f"{rule}; a 202 order is payment_pending, got status {status!r}", ex)
    else:
        raise fail(
            f"{rule}: 503 payment_unavailable, or 202 with the order payment_pending "
            f"(it was never paid); it {answered(ex)}",
            ex,
        )
    return ex


def _expect_recovery(ctx: CheckContext, sku: str) -> None:
    """Once Paystream is back, orders are taken again (within RECOVERY_S)."""
    ctx.provider.behave("ok")
    deadline = time.monotonic() + RECOVERY_S
    while True:
        ex = place(ctx, order_body(ctx.unique("cust"), [(sku, 1)]))
        if ex.status == 201 or time.monotonic() > deadline:
            break
        time.sleep(1.0)
    expect_paid(
        ex,
        f"R7 once Paystream answers normally again, orders are placed and paid "
        f"(tried for {RECOVERY_S:g} s)",
    )


def _expect_no_double_charge(ctx: CheckContext) -> None:
    doubled = {ref: n for ref, n in ctx.provider.succeeded_by_reference().items() if n > 1}
    if doubled:
        raise fail(f"R8 a customer must never be charged twice; Paystream charged {doubled}")


@check(
    id="payments.provider_errors_not_paid",
    rule="R7",
    severity="critical",
    title="When Paystream fails with 500 or 503, the order is not reported paid",
    order=720,
)
def provider_errors_not_paid(ctx: CheckContext) -> None:
    sku = add_product(ctx, stock=50)
    for mode in ("error500", "error503"):
        ctx.provider.behave(mode)
        # A 202 from the first step may hold a unit; "nothing reserved" is measured per step.
        _expect_prompt_unpaid(ctx, sku, stock_of(ctx, sku), f"answers {mode[-3:]}")
    _expect_recovery(ctx, sku)
    _expect_no_double_charge(ctx)


@check(
    id="payments.provider_reset_not_paid",
    rule="R7",
    severity="critical",
    title="When Paystream drops the connection, the service answers quickly and does not crash",
    order=730,
)
def provider_reset_not_paid(ctx: CheckContext) -> None:
    sku = add_product(ctx, stock=50)
    ctx.provider.behave("reset")
    _expect_prompt_unpaid(ctx, sku, 50, "drops the connection")
    _expect_recovery(ctx, sku)
    _expect_no_double_charge(ctx)


@check(
    id="payments.slow_provider_answered_promptly",
    rule="R7",
    severity="major",
    title="When Paystream takes 8 s, the customer still gets an answer within 6 s",
    order=740,
)
def slow_provider_answered_promptly(ctx: CheckContext) -> None:
    sku = add_product(ctx, stock=50)
    ctx.provider.behave("slow", delay_s=8.0)
    _expect_prompt_unpaid(ctx, sku, 50, "takes 8 s to answer")
    _expect_recovery(ctx, sku)
    _expect_no_double_charge(ctx)


@check(
    id="payments.silent_provider_answered_promptly",
    rule="R7",
    severity="major",
    title="When Paystream never answers, the customer still gets an answer within 6 s",
    order=750,
)
def silent_provider_answered_promptly(ctx: CheckContext) -> None:
    sku = add_product(ctx, stock=50)
    ctx.provider.behave("blackhole")
    _expect_prompt_unpaid(ctx, sku, 50, "never answers")
    _expect_recovery(ctx, sku)
    _expect_no_double_charge(ctx)
