"""The one exception family of the ledger: callers catch `LedgerError` and show its message."""


class LedgerError(Exception):
    """Base of every error the ledger raises on purpose."""


class InvalidAmount(LedgerError, ValueError):
    """An amount that is not an exact, finite number (floats are refused on purpose)."""


class CurrencyMismatch(LedgerError, ValueError):
    """Two amounts in different currencies were combined."""


class UnknownCurrency(LedgerError, ValueError):
    """A currency code the ledger has no minor-unit rule for."""


class UnknownAccount(LedgerError, KeyError):
    """An account code that is not in the chart of accounts."""

    def __str__(self) -> str:
        # KeyError's own __str__ adds quotes around the message.
        return str(self.args[0])


class DuplicateAccount(LedgerError, ValueError):
    """An account code that is already in the chart."""


class UnbalancedEntry(LedgerError, ValueError):
    """An entry whose debits and credits do not add up to the same amount."""


class UnknownEntry(LedgerError, LookupError):
    """An entry id that the journal never issued."""
