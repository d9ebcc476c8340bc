"""R5: a row seen again, in the same file or a later re-export, counts once."""

from proofwork.harness.batch_checks import JobCheckContext
from proofwork.harness.checks import check

from ._data import Export
from ._ledger import JUNE, counts, expect, files, revenue, row


@check(
    id="duplicates.within_file",
    rule="R5",
    severity="critical",
    title="A row repeated in one file counts once",
)
def within_file(ctx: JobCheckContext) -> None:
    a, b = row("W1", "10.00"), row("W2", "2.50")
    export = Export("web", JUNE[0], [a, b, a])
    outcome = ctx.run_ok(ctx.case("dup-file", files(export)), "2026-06-01")
    expect(ctx, "web IE revenue", revenue(outcome).get(("2026-06-01", "web", "IE")), "12.50")
    expect(
        ctx,
        "counts for the file",
        counts(outcome, export.name),
        {"read": 3, "accepted": 2, "quarantined": 0, "duplicates": 1},
    )


@check(
    id="duplicates.reexport_across_files",
    rule="R5",
    severity="critical",
    title="Yesterday's orders re-exported today count once",
)
def across_files(ctx: JobCheckContext) -> None:
    a, b, c = (
        row("W1", "10.00"),
        row("W2", "2.50", at="2026-06-01 20:00"),
        row("W3", "1.00", at="2026-06-02 09:00"),
    )
    first, second = Export("web", JUNE[0], [a, b]), Export("web", JUNE[1], [b, c])
    outcome = ctx.run_ok(ctx.case("dup-files", files(first, second)), "2026-06-02")
    got = revenue(outcome)
    expect(ctx, "web IE revenue on 2026-06-01", got.get(("2026-06-01", "web", "IE")), "12.50")
    expect(ctx, "web IE revenue on 2026-06-02", got.get(("2026-06-02", "web", "IE")), "1.00")
    expect(
        ctx,
        "counts for the re-export",
        counts(outcome, second.name),
        {"read": 2, "accepted": 1, "quarantined": 0, "duplicates": 1},
    )
