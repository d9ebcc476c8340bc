from decimal import Decimal

import pytest

from ledger import CurrencyMismatch, InvalidAmount, Money, UnknownCurrency


def test_amounts_are_rounded_half_to_even_to_the_minor_unit() -> None:
    assert Money.of("2.675", "EUR").amount == Decimal("2.68")
    assert Money.of("2.665", "EUR").amount == Decimal("2.66")
    assert Money.of("1234.5", "JPY").amount == Decimal("1234")


def test_equal_amounts_compare_equal_whatever_their_scale() -> None:
    assert Money.of("10", "EUR") == Money.of("10.000", "EUR")


@pytest.mark.parametrize("value", [0.1, True, "ten", "NaN", "Infinity", None])
def test_inexact_or_non_numbers_are_refused(value: object) -> None:
    with pytest.raises(InvalidAmount):
        Money.of(value, "EUR")  # type: ignore[arg-type]


def test_unknown_currency_is_refused() -> None:
    with pytest.raises(UnknownCurrency, match="'XYZ'"):
        Money.of("1", "XYZ")


def test_arithmetic_stays_exact() -> None:
    total = Money.of("0.10", "EUR") + Money.of("0.20", "EUR")
    assert total == Money.of("0.30", "EUR")
    assert total - Money.of("0.30", "EUR") == Money.zero("EUR")
    assert -total == Money.of("-0.30", "EUR")
    assert Money.of("19.99", "EUR") * 3 == Money.of("59.97", "EUR")


def test_currencies_do_not_mix() -> None:
    with pytest.raises(CurrencyMismatch, match="EUR with USD"):
        Money.of("1", "EUR") + Money.of("1", "USD")
    with pytest.raises(CurrencyMismatch):
        Money.of("1", "EUR") - Money.of("1", "USD")


def test_text_form_names_the_currency() -> None:
    assert str(Money.of("5", "GBP")) == "5.00 GBP"


def test_allocate_gives_leftover_cents_to_the_largest_remainders() -> None:
    shares = Money.of("100", "EUR").allocate([1, 1, 1])
    assert shares == [Money.of("33.34", "EUR"), Money.of("33.33", "EUR"), Money.of("33.33", "EUR")]


def test_allocate_splits_a_negative_amount_like_a_positive_one() -> None:
    shares = Money.of("-0.05", "EUR").allocate([3, 7])
    assert shares == [Money.of("-0.02", "EUR"), Money.of("-0.03", "EUR")]


@pytest.mark.parametrize("ratios", [[], [0, 0], [1, -1]])
def test_allocate_refuses_meaningless_ratios(ratios: list[int]) -> None:
    with pytest.raises(ValueError, match="ratios"):
        Money.of("10", "EUR").allocate(ratios)
