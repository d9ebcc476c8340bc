from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from ledger.rates import RatesError, currencies, load_rates, rate_on


def test_rates_are_read_per_day_with_eur_always_one(tmp_path: Path) -> None:
    (tmp_path / "2026-06-01.csv").write_text("\ufeffcurrency,eur_per_unit\n GBP , 1.170000 \n")
    (tmp_path / "readme.csv").write_text("not a day")
    rates = load_rates(tmp_path)
    assert rates == {date(2026, 6, 1): {"EUR": Decimal(1), "GBP": Decimal("1.170000")}}
    assert currencies(rates) == {"EUR", "GBP"}


def test_a_missing_folder_has_no_rates(tmp_path: Path) -> None:
    assert load_rates(tmp_path / "absent") == {}


def test_a_broken_rates_file_stops_the_run(tmp_path: Path) -> None:
    (tmp_path / "2026-06-01.csv").write_text("currency,rate\nGBP,x\n")
    with pytest.raises(RatesError, match="2026-06-01.csv"):
        load_rates(tmp_path)


def test_rate_on_a_day_without_rates_is_none_except_for_euros() -> None:
    rates = {date(2026, 6, 1): {"EUR": Decimal(1), "GBP": Decimal("1.2")}}
    assert rate_on(rates, date(2026, 6, 1), "GBP") == Decimal("1.2")
    assert rate_on(rates, date(2026, 6, 2), "GBP") is None
    assert rate_on(rates, date(2026, 6, 2), "EUR") == Decimal(1)
