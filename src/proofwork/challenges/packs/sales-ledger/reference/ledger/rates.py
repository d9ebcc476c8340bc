"""Daily exchange rates: `rates/YYYY-MM-DD.csv`, EUR per unit of each currency."""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

Rates = dict[date, dict[str, Decimal]]


class RatesError(Exception):
    """A rates file that cannot be trusted: the run stops rather than guess."""


def load_rates(folder: Path) -> Rates:
    """Every day's rates found in `folder` (EUR is always 1)."""
    rates: Rates = {}
    if not folder.is_dir():
        return rates
    for path in sorted(folder.glob("*.csv")):
        try:
            day = date.fromisoformat(path.stem)
        except ValueError:
            continue
        rates[day] = {"EUR": Decimal(1), **_read(path)}
    return rates


def _read(path: Path) -> dict[str, Decimal]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        try:
            return {row["currency"].strip(): Decimal(row["eur_per_unit"].strip()) for row in csv.DictReader(handle)}
        except (KeyError, AttributeError, InvalidOperation) as exc:
            raise RatesError(f"{path.name}: not `currency,eur_per_unit` rows ({exc})") from exc


def currencies(rates: Rates) -> set[str]:
    """Every currency any day has a rate for."""
    return {c for day in rates.values() for c in day}


def rate_on(rates: Rates, day: date, currency: str) -> Decimal | None:
    """EUR per unit of `currency` on `day`; None when that day has no rate for it."""
    if currency == "EUR":
        return Decimal(1)
    return rates.get(day, {}).get(currency)
