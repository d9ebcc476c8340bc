"""R10: re-running a day gives the same outputs, byte for byte."""

from proofwork.harness.batch_checks import JobCheckContext
from proofwork.harness.checks import check

from ._data import Export
from ._ledger import JUNE, files, row


@check(
    id="reruns.identical_outputs",
    rule="R10",
    severity="major",
    title="Running the same day twice writes the same files",
)
def rerun(ctx: JobCheckContext) -> None:
    rows = [row("W1", "10.00"), row("W2", "4.20", region="FR")]
    market = Export("market", JUNE[0], [row("M1", "6.00", party="copper-kettle")])
    case = ctx.case("rerun", files(Export("web", JUNE[0], rows), market))
    first = ctx.run_ok(case, "2026-06-01").outputs
    second = ctx.run_ok(case, "2026-06-01").outputs
    if not first:
        raise ctx.fail("the job wrote no outputs")
    changed = sorted(n for n in set(first) | set(second) if first.get(n) != second.get(n))
    if changed:
        raise ctx.fail(f"a second run of the same day changed: {', '.join(changed)}")
