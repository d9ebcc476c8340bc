"""What the sales-ledger checks share: hand-made exports with known answers, and readers of
what the job wrote. Trusted harness code."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from ._data import Export, Row, half_up, rates_file

JUNE = [date(2026, 6, d) for d in range(1, 8)]
# Rates that differ from day to day, so booking on the wrong day shows in the cents.
RATES = {
    day: {
        "EUR": Decimal(1),
        "GBP": Decimal("1.170000") + Decimal(i) / 100,
        "USD": Decimal("0.500000") + Decimal(i) / 100,
        "PLN": Decimal("0.233333"),
    }
    for i, day in enumerate(JUNE)
}


def utc(text: str) -> datetime:
    """`2026-06-01 12:00` as a UTC moment."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def row(
    id: str,
    amount: str,
    *,
    at: str = "2026-06-01 12:00",
    currency: str = "EUR",
    region: str = "IE",
    party: str = "",
    type: str = "sale",
    ref: str = "",
    note: str = "",
    raw: dict[str, str] | None = None,
) -> Row:
    """A row for a hand-made export (times in UTC)."""
    return Row(id, type, ref, utc(at), Decimal(amount), currency, region, party, note, raw or {})


def files(*exports: Export, rate_days: list[date] | None = None) -> dict[str, bytes]:
    """The input folder's files: the exports and the rates of the given days (default: June)."""
    days = JUNE if rate_days is None else rate_days
    found = {f"rates/{d.isoformat()}.csv": rates_file(RATES[d]) for d in days}
    found.update({e.name: e.render() for e in exports})
    return found


def eur(amount: str, currency: str, day: date) -> Decimal:
    """What one row is worth in euros on `day`, rounded as the brief says."""
    return half_up(Decimal(amount) * RATES[day][currency])


def money(value: Decimal) -> str:
    """Two decimals, as the outputs write money."""
    return f"{value:.2f}"


def revenue(outcome: Any) -> dict[tuple[str, str, str], str]:
    """revenue.csv by (day, channel, region)."""
    return {
        (r.get("day", ""), r.get("channel", ""), r.get("region", "")): r.get("revenue_eur", "")
        for r in outcome.rows("revenue.csv")
    }


def payouts(outcome: Any) -> dict[tuple[str, str], tuple[str, str, str]]:
    """payouts.csv by (day, seller): gross, commission, net."""
    return {
        (r.get("day", ""), r.get("seller", "")): (
            r.get("gross_eur", ""),
            r.get("commission_eur", ""),
            r.get("net_eur", ""),
        )
        for r in outcome.rows("payouts.csv")
    }


def quarantine(outcome: Any) -> list[tuple[str, str, str]]:
    """quarantine.csv as (file, row, reason), sorted."""
    return sorted(
        (r.get("file", ""), r.get("row", ""), r.get("reason", ""))
        for r in outcome.rows("quarantine.csv")
    )


def counts(outcome: Any, name: str) -> dict[str, Any]:
    """summary.json's counts for one input file."""
    summary = outcome.json("summary.json")
    found = summary.get("files", {}).get(name) if isinstance(summary, dict) else None
    if not isinstance(found, dict):
        return {}
    return {k: found.get(k) for k in ("read", "accepted", "quarantined", "duplicates")}


def expect(ctx: Any, what: str, got: object, wanted: object) -> None:
    """Fail the check, showing the last run, unless `got` is `wanted`."""
    if got != wanted:
        raise ctx.fail(f"{what}: expected {wanted}, got {got}")
