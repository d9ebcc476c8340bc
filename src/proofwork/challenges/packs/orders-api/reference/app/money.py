"""Euro amounts: exact Decimals in code, integer cents in storage, two-decimal strings on the wire."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
MONEY_PATTERN = re.compile(r"^-?[0-9]+\.[0-9]{2}$")


def round_cents(amount: Decimal) -> Decimal:
    """Round half-up to the cent, as the business rules say (0.125 -> 0.13)."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def parse_money(text: str) -> Decimal:
    """Parse a wire amount such as "12.50"; raise ValueError for anything else."""
    if not MONEY_PATTERN.fullmatch(text):
        raise ValueError('must be a string with exactly two decimals, like "12.50"')
    return Decimal(text)


def format_money(amount: Decimal) -> str:
    """Format an amount with exactly two decimals."""
    return f"{round_cents(amount):.2f}"


def to_cents(amount: Decimal) -> int:
    """Convert an amount that is already whole cents to an integer number of cents."""
    cents = amount * 100
    if cents != cents.to_integral_value():
        raise ValueError(f"{amount} is not a whole number of cents")
    return int(cents)


def from_cents(cents: int) -> Decimal:
    """Convert integer cents back to an exact amount."""
    return Decimal(cents) / 100
