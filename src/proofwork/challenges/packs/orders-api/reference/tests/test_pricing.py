from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.pricing import TAX_RATES, Line, PricingError, Quote, quote, terms_for


def price(lines: list[tuple[str, int]], promos: tuple[str, ...] = (), region: str = "DE") -> Quote:
    return quote([Line(f"sku{n}", qty, Decimal(p)) for n, (p, qty) in enumerate(lines)], terms_for(region, promos))


def as_strings(q: Quote) -> tuple[str, str, str, str]:
    return (f"{q.subtotal:.2f}", f"{q.discount:.2f}", f"{q.tax:.2f}", f"{q.total:.2f}")


@pytest.mark.parametrize(
    ("lines", "promos", "region", "expected"),
    [
        # 3 x 0.10 is exactly 0.30; tax 0.057 rounds to 0.06.
        ([("0.10", 3)], (), "DE", ("0.30", "0.00", "0.06", "0.36")),
        # 10% of 12.25 is 1.225 -> 1.23 (half-up); tax on 11.02 at 19% is 2.0938 -> 2.09.
        ([("12.25", 1)], ("WELCOME10",), "DE", ("12.25", "1.23", "2.09", "13.11")),
        # Percentage first (3.675 -> 3.68), then 5.00; tax on 15.82 at 23% is 3.6386 -> 3.64.
        ([("12.25", 2)], ("SPRING15", "FIVEOFF"), "IE", ("24.50", "8.68", "3.64", "19.46")),
        # The same codes given in the other order price the same.
        ([("12.25", 2)], ("FIVEOFF", "SPRING15"), "IE", ("24.50", "8.68", "3.64", "19.46")),
        # Tax exactly on a half cent: 2.50 at 21% = 0.525 -> 0.53.
        ([("2.50", 1)], (), "NL", ("2.50", "0.00", "0.53", "3.03")),
        # FIVEOFF at exactly the 20.00 threshold; tax on 15.00 at 20%.
        ([("10.00", 2)], ("FIVEOFF",), "FR", ("20.00", "5.00", "3.00", "18.00")),
        # Tax is rounded once per order, not per line: 3 x 0.05 at 19% = 0.0285 -> 0.03 (per line: 0.00).
        ([("0.05", 1), ("0.05", 1), ("0.05", 1)], (), "DE", ("0.15", "0.00", "0.03", "0.18")),
        ([("0.00", 4)], (), "IE", ("0.00", "0.00", "0.00", "0.00")),
    ],
)
def test_quote_matches_the_rules(
    lines: list[tuple[str, int]], promos: tuple[str, ...], region: str, expected: tuple[str, ...]
) -> None:
    assert as_strings(price(lines, promos, region)) == expected


def test_percentage_is_taken_from_the_subtotal_before_the_fixed_amount() -> None:
    # If FIVEOFF came first: 10% of 25.00 = 2.50 -> 7.50; the rule gives 10% of 30.00 = 3.00 -> 8.00.
    assert price([("30.00", 1)], ("FIVEOFF", "WELCOME10")).discount == Decimal("8.00")


@pytest.mark.parametrize(
    ("promos", "code"),
    [
        (("WELCOME10", "SPRING15"), "promo_not_combinable"),
        (("WELCOME10", "WELCOME10"), "promo_not_combinable"),
        (("FIVEOFF", "FIVEOFF"), "promo_not_combinable"),
        (("BOGUS",), "invalid_promo"),
        (("welcome10",), "invalid_promo"),
        (("WELCOME10", "BOGUS"), "invalid_promo"),
    ],
)
def test_terms_refuse_bad_promo_combinations(promos: tuple[str, ...], code: str) -> None:
    with pytest.raises(PricingError) as error:
        terms_for("DE", promos)
    assert error.value.code == code


def test_fiveoff_below_twenty_euros_is_not_applicable() -> None:
    with pytest.raises(PricingError) as error:
        price([("19.99", 1)], ("FIVEOFF",))
    assert error.value.code == "promo_not_applicable"


@pytest.mark.parametrize("region", ["UK", "de", "", "DEU"])
def test_unknown_region_is_refused(region: str) -> None:
    with pytest.raises(PricingError) as error:
        terms_for(region, ())
    assert error.value.code == "unknown_region"


def half_up_cents(numerator: int, denominator: int) -> int:
    """Oracle in integer arithmetic: numerator/denominator cents, rounded half-up."""
    return (2 * numerator + denominator) // (2 * denominator)


PERCENT = {"WELCOME10": 10, "SPRING15": 15}
TAX_PERCENT = {region: int(rate * 100) for region, rate in TAX_RATES.items()}

cents = st.integers(min_value=0, max_value=10_000_000)
lines_strategy = st.lists(st.tuples(cents, st.integers(min_value=1, max_value=100)), min_size=1, max_size=50)
promo_strategy = st.tuples(st.sampled_from([None, "WELCOME10", "SPRING15"]), st.booleans())


@given(lines=lines_strategy, promos=promo_strategy, region=st.sampled_from(sorted(TAX_RATES)))
def test_quote_agrees_with_an_integer_cents_oracle(
    lines: list[tuple[int, int]], promos: tuple[str | None, bool], region: str
) -> None:
    percentage, fixed = promos
    codes = tuple(code for code in (percentage, "FIVEOFF" if fixed else None) if code)
    subtotal = sum(unit * qty for unit, qty in lines)
    if fixed and subtotal < 2000:
        with pytest.raises(PricingError):
            price([(f"{unit / 100:.2f}", qty) for unit, qty in lines], codes, region)
        return
    discount = half_up_cents(subtotal * PERCENT.get(percentage or "", 0), 100) + (500 if fixed else 0)
    discount = min(discount, subtotal)
    tax = half_up_cents((subtotal - discount) * TAX_PERCENT[region], 100)

    q = price([(f"{unit // 100}.{unit % 100:02d}", qty) for unit, qty in lines], codes, region)

    assert (q.subtotal, q.discount, q.tax) == (Decimal(subtotal) / 100, Decimal(discount) / 100, Decimal(tax) / 100)
    assert q.total == q.subtotal - q.discount + q.tax
    assert Decimal(0) <= q.discount <= q.subtotal
    assert q.total >= 0
