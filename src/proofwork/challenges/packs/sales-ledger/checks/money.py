"""R1: money is exact, converted at the day's rate and rounded half-up per row."""

from decimal import Decimal

from proofwork.harness.batch_checks import JobCheckContext
from proofwork.harness.checks import check

from ._data import Export
from ._ledger import JUNE, eur, expect, files, money, revenue, row


@check(
    id="money.half_up_per_row",
    rule="R1",
    severity="critical",
    title="Each row is converted and rounded half-up",
)
def half_up_per_row(ctx: JobCheckContext) -> None:
    amounts = ["2.01", "0.25", "4.41", "19.99", "0.01"]
    rows = [row(f"W{i}", a, currency="USD") for i, a in enumerate(amounts)]
    case = ctx.case("money", files(Export("web", JUNE[0], rows)))
    outcome = ctx.run_ok(case, "2026-06-01")
    total = sum((eur(a, "USD", JUNE[0]) for a in amounts), Decimal(0))
    expect(
        ctx,
        "web IE revenue on 2026-06-01",
        revenue(outcome).get(("2026-06-01", "web", "IE")),
        money(total),
    )


@check(
    id="money.sums_are_exact",
    rule="R1",
    severity="critical",
    title="Many small amounts add up to the cent",
)
def sums_are_exact(ctx: JobCheckContext) -> None:
    rows = [row(f"W{i}", "0.10", currency="EUR", region="DE") for i in range(30)]
    rows += [row(f"X{i}", "0.35", currency="GBP", region="DE") for i in range(7)]
    case = ctx.case("sums", files(Export("web", JUNE[0], rows)))
    outcome = ctx.run_ok(case, "2026-06-01")
    total = 30 * eur("0.10", "EUR", JUNE[0]) + 7 * eur("0.35", "GBP", JUNE[0])
    expect(ctx, "web DE revenue", revenue(outcome).get(("2026-06-01", "web", "DE")), money(total))
