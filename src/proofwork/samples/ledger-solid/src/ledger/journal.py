"""The journal: the append-only list of balanced entries that every balance is derived from."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from ledger.accounts import Chart, Side
from ledger.errors import (
    CurrencyMismatch,
    InvalidAmount,
    UnbalancedEntry,
    UnknownAccount,
    UnknownEntry,
)
from ledger.money import Money


@dataclass(frozen=True)
class Posting:
    """One line of an entry: an amount on one side of one account."""

    account: str
    side: Side
    money: Money


def debit(account: str, money: Money) -> Posting:
    """A debit posting."""
    return Posting(account, Side.DEBIT, money)


def credit(account: str, money: Money) -> Posting:
    """A credit posting."""
    return Posting(account, Side.CREDIT, money)


@dataclass(frozen=True)
class Entry:
    """A balanced set of postings booked on one day."""

    id: int
    day: dt.date
    memo: str
    postings: tuple[Posting, ...]
    reverses: int | None = None

    def total(self, side: Side) -> Money:
        """Sum of the postings on one side."""
        currency = self.postings[0].money.currency
        amounts = (p.money for p in self.postings if p.side is side)
        return sum(amounts, Money.zero(currency))


class Journal:
    """Entries in one currency over one chart of accounts. Entries are never edited: a
    mistake is corrected by booking its reversal, so the history stays auditable."""

    def __init__(self, chart: Chart, currency: str) -> None:
        self.chart = chart
        self.currency = currency
        self._entries: list[Entry] = []

    def record(self, day: dt.date, memo: str, postings: Iterable[Posting]) -> Entry:
        """Validate and append an entry; nothing is stored when it is refused."""
        lines = tuple(postings)
        self._check(lines)
        entry = Entry(len(self._entries) + 1, day, memo.strip(), lines)
        self._entries.append(entry)
        return entry

    def reverse(self, entry_id: int, day: dt.date, memo: str | None = None) -> Entry:
        """Book the mirror image of an entry, cancelling its effect from `day` on."""
        original = self.entry(entry_id)
        flipped = tuple(
            Posting(p.account, Side.CREDIT if p.side is Side.DEBIT else Side.DEBIT, p.money)
            for p in original.postings
        )
        text = memo or f"Reversal of #{original.id}: {original.memo}"
        entry = Entry(len(self._entries) + 1, day, text, flipped, reverses=original.id)
        self._entries.append(entry)
        return entry

    def entry(self, entry_id: int) -> Entry:
        """The entry with this id."""
        if not 1 <= entry_id <= len(self._entries):
            raise UnknownEntry(f"no entry #{entry_id}")
        return self._entries[entry_id - 1]

    def entries(self, start: dt.date | None = None, end: dt.date | None = None) -> list[Entry]:
        """Entries booked from `start` to `end`, both inclusive, in booking order."""
        return [
            e
            for e in self._entries
            if (start is None or e.day >= start) and (end is None or e.day <= end)
        ]

    def balance(
        self, account: str, start: dt.date | None = None, end: dt.date | None = None
    ) -> Money:
        """The account's balance, positive on its normal side (a credit grows a loan)."""
        normal = self.chart[account].type.normal_side
        total = Money.zero(self.currency)
        for entry in self.entries(start, end):
            for posting in entry.postings:
                if posting.account == account:
                    total += posting.money if posting.side is normal else -posting.money
        return total

    def _check(self, postings: tuple[Posting, ...]) -> None:
        if len(postings) < 2:
            raise UnbalancedEntry("an entry needs at least one debit and one credit")
        for posting in postings:
            if posting.account not in self.chart:
                raise UnknownAccount(f"no account {posting.account!r} in the chart")
            if posting.money.currency != self.currency:
                raise CurrencyMismatch(
                    f"posting to {posting.account} is in {posting.money.currency}, "
                    f"the journal books in {self.currency}"
                )
            if posting.money.is_zero or posting.money.is_negative:
                raise InvalidAmount(
                    f"posting to {posting.account} must be positive, got {posting.money}"
                )
        probe = Entry(0, dt.date.min, "", postings)
        debits, credits = probe.total(Side.DEBIT), probe.total(Side.CREDIT)
        if debits != credits:
            raise UnbalancedEntry(f"debits {debits} do not equal credits {credits}")
