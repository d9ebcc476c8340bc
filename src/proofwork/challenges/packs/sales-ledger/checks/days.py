"""R3: a sale belongs to its calendar day in Dublin, whatever zone the export writes."""

from proofwork.harness.batch_checks import JobCheckContext
from proofwork.harness.checks import check

from ._data import Export
from ._ledger import JUNE, eur, expect, files, money, revenue, row


@check(
    id="days.dublin_business_day",
    rule="R3",
    severity="critical",
    title="Late-evening sales land on the Dublin day",
)
def dublin_day(ctx: JobCheckContext) -> None:
    web = Export("web", JUNE[0], [row("W1", "10.00", at="2026-06-01 23:15", currency="GBP")])
    # 22:30 UTC is 00:30 in Berlin on the 2nd, but 23:30 in Dublin on the 1st.
    market = Export(
        "market", JUNE[1], [row("M1", "20.00", at="2026-06-01 22:30", party="copper-kettle")]
    )
    outcome = ctx.run_ok(ctx.case("days", files(web, market)), "2026-06-02")
    got = revenue(outcome)
    expect(
        ctx,
        "web IE revenue on 2026-06-02 (00:15 in Dublin)",
        got.get(("2026-06-02", "web", "IE")),
        money(eur("10.00", "GBP", JUNE[1])),
    )
    expect(
        ctx,
        "market IE revenue on 2026-06-01 (23:30 in Dublin)",
        got.get(("2026-06-01", "market", "IE")),
        "20.00",
    )
    expect(ctx, "days in revenue.csv", sorted({k[0] for k in got}), ["2026-06-01", "2026-06-02"])
