"""A small double-entry ledger with exact Decimal money."""

from ledger.accounts import Account, AccountType, Chart, Side
from ledger.errors import (
    CurrencyMismatch,
    DuplicateAccount,
    InvalidAmount,
    LedgerError,
    UnbalancedEntry,
    UnknownAccount,
    UnknownCurrency,
    UnknownEntry,
)
from ledger.journal import Entry, Journal, Posting, credit, debit
from ledger.money import Money
from ledger.reports import (
    BalanceSheet,
    IncomeStatement,
    TrialBalanceLine,
    balance_sheet,
    income_statement,
    trial_balance,
)

__all__ = [
    "Account",
    "AccountType",
    "BalanceSheet",
    "Chart",
    "CurrencyMismatch",
    "DuplicateAccount",
    "Entry",
    "IncomeStatement",
    "InvalidAmount",
    "Journal",
    "LedgerError",
    "Money",
    "Posting",
    "Side",
    "TrialBalanceLine",
    "UnbalancedEntry",
    "UnknownAccount",
    "UnknownCurrency",
    "UnknownEntry",
    "balance_sheet",
    "credit",
    "debit",
    "income_statement",
    "trial_balance",
]
__version__ = "1.2.0"
