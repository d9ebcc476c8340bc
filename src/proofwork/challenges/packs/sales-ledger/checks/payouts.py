"""R9: what each marketplace seller is owed per day."""

from proofwork.harness.batch_checks import JobCheckContext
from proofwork.harness.checks import check

from ._data import Export
from ._ledger import JUNE, expect, files, payouts, row


@check(
    id="payouts.commission_on_daily_gross",
    rule="R9",
    severity="critical",
    title="Commission is 12% of the seller's day, rounded once",
)
def commission(ctx: JobCheckContext) -> None:
    rows = [row(f"M{i}", "1.04", party="copper-kettle") for i in range(3)]
    rows += [row("M9", "80.00", party="ashwood-crafts", currency="GBP")]
    outcome = ctx.run_ok(ctx.case("payouts", files(Export("market", JUNE[0], rows))), "2026-06-01")
    got = payouts(outcome)
    expect(
        ctx,
        "copper-kettle on 2026-06-01",
        got.get(("2026-06-01", "copper-kettle")),
        ("3.12", "0.37", "2.75"),
    )
    expect(
        ctx,
        "ashwood-crafts on 2026-06-01",
        got.get(("2026-06-01", "ashwood-crafts")),
        ("93.60", "11.23", "82.37"),
    )
