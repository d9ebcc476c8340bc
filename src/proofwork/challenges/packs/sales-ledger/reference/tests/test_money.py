from decimal import Decimal

import pytest

from ledger.money import AmountError, cents_text, half_up, parse_amount, to_cents


@pytest.mark.parametrize(
    ("value", "rounded"),
    [("0.125", "0.13"), ("-0.125", "-0.13"), ("1.005", "1.01"), ("2.2049", "2.20"), ("7", "7.00")],
)
def test_half_up_rounds_halves_away_from_zero(value: str, rounded: str) -> None:
    assert half_up(Decimal(value)) == Decimal(rounded)


@pytest.mark.parametrize(
    ("text", "comma", "amount"),
    [
        ("1234.50", False, "1234.50"),
        ("-3.2", False, "-3.2"),
        ("12", False, "12"),
        ("1.234,50", True, "1234.50"),
        ("1.234.567,5", True, "1234567.5"),
        ("7,25", True, "7.25"),
        ("-5,00", True, "-5.00"),
        ("42", True, "42"),
    ],
)
def test_amounts_are_read_in_the_channels_notation(text: str, comma: bool, amount: str) -> None:
    assert parse_amount(text, decimal_comma=comma) == Decimal(amount)


@pytest.mark.parametrize(
    ("text", "comma"),
    [("12,3,4", False), ("ten", False), ("1,234.50", False), ("12.5", True), ("1.23,4", True), ("", True)],
)
def test_other_notations_are_refused(text: str, comma: bool) -> None:
    with pytest.raises(AmountError):
        parse_amount(text, decimal_comma=comma)


@pytest.mark.parametrize(("cents", "text"), [(1234, "12.34"), (-5, "-0.05"), (0, "0.00"), (100, "1.00")])
def test_cents_are_written_with_two_decimals(cents: int, text: str) -> None:
    assert cents_text(cents) == text


def test_to_cents_is_exact() -> None:
    assert to_cents(Decimal("19.99")) == 1999
