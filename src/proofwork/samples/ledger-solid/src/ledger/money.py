"""Money: an exact Decimal amount in one currency, kept at the currency's minor unit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from ledger.errors import CurrencyMismatch, InvalidAmount, UnknownCurrency

# ISO 4217 minor units of the currencies we book in.
MINOR_UNITS = {"CHF": 2, "EUR": 2, "GBP": 2, "JPY": 0, "USD": 2}


def quantum(currency: str) -> Decimal:
    """The smallest amount of `currency`: Decimal('0.01') for EUR, Decimal('1') for JPY."""
    try:
        places = MINOR_UNITS[currency]
    except KeyError:
        raise UnknownCurrency(f"unknown currency {currency!r}") from None
    return Decimal(1).scaleb(-places)


def to_decimal(value: str | int | Decimal) -> Decimal:
    """An exact Decimal from text, an int or a Decimal; floats are refused."""
    # bool is an int subclass, and float would silently carry binary rounding errors in.
    if isinstance(value, bool | float):
        raise InvalidAmount(f"refusing {type(value).__name__} {value!r}: pass a str or Decimal")
    try:
        number = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise InvalidAmount(f"not a number: {value!r}") from None
    if not number.is_finite():
        raise InvalidAmount(f"not a finite amount: {value!r}")
    return number


@dataclass(frozen=True)
class Money:
    """An amount of one currency, rounded half-to-even to its minor unit on creation."""

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        exact = to_decimal(self.amount)
        # Frozen dataclass: normalise in place once, so equal amounts compare equal.
        object.__setattr__(self, "amount", exact.quantize(quantum(self.currency), ROUND_HALF_EVEN))

    @classmethod
    def of(cls, amount: str | int | Decimal, currency: str) -> Money:
        """Money from text or an exact number: Money.of("19.99", "EUR")."""
        return cls(to_decimal(amount), currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        """No money in `currency`."""
        return cls(Decimal(0), currency)

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __mul__(self, factor: int | Decimal) -> Money:
        return Money(self.amount * to_decimal(factor), self.currency)

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"

    @property
    def is_zero(self) -> bool:
        """Whether the amount is exactly zero."""
        return self.amount == 0

    @property
    def is_negative(self) -> bool:
        """Whether the amount is below zero."""
        return self.amount < 0

    def allocate(self, ratios: Sequence[int]) -> list[Money]:
        """Split by whole-number ratios without losing a cent (largest remainder first)."""
        if not ratios or any(r < 0 for r in ratios) or sum(ratios) == 0:
            raise ValueError(f"ratios must be non-negative and not all zero: {list(ratios)}")
        if self.is_negative:
            # Split the debt like the credit, so -0.01 goes where +0.01 would have gone.
            return [-share for share in (-self).allocate(ratios)]
        step = quantum(self.currency)
        units = int(self.amount / step)
        total = sum(ratios)
        shares = [units * r // total for r in ratios]
        # Hand the units lost to flooring to the largest fractional remainders, earliest first.
        order = sorted(range(len(ratios)), key=lambda i: (-(units * ratios[i] % total), i))
        for index in order[: units - sum(shares)]:
            shares[index] += 1
        return [Money(share * step, self.currency) for share in shares]

    def _same_currency(self, other: Money) -> None:
        if self.currency != other.currency:
            raise CurrencyMismatch(f"cannot combine {self.currency} with {other.currency}")
