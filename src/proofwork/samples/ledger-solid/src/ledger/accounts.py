"""The chart of accounts: what can be booked to, and which side makes each account grow."""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from ledger.errors import DuplicateAccount, UnknownAccount

CODE = re.compile(r"\d{3,6}")


class Side(enum.Enum):
    DEBIT = "debit"
    CREDIT = "credit"


class AccountType(enum.Enum):
    ASSET = "asset"
    LIABILITY = "liability"
    EQUITY = "equity"
    INCOME = "income"
    EXPENSE = "expense"

    @property
    def normal_side(self) -> Side:
        """The side that increases a balance of this type (assets and expenses grow by debits)."""
        if self in (AccountType.ASSET, AccountType.EXPENSE):
            return Side.DEBIT
        return Side.CREDIT


@dataclass(frozen=True)
class Account:
    """One account: a numeric code, a name people read, and its type."""

    code: str
    name: str
    type: AccountType

    def __post_init__(self) -> None:
        if not CODE.fullmatch(self.code):
            raise ValueError(f"account code must be 3 to 6 digits, got {self.code!r}")
        if not self.name.strip():
            raise ValueError(f"account {self.code} needs a name")


class Chart:
    """Accounts by code; the journal refuses postings to accounts that are not here."""

    def __init__(self, accounts: Iterable[Account] = ()) -> None:
        self._accounts: dict[str, Account] = {}
        for account in accounts:
            self.add(account)

    def add(self, account: Account) -> None:
        """Add an account; reusing a code is a mistake worth stopping at."""
        if account.code in self._accounts:
            raise DuplicateAccount(
                f"account code {account.code} is already {self[account.code].name!r}"
            )
        self._accounts[account.code] = account

    def __getitem__(self, code: str) -> Account:
        try:
            return self._accounts[code]
        except KeyError:
            raise UnknownAccount(f"no account {code!r} in the chart") from None

    def __contains__(self, code: object) -> bool:
        return code in self._accounts

    def __iter__(self) -> Iterator[Account]:
        return iter(sorted(self._accounts.values(), key=lambda a: a.code))

    def __len__(self) -> int:
        return len(self._accounts)

    def of_type(self, kind: AccountType) -> list[Account]:
        """Accounts of one type, by code."""
        return [account for account in self if account.type is kind]
