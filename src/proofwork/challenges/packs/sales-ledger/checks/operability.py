"""R12: a wrong command is refused with exit code 2 and a log line, not a traceback."""

from proofwork.harness.batch_checks import JobCheckContext
from proofwork.harness.checks import check

from ._data import Export
from ._ledger import JUNE, files, row


@check(
    id="operability.bad_date_exit_2",
    rule="R12",
    severity="minor",
    title="A bad --date exits 2 with a clear message",
)
def bad_date(ctx: JobCheckContext) -> None:
    outcome = ctx.run(
        ctx.case("bad-date", files(Export("web", JUNE[0], [row("W1", "1.00")]))), "2026-13-45"
    )
    if outcome.run.exit_code != 2:
        raise ctx.fail(f"expected exit code 2 for --date 2026-13-45, got {outcome.run.summary()}")
    if b"Traceback" in outcome.run.stderr:
        raise ctx.fail("the job printed a traceback instead of saying what was wrong")
