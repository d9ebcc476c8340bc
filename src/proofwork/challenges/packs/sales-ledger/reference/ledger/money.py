"""Exact money: amounts are Decimals, rounded half-up to the cent where the brief says so."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
PLAIN = re.compile(r"-?\d+(?:\.\d+)?")
# A decimal comma, optionally with dots grouping thousands: 1.234,50 or 1234,5 or 12.
COMMA = re.compile(r"-?(?:\d{1,3}(?:\.\d{3})+|\d+)(?:,\d+)?")


class AmountError(ValueError):
    """Not an amount in the channel's notation."""


def half_up(value: Decimal) -> Decimal:
    """Round to the cent, halves away from zero (0.125 -> 0.13, -0.125 -> -0.13)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def parse_amount(text: str, *, decimal_comma: bool) -> Decimal:
    """An amount as the channel writes it: `1234.50`, or with a decimal comma `1.234,50`."""
    if decimal_comma:
        if not COMMA.fullmatch(text):
            raise AmountError(text)
        return Decimal(text.replace(".", "").replace(",", "."))
    if not PLAIN.fullmatch(text):
        raise AmountError(text)
    return Decimal(text)


def cents_text(cents: int) -> str:
    """Whole cents as euros with two decimals: 1234 -> 12.34, -5 -> -0.05."""
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"


def to_cents(value: Decimal) -> int:
    """A Decimal already rounded to the cent, as whole cents."""
    return int(value * 100)
