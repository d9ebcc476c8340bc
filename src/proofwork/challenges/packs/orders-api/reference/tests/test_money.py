from decimal import Decimal

import pytest

from app.money import format_money, from_cents, parse_money, round_cents, to_cents


@pytest.mark.parametrize(
    ("amount", "rounded"),
    [("0.125", "0.13"), ("0.124", "0.12"), ("1.005", "1.01"), ("2.675", "2.68"), ("0.3", "0.30"), ("-0.125", "-0.13")],
)
def test_round_cents_rounds_half_up(amount: str, rounded: str) -> None:
    assert round_cents(Decimal(amount)) == Decimal(rounded)


@pytest.mark.parametrize("text", ["12.50", "0.00", "-3.10", "1000000.99"])
def test_parse_money_accepts_two_decimals(text: str) -> None:
    assert parse_money(text) == Decimal(text)


@pytest.mark.parametrize("text", ["12.5", "12", "12.505", "1e3", " 1.00", "1,00", "", "abc", "+1.00"])
def test_parse_money_refuses_anything_else(text: str) -> None:
    with pytest.raises(ValueError, match="two decimals"):
        parse_money(text)


def test_format_money_always_has_two_decimals() -> None:
    assert format_money(Decimal("0.1") + Decimal("0.2")) == "0.30"
    assert format_money(Decimal(7)) == "7.00"
    assert format_money(from_cents(0)) == "0.00"


def test_cents_round_trip_is_exact() -> None:
    assert to_cents(Decimal("19.99")) == 1999
    assert from_cents(1999) == Decimal("19.99")


def test_to_cents_refuses_fractions_of_a_cent() -> None:
    with pytest.raises(ValueError, match="whole number of cents"):
        to_cents(Decimal("0.125"))
