import datetime as dt
from collections.abc import Callable

import pytest

from ledger import (
    CurrencyMismatch,
    InvalidAmount,
    Journal,
    Money,
    Side,
    UnbalancedEntry,
    UnknownAccount,
    UnknownEntry,
    credit,
    debit,
)

Eur = Callable[[str], Money]
JAN_5 = dt.date(2024, 1, 5)


def test_a_balanced_entry_moves_both_balances(journal: Journal, eur: Eur) -> None:
    entry = journal.record(
        JAN_5, " Cash sale ", [debit("1000", eur("120")), credit("4000", eur("120"))]
    )
    assert entry.id == 1
    assert entry.memo == "Cash sale"
    assert journal.balance("1000") == eur("120")
    assert journal.balance("4000") == eur("120")


def test_an_entry_may_split_across_several_accounts(journal: Journal, eur: Eur) -> None:
    journal.record(
        JAN_5,
        "Invoice 17, half paid",
        [debit("1000", eur("60")), debit("1200", eur("60")), credit("4000", eur("120"))],
    )
    assert journal.balance("1200") == eur("60")
    assert journal.entry(1).total(Side.DEBIT) == eur("120")


def test_an_unbalanced_entry_is_refused_and_not_stored(journal: Journal, eur: Eur) -> None:
    with pytest.raises(UnbalancedEntry, match=r"debits 100.00 EUR do not equal credits 99.99 EUR"):
        journal.record(JAN_5, "typo", [debit("1000", eur("100")), credit("4000", eur("99.99"))])
    assert journal.entries() == []


def test_a_single_posting_is_not_an_entry(journal: Journal, eur: Eur) -> None:
    with pytest.raises(UnbalancedEntry, match="at least one debit and one credit"):
        journal.record(JAN_5, "half", [debit("1000", eur("1"))])


def test_postings_to_unknown_accounts_are_refused(journal: Journal, eur: Eur) -> None:
    with pytest.raises(UnknownAccount, match="'7000'"):
        journal.record(JAN_5, "?", [debit("7000", eur("5")), credit("1000", eur("5"))])


def test_postings_in_another_currency_are_refused(journal: Journal, eur: Eur) -> None:
    usd = Money.of("5", "USD")
    with pytest.raises(CurrencyMismatch, match="books in EUR"):
        journal.record(JAN_5, "fx", [debit("1000", usd), credit("4000", usd)])


@pytest.mark.parametrize("amount", ["0", "-5"])
def test_postings_must_be_positive(journal: Journal, eur: Eur, amount: str) -> None:
    with pytest.raises(InvalidAmount, match="must be positive"):
        journal.record(JAN_5, "odd", [debit("1000", eur(amount)), credit("4000", eur(amount))])


def test_a_reversal_cancels_the_entry_from_its_day_on(journal: Journal, eur: Eur) -> None:
    journal.record(JAN_5, "Rent", [debit("6000", eur("800")), credit("1000", eur("800"))])
    reversal = journal.reverse(1, dt.date(2024, 1, 9))
    assert reversal.reverses == 1
    assert reversal.memo == "Reversal of #1: Rent"
    assert journal.balance("6000") == Money.zero("EUR")
    assert journal.balance("6000", end=dt.date(2024, 1, 8)) == eur("800")


def test_unknown_entries_cannot_be_reversed(journal: Journal) -> None:
    with pytest.raises(UnknownEntry, match="#3"):
        journal.reverse(3, JAN_5)


def test_a_credit_balance_on_an_asset_shows_as_negative(journal: Journal, eur: Eur) -> None:
    journal.record(JAN_5, "Overdrawn", [debit("6000", eur("50")), credit("1000", eur("50"))])
    assert journal.balance("1000") == eur("-50")


def test_entries_are_filtered_by_inclusive_dates(journal: Journal, eur: Eur) -> None:
    for day in (1, 15, 31):
        journal.record(
            dt.date(2024, 1, day), f"day {day}", [debit("1000", eur("1")), credit("4000", eur("1"))]
        )
    memos = [e.memo for e in journal.entries(dt.date(2024, 1, 15), dt.date(2024, 1, 31))]
    assert memos == ["day 15", "day 31"]
    assert len(journal.entries(end=dt.date(2024, 1, 14))) == 1
