"""R7: columns are found by name; an added column is ignored; a missing one refuses the file."""

from proofwork.harness.batch_checks import JobCheckContext
from proofwork.harness.checks import check

from ._data import Export
from ._ledger import JUNE, counts, expect, files, quarantine, revenue, row


@check(
    id="schema.reordered_columns",
    rule="R7",
    severity="major",
    title="Columns in another order are read by name",
)
def reordered(ctx: JobCheckContext) -> None:
    columns = ("currency", "amount", "region", "id", "sold_at", "type", "ref")
    rows = [row("W1", "10.00", region="DE"), row("W2", "3.00", region="DE")]
    outcome = ctx.run_ok(
        ctx.case("reordered", files(Export("web", JUNE[0], rows, columns=columns))), "2026-06-01"
    )
    expect(ctx, "web DE revenue", revenue(outcome).get(("2026-06-01", "web", "DE")), "13.00")


@check(
    id="schema.added_column",
    rule="R7",
    severity="major",
    title="A column added in the middle is ignored",
)
def added(ctx: JobCheckContext) -> None:
    columns = (
        "id",
        "type",
        "ref",
        "channel_note",
        "sold_at",
        "amount",
        "currency",
        "region",
        "store",
    )
    rows = [row("P1", "8.00", party="Kilkenny Crafts", raw={"channel_note": "summer"})]
    outcome = ctx.run_ok(
        ctx.case("added", files(Export("popup", JUNE[0], rows, columns=columns))), "2026-06-01"
    )
    expect(ctx, "popup IE revenue", revenue(outcome).get(("2026-06-01", "popup", "IE")), "8.00")


@check(
    id="schema.missing_column_refused",
    rule="R7",
    severity="major",
    title="A file without a needed column is refused row by row",
)
def missing(ctx: JobCheckContext) -> None:
    columns = ("id", "type", "ref", "sold_at", "amount", "region", "seller")  # no currency
    export = Export(
        "market",
        JUNE[0],
        [row("M1", "9.00", party="copper-kettle"), row("M2", "4.00", party="copper-kettle")],
        columns=columns,
    )
    outcome = ctx.run_ok(ctx.case("missing", files(export)), "2026-06-01")
    expect(ctx, "market revenue", revenue(outcome).get(("2026-06-01", "market", "IE")), None)
    expect(
        ctx,
        "quarantine",
        quarantine(outcome),
        [(export.name, "1", "missing_column"), (export.name, "2", "missing_column")],
    )
    expect(
        ctx,
        "counts",
        counts(outcome, export.name),
        {"read": 2, "accepted": 0, "quarantined": 2, "duplicates": 0},
    )
