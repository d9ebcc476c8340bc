"""R2 and R4: each channel's encoding and notation; quoting, stray whitespace, newlines."""

from proofwork.harness.batch_checks import JobCheckContext, Outcome
from proofwork.harness.checks import check

from ._data import Export
from ._ledger import JUNE, expect, files, revenue, row


@check(
    id="formats.popup_cp1252",
    rule="R2",
    severity="critical",
    title="Pop-up exports are read as cp1252",
)
def popup_cp1252(ctx: JobCheckContext) -> None:
    rows = [
        row("P1", "12.50", party="Café Éire, Galway", note="Zürich"),
        row("P2", "7.25", party="Dún Laoghaire"),
    ]
    case = ctx.case("cp1252", files(Export("popup", JUNE[0], rows, columns=_with_note("store"))))
    outcome = ctx.run_ok(case, "2026-06-01")
    expect(ctx, "popup IE revenue", revenue(outcome).get(("2026-06-01", "popup", "IE")), "19.75")


@check(
    id="formats.market_decimal_comma",
    rule="R2",
    severity="critical",
    title="Marketplace amounts: BOM, decimal comma, grouped thousands",
)
def market_decimal_comma(ctx: JobCheckContext) -> None:
    rows = [row("M1", "1234.50", party="copper-kettle"), row("M2", "7.25", party="copper-kettle")]
    case = ctx.case("comma", files(Export("market", JUNE[0], rows)))
    outcome = ctx.run_ok(case, "2026-06-01")
    expect(
        ctx, "market IE revenue", revenue(outcome).get(("2026-06-01", "market", "IE")), "1241.75"
    )


@check(
    id="csv.quoting_whitespace_newlines",
    rule="R4",
    severity="major",
    title="Quoted fields, stray whitespace and embedded newlines",
)
def quoting(ctx: JobCheckContext) -> None:
    rows = [
        row("W1", "10.00", note="deliver after 5pm,\nback door"),
        row("W2", "5.55", note='said "thanks!"\r\nand left'),
        row("W3", "1.10"),
    ]
    export = Export("web", JUNE[0], rows, columns=_with_note(None), pad=True, quote_all=True)
    outcome = ctx.run_ok(ctx.case("quoting", files(export)), "2026-06-01")
    expect(ctx, "web IE revenue", revenue(outcome).get(("2026-06-01", "web", "IE")), "16.65")
    expect(ctx, "rows accepted from the file", _accepted(outcome, export.name), 3)


def _with_note(party: str | None) -> tuple[str, ...]:
    columns = ("id", "type", "ref", "sold_at", "amount", "currency", "region")
    return columns + ((party,) if party else ()) + ("note",)


def _accepted(outcome: Outcome, name: str) -> object:
    summary = outcome.json("summary.json")
    return (
        ((summary.get("files") or {}).get(name) or {}).get("accepted")
        if isinstance(summary, dict)
        else None
    )
