import datetime as dt
from collections.abc import Callable

import pytest

from ledger import Journal, Money, balance_sheet, credit, debit, income_statement, trial_balance
from ledger.reports import totals

Eur = Callable[[str], Money]
JAN, FEB = dt.date(2024, 1, 31), dt.date(2024, 2, 29)


@pytest.fixture
def booked(journal: Journal, eur: Eur) -> Journal:
    """A month of a small business: capital, a loan, two sales, rent."""
    book = journal.record
    book(dt.date(2024, 1, 1), "Capital", [debit("1000", eur("5000")), credit("3000", eur("5000"))])
    book(dt.date(2024, 1, 2), "Loan", [debit("1000", eur("2000")), credit("2000", eur("2000"))])
    book(dt.date(2024, 1, 10), "Sale", [debit("1200", eur("1500")), credit("4000", eur("1500"))])
    book(dt.date(2024, 1, 20), "Rent", [debit("6000", eur("900")), credit("1000", eur("900"))])
    book(dt.date(2024, 2, 3), "Sale", [debit("1000", eur("400")), credit("4000", eur("400"))])
    return journal


def test_trial_balance_lists_each_balance_on_its_side(booked: Journal, eur: Eur) -> None:
    lines = {ln.account.code: (ln.debit, ln.credit) for ln in trial_balance(booked, JAN)}
    zero = Money.zero("EUR")
    assert lines == {
        "1000": (eur("6100"), zero),
        "1200": (eur("1500"), zero),
        "2000": (zero, eur("2000")),
        "3000": (zero, eur("5000")),
        "4000": (zero, eur("1500")),
        "6000": (eur("900"), zero),
    }


def test_trial_balance_totals_agree(booked: Journal) -> None:
    debits, credits = totals(trial_balance(booked), "EUR")
    assert debits == credits == Money.of("8900", "EUR")


def test_an_overdrawn_asset_appears_on_the_credit_side(journal: Journal, eur: Eur) -> None:
    journal.record(JAN, "Rent", [debit("6000", eur("10")), credit("1000", eur("10"))])
    (cash,) = [ln for ln in trial_balance(journal) if ln.account.code == "1000"]
    assert (cash.debit, cash.credit) == (Money.zero("EUR"), eur("10"))


def test_income_statement_covers_only_its_period(booked: Journal, eur: Eur) -> None:
    january = income_statement(booked, dt.date(2024, 1, 1), JAN)
    assert (january.income, january.expenses, january.net) == (eur("1500"), eur("900"), eur("600"))
    february = income_statement(booked, dt.date(2024, 2, 1), FEB)
    assert february.net == eur("400")


def test_income_statement_refuses_a_backwards_period(booked: Journal) -> None:
    with pytest.raises(ValueError, match="before it starts"):
        income_statement(booked, FEB, JAN)


def test_balance_sheet_balances_with_profit_in_equity(booked: Journal, eur: Eur) -> None:
    sheet = balance_sheet(booked, JAN)
    assert sheet.assets == eur("7600")
    assert sheet.liabilities == eur("2000")
    assert sheet.equity == eur("5600")
    assert sheet.balances
