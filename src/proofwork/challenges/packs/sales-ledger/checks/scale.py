"""R11: a day larger than the job's memory completes, with the right figures."""

from proofwork.harness.batch_checks import JobCheckContext
from proofwork.harness.checks import check

from ._data import write_large
from ._ledger import expect, revenue

ROWS = 100_000  # about 5 MB of CSV, and 80 MB as rows of Python strings
MEMORY = 40 * 1024 * 1024


@check(
    id="scale.larger_than_memory",
    rule="R11",
    severity="major",
    title="A day larger than memory completes with exact figures",
    order=900,
)
def larger_than_memory(ctx: JobCheckContext) -> None:
    case = ctx.case("large", {})
    totals = write_large(case.input, ctx.seed, ROWS)
    outcome = ctx.run(case, "2026-06-01", memory_bytes=MEMORY)
    if "memory" in outcome.run.stopped:
        raise ctx.fail(
            f"the job was stopped by its {MEMORY >> 20} MiB memory limit on a {ROWS}-row day"
        )
    if not outcome.run.ok:
        raise ctx.fail(f"the job failed on a {ROWS}-row day: {outcome.run.summary()}")
    got = revenue(outcome)
    for key, cents in sorted(totals.items()):
        day, region = key.split(",")
        expect(
            ctx,
            f"web {region} revenue on {day}",
            got.get((day, "web", region)),
            f"{cents / 100:.2f}",
        )
