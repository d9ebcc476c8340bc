"""The run's working store: an SQLite file in WORK_DIR holding every accepted row, so that
duplicates are found and refunds meet their sales however large the input is."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

from ledger.rows import Entry

SCHEMA = """
CREATE TABLE entries (
    channel TEXT NOT NULL, id TEXT NOT NULL, type TEXT NOT NULL, ref TEXT NOT NULL,
    day TEXT NOT NULL, amount TEXT NOT NULL, currency TEXT NOT NULL, region TEXT NOT NULL,
    party TEXT NOT NULL, file TEXT NOT NULL, row INTEGER NOT NULL,
    PRIMARY KEY (channel, id)
);
CREATE TABLE rejects (file TEXT NOT NULL, row INTEGER NOT NULL, reason TEXT NOT NULL);
"""
# A booking: (file, row, day, channel, region, party, signed amount, currency), day None
# when a refund or correction names a sale that does not exist.
Booking = tuple[str, int, date | None, str, str, str, Decimal, str]


class Store:
    """Rows of this run only: the file is recreated at every start, so a re-run or a run
    after a crash starts from the inputs, never from what an earlier run left."""

    def __init__(self, work_dir: Path) -> None:
        work_dir.mkdir(parents=True, exist_ok=True)
        path = work_dir / "ledger.sqlite"
        path.unlink(missing_ok=True)
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode = OFF")
        self.db.execute("PRAGMA synchronous = OFF")
        self.db.executescript(SCHEMA)
        self.db.execute("BEGIN")

    def add(self, entry: Entry, file: str, row: int) -> bool:
        """Keep an accepted row; False when its (channel, id) was already kept: a duplicate."""
        cursor = self.db.execute(
            "INSERT OR IGNORE INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                entry.channel,
                entry.id,
                entry.type,
                entry.ref,
                entry.day.isoformat(),
                str(entry.amount),
                entry.currency,
                entry.region,
                entry.party,
                file,
                row,
            ),
        )
        return cursor.rowcount == 1

    def reject(self, file: str, row: int, reason: str) -> None:
        """Keep a quarantined row's place and reason."""
        self.db.execute("INSERT INTO rejects VALUES (?, ?, ?)", (file, row, reason))

    def bookings(self) -> Iterator[Booking]:
        """Every accepted row as what it adds to which day: a refund or correction lands on
        its sale's day, channel, region and party."""
        query = """
            SELECT e.file, e.row, COALESCE(s.day, CASE WHEN e.type = 'sale' THEN e.day END),
                   e.channel, COALESCE(s.region, e.region), COALESCE(s.party, e.party),
                   e.type, e.amount, e.currency
            FROM entries e
            LEFT JOIN entries s
              ON e.type != 'sale' AND s.channel = e.channel AND s.id = e.ref AND s.type = 'sale'
        """
        for file, row, day, channel, region, party, kind, amount, currency in self.db.execute(query):
            signed = -Decimal(amount) if kind == "refund" else Decimal(amount)
            when = date.fromisoformat(day) if day else None
            yield file, row, when, channel, region, party, signed, currency

    def rejects(self) -> Iterator[tuple[str, int, str]]:
        """Quarantined rows in file and row order."""
        yield from self.db.execute("SELECT file, row, reason FROM rejects ORDER BY file, row")

    def close(self) -> None:
        """Drop the working store."""
        self.db.execute("COMMIT")
        self.db.close()
