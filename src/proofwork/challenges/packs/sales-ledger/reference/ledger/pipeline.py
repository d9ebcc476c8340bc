"""The nightly run: read every export up to the date, book what can be booked, quarantine
the rest with a reason, and write the outputs."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

from ledger.channels import CHANNELS, Channel, ExportFile, exports
from ledger.logs import PROGRESS_EVERY, Log
from ledger.money import cents_text, half_up, to_cents
from ledger.outputs import clear_partials, write_csv, write_json
from ledger.rates import Rates, currencies, load_rates, rate_on
from ledger.rows import Rejected, entry, read_rows
from ledger.store import Store

COMMISSION = Decimal("0.12")
COUNTS = ("read", "accepted", "quarantined", "duplicates")


@dataclass
class Books:
    """Totals in whole cents: revenue by (day, channel, region), seller gross by (day, seller)."""

    revenue: dict[tuple[str, str, str], int] = field(default_factory=lambda: defaultdict(int))
    gross: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    counts: dict[str, Counter[str]] = field(default_factory=dict)


def run(input_dir: Path, output_dir: Path, work_dir: Path, until: date, log: Log) -> Books:
    """Process every export dated up to `until` and write the outputs."""
    rates = load_rates(input_dir / "rates")
    files, ignored = exports(input_dir, until)
    for path in ignored:
        log.event("file_ignored", level="warning", file=path.name)
    log.event("run_started", date=until.isoformat(), files=len(files), rate_days=len(rates))
    store = Store(work_dir)
    books = Books()
    read_exports(files, store, currencies(rates), books, log)
    book_entries(store, rates, books, log)
    output_dir.mkdir(parents=True, exist_ok=True)
    clear_partials(output_dir)
    write_outputs(output_dir, store, books, until)
    store.close()
    totals = total_counts(books)
    log.event("run_finished", **totals)
    return books


def read_exports(files: list[ExportFile], store: Store, known: set[str], books: Books, log: Log) -> None:
    """Pass 1: every row kept, quarantined or recognised as a duplicate."""
    read = 0
    for export in files:
        name = export.path.name
        counts = books.counts[name] = Counter({key: 0 for key in COUNTS})
        channel = CHANNELS[export.channel]
        for number, fields in read_rows(channel, export.path):
            counts["read"] += 1
            read += 1
            if read % PROGRESS_EVERY == 0:
                log.event("progress", rows_read=read, file=name)
            counts[take(store, channel, fields, known, name, number)] += 1
        log.event("file_read", file=name, **counts)


def take(store: Store, channel: Channel, fields: dict[str, str] | str, known: set[str], name: str, number: int) -> str:
    """Keep one record; which count it adds to."""
    if isinstance(fields, str):
        store.reject(name, number, fields)
        return "quarantined"
    try:
        accepted = entry(channel, fields, known)
    except Rejected as rejected:
        store.reject(name, number, rejected.reason)
        return "quarantined"
    return "accepted" if store.add(accepted, name, number) else "duplicates"


def book_entries(store: Store, rates: Rates, books: Books, log: Log) -> None:
    """Pass 2: convert each accepted row at its sale day's rate and add it up; a refund of an
    unknown sale, or a day without a rate, is quarantined after all. A big day takes a while
    here too, so progress is logged as in pass 1."""
    late: list[tuple[str, int, str]] = []
    for booked, (file, row, day, channel, region, party, amount, currency) in enumerate(store.bookings(), 1):
        if booked % PROGRESS_EVERY == 0:
            log.event("progress", rows_booked=booked)
        rate = rate_on(rates, day, currency) if day else None
        if day is None or rate is None:
            late.append((file, row, "unknown_original" if day is None else "no_rate"))
            continue
        cents = to_cents(half_up(amount * rate))
        books.revenue[(day.isoformat(), channel, region)] += cents
        if channel == "market":
            books.gross[(day.isoformat(), party)] += cents
    for file, row, reason in late:
        store.reject(file, row, reason)
        books.counts[file]["accepted"] -= 1
        books.counts[file]["quarantined"] += 1


def write_outputs(output_dir: Path, store: Store, books: Books, until: date) -> None:
    """revenue.csv, payouts.csv, quarantine.csv, then summary.json, each replaced whole."""
    write_csv(
        output_dir / "revenue.csv",
        ("day", "channel", "region", "revenue_eur"),
        ((*key, cents_text(cents)) for key, cents in sorted(books.revenue.items())),
    )
    write_csv(
        output_dir / "payouts.csv",
        ("day", "seller", "gross_eur", "commission_eur", "net_eur"),
        (payout(day, seller, cents) for (day, seller), cents in sorted(books.gross.items())),
    )
    write_csv(output_dir / "quarantine.csv", ("file", "row", "reason"), store.rejects())
    summary = {
        "date": until.isoformat(),
        "files": {name: dict(counts) for name, counts in sorted(books.counts.items())},
        "totals": total_counts(books),
    }
    write_json(output_dir / "summary.json", summary)


def payout(day: str, seller: str, gross_cents: int) -> tuple[str, str, str, str, str]:
    """A seller's day: 12% commission on the day's gross, rounded once, half-up."""
    commission = to_cents(half_up(Decimal(gross_cents) / 100 * COMMISSION))
    return day, seller, cents_text(gross_cents), cents_text(commission), cents_text(gross_cents - commission)


def total_counts(books: Books) -> dict[str, int]:
    """read, accepted, quarantined and duplicates over every file."""
    return {key: sum(c[key] for c in books.counts.values()) for key in COUNTS}
