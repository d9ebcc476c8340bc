"""R6: refunds and corrections change the figures of the sale's own day, at its rate."""

from proofwork.harness.batch_checks import JobCheckContext
from proofwork.harness.checks import check

from ._data import Export
from ._ledger import JUNE, eur, expect, files, money, payouts, revenue, row


@check(
    id="refunds.change_the_sale_day",
    rule="R6",
    severity="critical",
    title="A refund days later reduces the sale's day",
)
def refund_on_sale_day(ctx: JobCheckContext) -> None:
    sale = row("W1", "100.00", currency="GBP", region="UK")
    refund = row(
        "W9", "40.00", currency="GBP", region="UK", type="refund", ref="W1", at="2026-06-03 10:00"
    )
    exports = (Export("web", JUNE[0], [sale]), Export("web", JUNE[2], [refund]))
    outcome = ctx.run_ok(ctx.case("refund", files(*exports)), "2026-06-03")
    got = revenue(outcome)
    wanted = eur("100.00", "GBP", JUNE[0]) - eur("40.00", "GBP", JUNE[0])
    expect(ctx, "web UK revenue on 2026-06-01", got.get(("2026-06-01", "web", "UK")), money(wanted))
    expect(
        ctx,
        "web UK revenue on 2026-06-03 (no sale that day)",
        got.get(("2026-06-03", "web", "UK")),
        None,
    )


@check(
    id="refunds.corrections_change_the_sale_day",
    rule="R6",
    severity="critical",
    title="A correction changes the sale's day and the seller's payout",
)
def correction(ctx: JobCheckContext) -> None:
    sale = row("M1", "50.00", party="ashwood-crafts")
    fix = row(
        "M7", "-5.00", party="ashwood-crafts", type="correction", ref="M1", at="2026-06-02 10:00"
    )
    exports = (Export("market", JUNE[0], [sale]), Export("market", JUNE[1], [fix]))
    outcome = ctx.run_ok(ctx.case("correction", files(*exports)), "2026-06-02")
    expect(
        ctx,
        "market IE revenue on 2026-06-01",
        revenue(outcome).get(("2026-06-01", "market", "IE")),
        "45.00",
    )
    expect(
        ctx,
        "ashwood-crafts on 2026-06-01",
        payouts(outcome).get(("2026-06-01", "ashwood-crafts")),
        ("45.00", "5.40", "39.60"),
    )
