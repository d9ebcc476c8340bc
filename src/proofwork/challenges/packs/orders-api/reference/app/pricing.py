"""Promo codes and regional tax (brief R3-R5). Pure functions, no I/O."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum

from app.money import round_cents

TAX_RATES: dict[str, Decimal] = {
    "DE": Decimal("0.19"),
    "FR": Decimal("0.20"),
    "NL": Decimal("0.21"),
    "IE": Decimal("0.23"),
}
FIXED_PROMO_MINIMUM = Decimal("20.00")


class PromoKind(Enum):
    PERCENTAGE = "percentage"
    FIXED = "fixed"


@dataclass(frozen=True)
class Promo:
    code: str
    kind: PromoKind
    value: Decimal


PROMOS: dict[str, Promo] = {
    promo.code: promo
    for promo in (
        Promo("WELCOME10", PromoKind.PERCENTAGE, Decimal("0.10")),
        Promo("SPRING15", PromoKind.PERCENTAGE, Decimal("0.15")),
        Promo("FIVEOFF", PromoKind.FIXED, Decimal("5.00")),
    )
}


class PricingError(Exception):
    """A rule of R3-R5 refuses the order; `code` is the API error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Line:
    sku: str
    quantity: int
    unit_price: Decimal

    @property
    def total(self) -> Decimal:
        return self.unit_price * self.quantity


@dataclass(frozen=True)
class Quote:
    subtotal: Decimal
    discount: Decimal
    tax: Decimal

    @property
    def total(self) -> Decimal:
        return self.subtotal - self.discount + self.tax


def check_region(region: str) -> Decimal:
    """Return the tax rate of `region` or refuse it."""
    rate = TAX_RATES.get(region)
    if rate is None:
        known = ", ".join(TAX_RATES)
        raise PricingError("unknown_region", f"region {region!r} is not one of {known}")
    return rate


def resolve_promos(codes: Sequence[str]) -> list[Promo]:
    """Look up the codes and check they may be combined (R4); percentage first."""
    promos = []
    for code in codes:
        promo = PROMOS.get(code)
        if promo is None:
            raise PricingError("invalid_promo", f"promo code {code!r} does not exist")
        promos.append(promo)
    kinds = [promo.kind for promo in promos]
    if len(set(kinds)) != len(kinds):
        raise PricingError(
            "promo_not_combinable",
            "at most one percentage code and one fixed code may be combined",
        )
    return sorted(promos, key=lambda promo: promo.kind is not PromoKind.PERCENTAGE)


def discount_for(subtotal: Decimal, promos: Sequence[Promo]) -> Decimal:
    """Apply the percentage (rounded) and then the fixed amount, capped at the subtotal."""
    discount = Decimal("0.00")
    for promo in promos:
        if promo.kind is PromoKind.PERCENTAGE:
            discount += round_cents(subtotal * promo.value)
        elif subtotal < FIXED_PROMO_MINIMUM:
            raise PricingError(
                "promo_not_applicable",
                f"{promo.code} needs a subtotal of at least {FIXED_PROMO_MINIMUM}",
            )
        else:
            discount += promo.value
    return min(discount, subtotal)


@dataclass(frozen=True)
class Terms:
    """What an order's region and promo codes mean, checked before any stock is looked at."""

    tax_rate: Decimal
    promos: tuple[Promo, ...]


def terms_for(region: str, promo_codes: Sequence[str]) -> Terms:
    """Check the region and promo codes of an order (R4, R5)."""
    return Terms(tax_rate=check_region(region), promos=tuple(resolve_promos(promo_codes)))


def quote(lines: Sequence[Line], terms: Terms) -> Quote:
    """Price an order: subtotal, discount and tax, each exact to the cent."""
    subtotal = sum((line.total for line in lines), Decimal("0.00"))
    discount = discount_for(subtotal, terms.promos)
    tax = round_cents((subtotal - discount) * terms.tax_rate)
    return Quote(subtotal=subtotal, discount=discount, tax=tax)
