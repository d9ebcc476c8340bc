"""Fixtures: a small company's chart of accounts and an empty EUR journal over it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import settings

from ledger import Account, AccountType, Chart, Journal, Money

# deadline=None: coverage tracing on a slow CI worker must not turn a slow example into a failure.
settings.register_profile("ci", deadline=None, max_examples=60)
settings.load_profile("ci")


@pytest.fixture
def chart() -> Chart:
    return Chart(
        [
            Account("1000", "Cash", AccountType.ASSET),
            Account("1200", "Receivables", AccountType.ASSET),
            Account("2000", "Bank loan", AccountType.LIABILITY),
            Account("3000", "Owner's capital", AccountType.EQUITY),
            Account("4000", "Sales", AccountType.INCOME),
            Account("6000", "Rent", AccountType.EXPENSE),
        ]
    )


@pytest.fixture
def journal(chart: Chart) -> Journal:
    return Journal(chart, "EUR")


@pytest.fixture
def eur() -> Callable[[str], Money]:
    """eur("12.50") reads better in a test than Money.of("12.50", "EUR")."""
    return lambda amount: Money.of(amount, "EUR")
