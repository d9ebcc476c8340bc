"""The reports an accountant asks for first, all derived from the journal on demand."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ledger.accounts import Account, AccountType, Side
from ledger.journal import Journal
from ledger.money import Money


@dataclass(frozen=True)
class TrialBalanceLine:
    """One account's balance, shown on the side it falls on."""

    account: Account
    debit: Money
    credit: Money


def trial_balance(journal: Journal, end: dt.date | None = None) -> list[TrialBalanceLine]:
    """Every account with a non-zero balance at `end`, by code."""
    zero = Money.zero(journal.currency)
    lines = []
    for account in journal.chart:
        balance = journal.balance(account.code, end=end)
        if balance.is_zero:
            continue
        # A negative balance belongs on the side opposite to the account's normal one.
        on_debit = (account.type.normal_side is Side.DEBIT) != balance.is_negative
        amount = -balance if balance.is_negative else balance
        lines.append(
            TrialBalanceLine(account, amount if on_debit else zero, zero if on_debit else amount)
        )
    return lines


def totals(lines: list[TrialBalanceLine], currency: str) -> tuple[Money, Money]:
    """Total debits and total credits of a trial balance (equal when the books balance)."""
    zero = Money.zero(currency)
    return sum((ln.debit for ln in lines), zero), sum((ln.credit for ln in lines), zero)


@dataclass(frozen=True)
class IncomeStatement:
    """Income, expenses and the profit (negative: a loss) of a period."""

    income: Money
    expenses: Money

    @property
    def net(self) -> Money:
        """Profit of the period; negative when it made a loss."""
        return self.income - self.expenses


def income_statement(journal: Journal, start: dt.date, end: dt.date) -> IncomeStatement:
    """What the period earned and spent."""
    if end < start:
        raise ValueError(f"period ends ({end}) before it starts ({start})")
    return IncomeStatement(
        income=_sum_type(journal, AccountType.INCOME, start, end),
        expenses=_sum_type(journal, AccountType.EXPENSE, start, end),
    )


@dataclass(frozen=True)
class BalanceSheet:
    """Assets against liabilities and equity at one day, with profit so far in equity."""

    day: dt.date
    assets: Money
    liabilities: Money
    equity: Money

    @property
    def balances(self) -> bool:
        """The accounting equation: assets = liabilities + equity."""
        return self.assets == self.liabilities + self.equity


def balance_sheet(journal: Journal, day: dt.date) -> BalanceSheet:
    """The position at the end of `day`; retained earnings are not closed yet, so they are
    added to equity here."""
    earned = income_statement(journal, dt.date.min, day).net
    return BalanceSheet(
        day=day,
        assets=_sum_type(journal, AccountType.ASSET, None, day),
        liabilities=_sum_type(journal, AccountType.LIABILITY, None, day),
        equity=_sum_type(journal, AccountType.EQUITY, None, day) + earned,
    )


def _sum_type(
    journal: Journal, kind: AccountType, start: dt.date | None, end: dt.date | None
) -> Money:
    total = Money.zero(journal.currency)
    for account in journal.chart.of_type(kind):
        total += journal.balance(account.code, start, end)
    return total
