"""R8: every row read is accepted, quarantined with a reason, or a duplicate; and a whole
generated week, messy in every way at once, comes out as the oracle says."""

from proofwork.harness.batch_checks import JobCheckContext
from proofwork.harness.checks import check

from ._data import Export, generate
from ._ledger import JUNE, counts, expect, files, quarantine, row

READ = ("read", "accepted", "quarantined", "duplicates")


@check(
    id="accounting.reasons",
    rule="R8",
    severity="major",
    title="Each rejected row is quarantined with its reason",
)
def reasons(ctx: JobCheckContext) -> None:
    rows = [
        row("W1", "10.00"),
        row("W2", "10.00", raw={"amount": "ten"}),
        row("W3", "10.00", raw={"sold_at": "yesterday"}),
        row("W4", "10.00", currency="XBT"),
        row("W5", "10.00", region=""),
        row("W6", "10.00", type="chargeback"),
        row("W7", "3.00", type="refund", ref="W404"),
        row("W8", "10.00", at="2026-06-01 12:00", currency="GBP"),
    ]
    export = Export("web", JUNE[0], rows)
    outcome = ctx.run_ok(ctx.case("reasons", files(export, rate_days=JUNE[1:])), "2026-06-01")
    wanted = [
        (export.name, "2", "bad_amount"),
        (export.name, "3", "bad_timestamp"),
        (export.name, "4", "unknown_currency"),
        (export.name, "5", "missing_value"),
        (export.name, "6", "unknown_type"),
        (export.name, "7", "unknown_original"),
        (export.name, "8", "no_rate"),
    ]
    # W1 is EUR (never needs a rate); W8 is GBP on a day without a rates file.
    expect(ctx, "quarantine.csv", quarantine(outcome), wanted)
    expect(
        ctx,
        "counts",
        counts(outcome, export.name),
        {"read": 8, "accepted": 1, "quarantined": 7, "duplicates": 0},
    )


@check(
    id="accounting.generated_days",
    rule="R8",
    severity="critical",
    title="Three messy days: every figure and every count as expected",
)
def generated(ctx: JobCheckContext) -> None:
    data = generate(ctx.seed, days=3, per_day=60)
    outcome = ctx.run_ok(ctx.case("generated", data.files), data.last_day.isoformat())
    summary = outcome.json("summary.json")
    for name, wanted in sorted(data.ledger.counts.items()):
        expect(
            ctx, f"counts for {name}", counts(outcome, name), {k: wanted.get(k, 0) for k in READ}
        )
    if not isinstance(summary, dict):
        raise ctx.fail("summary.json is not an object")
    expect(ctx, "revenue.csv", outcome.rows("revenue.csv"), data.ledger.revenue_rows())
    expect(ctx, "payouts.csv", outcome.rows("payouts.csv"), data.ledger.payout_rows())
