"""Properties that must hold for any input, not just the examples we thought of."""

import datetime as dt
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from ledger import Account, AccountType, Chart, Journal, Money, credit, debit, trial_balance
from ledger.reports import totals

cents = st.integers(min_value=1, max_value=10**9).map(lambda n: Money(Decimal(n) / 100, "EUR"))
ratios = st.lists(st.integers(min_value=0, max_value=50), min_size=1, max_size=8).filter(any)
CODES = ["1000", "2000", "4000", "6000"]
KINDS = [AccountType.ASSET, AccountType.LIABILITY, AccountType.INCOME, AccountType.EXPENSE]


@given(money=cents, ratios=ratios)
def test_allocation_never_loses_or_invents_a_cent(money: Money, ratios: list[int]) -> None:
    shares = money.allocate(ratios)
    assert sum(shares, Money.zero("EUR")) == money
    assert all(s.is_zero for s, r in zip(shares, ratios, strict=True) if r == 0)


@given(st.lists(st.tuples(st.sampled_from(CODES), st.sampled_from(CODES), cents), max_size=20))
def test_any_history_of_valid_entries_keeps_the_books_balanced(
    moves: list[tuple[str, str, Money]],
) -> None:
    journal = Journal(Chart(Account(c, c, k) for c, k in zip(CODES, KINDS, strict=True)), "EUR")
    for source, target, money in moves:
        if source != target:
            journal.record(
                dt.date(2024, 1, 1), "move", [debit(target, money), credit(source, money)]
            )
    debits, credits = totals(trial_balance(journal), "EUR")
    assert debits == credits
