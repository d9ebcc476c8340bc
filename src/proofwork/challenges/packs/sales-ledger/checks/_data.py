"""Fernbrook's channel exports, generated deterministically from a seed, with the answer.

Trusted harness code (never shipped to a candidate). `generate` makes a few days of the three
channels' exports, messy the way real exports are (encodings, decimal commas, time zones, stray
whitespace, quoting, embedded newlines, re-exports, late refunds and corrections, schema drift,
rows that must be quarantined), and works out what a correct ledger says about them. `Export`
renders hand-made rows in a channel's dialect for the checks, and `write_large` streams a big
day to disk without holding it in memory.
"""

from __future__ import annotations

import csv
import io
import json
import random
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

DUBLIN, BERLIN = ZoneInfo("Europe/Dublin"), ZoneInfo("Europe/Berlin")
CENT = Decimal("0.01")
COMMISSION = Decimal("0.12")
COLUMNS = ("id", "type", "ref", "sold_at", "amount", "currency", "region")
PARTY = {"web": None, "market": "seller", "popup": "store"}
CURRENCIES = ("EUR", "GBP", "USD", "PLN")
REGIONS = ("IE", "UK", "DE", "FR", "NL", "PL", "US")
SELLERS = ("ashwood-crafts", "brennan-and-daughters", "copper-kettle", "dun-laoghaire-pottery")
STORES = ("Dublin Docklands", "Café Éire, Galway", "Cork Market Hall", "Kilkenny Crafts")
NOTES = ("gift wrap", 'said "thanks!"', "deliver after 5pm,\nback door", "  ", "Zürich order")


def half_up(value: Decimal) -> Decimal:
    """Round to the cent, halves away from zero (the brief's rounding)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Row:
    """One logical row of an export before it is written in the channel's dialect."""

    id: str
    type: str
    ref: str
    sold_at: datetime
    amount: Decimal
    currency: str
    region: str
    party: str = ""
    note: str = ""
    raw: dict[str, str] = field(default_factory=dict)  # values to write as they are (bad rows)


@dataclass(frozen=True)
class Dialect:
    """How a channel writes its export."""

    encoding: str
    delimiter: str
    decimal_comma: bool

    def stamp(self, channel: str, when: datetime) -> str:
        """`sold_at` as the channel writes it."""
        if channel == "web":
            return when.isoformat().replace("+00:00", "Z")
        if channel == "market":
            return when.astimezone(BERLIN).strftime("%d.%m.%Y %H:%M")
        return when.astimezone(DUBLIN).strftime("%Y-%m-%d %H:%M")

    def money(self, amount: Decimal, grouped: bool = False) -> str:
        """An amount as the channel writes it (market: decimal comma, maybe grouped)."""
        text = f"{amount:,.2f}" if grouped else f"{amount:.2f}"
        if not self.decimal_comma:
            return text.replace(",", "")
        return text.replace(",", "_").replace(".", ",").replace("_", ".")


DIALECTS = {
    "web": Dialect("utf-8", ",", False),
    "market": Dialect("utf-8-sig", ";", True),
    "popup": Dialect("cp1252", ",", False),
}


@dataclass
class Export:
    """One file of one channel for one day, written in that channel's dialect."""

    channel: str
    day: date
    rows: list[Row] = field(default_factory=list)
    columns: tuple[str, ...] = ()  # header order; empty means the standard one
    pad: bool = False  # stray whitespace around values
    quote_all: bool = False  # some exporters quote every field

    @property
    def name(self) -> str:
        return f"{self.channel}-{self.day.isoformat()}.csv"

    def header(self) -> tuple[str, ...]:
        """The columns in the order this file writes them."""
        party = PARTY[self.channel]
        return self.columns or (COLUMNS + ((party,) if party else ()))

    def render(self) -> bytes:
        """The file's bytes."""
        dialect = DIALECTS[self.channel]
        out = io.StringIO(newline="")
        writer = csv.writer(
            out,
            delimiter=dialect.delimiter,
            lineterminator="\r\n",
            quoting=csv.QUOTE_ALL if self.quote_all else csv.QUOTE_MINIMAL,
        )
        header = self.header()
        writer.writerow(header)
        for row in self.rows:
            values = self.values(row, dialect)
            writer.writerow([values.get(col, "") for col in header])
        return out.getvalue().encode(dialect.encoding)

    def values(self, row: Row, dialect: Dialect) -> dict[str, str]:
        """A row's fields as text, in the dialect (and padded when the file is messy)."""
        party = PARTY[self.channel]
        values = {
            "id": row.id,
            "type": row.type,
            "ref": row.ref,
            "sold_at": dialect.stamp(self.channel, row.sold_at),
            "amount": dialect.money(row.amount, grouped=row.amount >= 1000),
            "currency": row.currency,
            "region": row.region,
            "note": row.note,
        }
        if party:
            values[party] = row.party
        values.update(row.raw)
        if self.pad:
            values = {k: f" {v} " if k != "note" and v else v for k, v in values.items()}
        return values


def rates_file(rates: dict[str, Decimal]) -> bytes:
    """A day's exchange rates: EUR per unit of each currency."""
    lines = ["currency,eur_per_unit"] + [f"{c},{r}" for c, r in sorted(rates.items())]
    return ("\n".join(lines) + "\n").encode()


@dataclass
class Ledger:
    """What a correct job reports, worked out from the logical rows (the oracle)."""

    rates: dict[date, dict[str, Decimal]]
    revenue: dict[tuple[str, str, str], Decimal] = field(
        default_factory=lambda: defaultdict(Decimal)
    )
    gross: dict[tuple[str, str], Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    sales: dict[tuple[str, str], tuple[date, str, str]] = field(default_factory=dict)
    seen: set[tuple[str, str]] = field(default_factory=set)
    counts: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))

    def take(self, file: str, channel: str, row: Row, fate: str) -> None:
        """Book a row whose fate the generator chose: accepted, duplicate, or a reason."""
        self.counts[file]["read"] += 1
        if fate != "accepted":
            self.counts[file]["duplicates" if fate == "duplicate" else "quarantined"] += 1
            return
        self.counts[file]["accepted"] += 1
        self.seen.add((channel, row.id))
        if row.type == "sale":
            day = row.sold_at.astimezone(DUBLIN).date()
            self.sales[(channel, row.id)] = (day, row.region, row.party)
            self._book(channel, day, row.region, row.party, row.amount, row.currency)
            return
        day, region, party = self.sales[(channel, row.ref)]
        signed = -row.amount if row.type == "refund" else row.amount
        self._book(channel, day, region, party, signed, row.currency)

    def _book(
        self, channel: str, day: date, region: str, party: str, amount: Decimal, currency: str
    ) -> None:
        eur = half_up(amount * self.rates[day][currency])
        self.revenue[(day.isoformat(), channel, region)] += eur
        if channel == "market":
            self.gross[(day.isoformat(), party)] += eur

    def revenue_rows(self) -> list[dict[str, str]]:
        """revenue.csv as a correct job writes it."""
        return [
            {"day": d, "channel": c, "region": r, "revenue_eur": f"{v:.2f}"}
            for (d, c, r), v in sorted(self.revenue.items())
        ]

    def payout_rows(self) -> list[dict[str, str]]:
        """payouts.csv as a correct job writes it."""
        rows = []
        for (day, seller), gross in sorted(self.gross.items()):
            commission = half_up(gross * COMMISSION)
            rows.append(
                {
                    "day": day,
                    "seller": seller,
                    "gross_eur": f"{gross:.2f}",
                    "commission_eur": f"{commission:.2f}",
                    "net_eur": f"{gross - commission:.2f}",
                }
            )
        return rows


@dataclass
class Dataset:
    """The input files and the oracle's answer."""

    files: dict[str, bytes]
    ledger: Ledger
    last_day: date


def day_rates(rng: random.Random) -> dict[str, Decimal]:
    """One day's rates, six decimals (EUR itself is always 1)."""
    base = {"GBP": 1.17, "USD": 0.92, "PLN": 0.233}
    rates = {c: Decimal(f"{b * rng.uniform(0.98, 1.02):.6f}") for c, b in base.items()}
    return {"EUR": Decimal(1), **rates}


class Generator:
    """Deterministic messy exports: the same seed always gives the same bytes."""

    def __init__(self, seed: int, start: date = date(2026, 6, 1)) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - reproducible data, not secrets
        self.start = start
        self.serial = 0

    def stamp(self, day: date) -> datetime:
        """A moment on `day` in Dublin, some late in the evening (next day in other zones)."""
        minute = self.rng.choice((self.rng.randrange(8 * 60, 22 * 60), 23 * 60 + 30, 15))
        local = datetime(day.year, day.month, day.day, tzinfo=DUBLIN) + timedelta(minutes=minute)
        return local.astimezone(UTC)

    def sale(self, channel: str, day: date) -> Row:
        """A plausible sale."""
        self.serial += 1
        party = {"market": SELLERS, "popup": STORES}.get(channel, ("",))
        return Row(
            id=f"{channel[0].upper()}{self.serial:07d}",
            type="sale",
            ref="",
            sold_at=self.stamp(day),
            amount=Decimal(self.rng.randrange(100, 150_000)) / 100,
            currency=self.rng.choice(CURRENCIES),
            region=self.rng.choice(REGIONS),
            party=self.rng.choice(party),
            note=self.rng.choice(NOTES) if self.rng.random() < 0.1 else "",
        )

    def follow_up(self, original: Row, day: date) -> Row:
        """A refund or correction of an earlier sale, arriving on `day`."""
        self.serial += 1
        kind = self.rng.choice(("refund", "correction"))
        amount = (
            original.amount if kind == "refund" else Decimal(self.rng.randrange(-500, 500)) / 100
        )
        return Row(
            f"{original.id[0]}{self.serial:07d}",
            kind,
            original.id,
            self.stamp(day),
            amount,
            original.currency,
            original.region,
            original.party,
        )

    def bad(self, row: Row) -> tuple[Row, str]:
        """A row that must be quarantined, and the reason a correct job gives."""
        reason = self.rng.choice(
            ("bad_amount", "bad_timestamp", "unknown_currency", "missing_value")
        )
        raw = {
            "bad_amount": {"amount": "12,3,4"},
            "bad_timestamp": {"sold_at": "yesterday"},
            "unknown_currency": {"currency": "XBT"},
            "missing_value": {"region": ""},
        }[reason]
        return Row(**{**row.__dict__, "raw": raw}), reason

    def dataset(self, days: int = 3, per_day: int = 40) -> Dataset:
        """A few days of all three channels, with every kind of mess, and the answer."""
        last = self.start + timedelta(days=days - 1)
        rates = {self.start + timedelta(days=i): day_rates(self.rng) for i in range(-1, days + 1)}
        ledger = Ledger(rates)
        files = {f"rates/{d.isoformat()}.csv": rates_file(r) for d, r in rates.items()}
        earlier: dict[str, list[Row]] = defaultdict(list)
        for offset in range(days):
            day = self.start + timedelta(days=offset)
            for channel in DIALECTS:
                export = self.export(channel, day, per_day, earlier[channel], ledger)
                files[export.name] = export.render()
        return Dataset(files, ledger, last)

    def export(
        self, channel: str, day: date, per_day: int, earlier: list[Row], ledger: Ledger
    ) -> Export:
        """One channel's file for a day, its rows booked into the ledger as they are chosen."""
        export = Export(channel, day, pad=self.rng.random() < 0.5)
        if self.rng.random() < 0.3:  # schema drift: a note column, columns reordered
            header = [*export.header(), "note"]
            self.rng.shuffle(header)
            export.columns = tuple(header)
        fresh: list[Row] = []
        for _ in range(per_day):
            row, fate = self.next_row(channel, day, earlier, fresh)
            export.rows.append(row)
            ledger.take(export.name, channel, row, fate)
        earlier.extend(r for r in fresh)
        return export

    def next_row(
        self, channel: str, day: date, earlier: list[Row], fresh: list[Row]
    ) -> tuple[Row, str]:
        roll = self.rng.random()
        if roll < 0.08 and (earlier or fresh):  # a re-export, or a repeat in the same file
            pick = self.rng.randrange(len(earlier) + len(fresh))
            seen = earlier[pick] if pick < len(earlier) else fresh[pick - len(earlier)]
            return seen, "duplicate"
        if roll < 0.16 and earlier:
            return self.follow_up(self.rng.choice(earlier), day), "accepted"
        if roll < 0.22:
            return self.bad(self.sale(channel, day))
        row = self.sale(channel, day)
        fresh.append(row)
        return row, "accepted"


def generate(seed: int, days: int = 3, per_day: int = 40) -> Dataset:
    """Messy exports for `days` days from 2026-06-01, and what a correct job reports."""
    return Generator(seed).dataset(days, per_day)


def write_large(folder: Path, seed: int, rows: int, day: date = date(2026, 6, 1)) -> Counter[str]:
    """One web export of `rows` sales (and its rates) streamed to `folder`; the revenue per
    region the job must report, in cents. Memory stays flat however many rows."""
    gen = Generator(seed, day)
    rates = day_rates(gen.rng)
    (folder / "rates").mkdir(parents=True, exist_ok=True)
    for offset in (-1, 0, 1):
        (folder / "rates" / f"{(day + timedelta(days=offset)).isoformat()}.csv").write_bytes(
            rates_file(rates)
        )
    totals: Counter[str] = Counter()
    with (folder / Export("web", day).name).open("w", newline="", encoding="utf-8") as out:
        out.write(",".join(COLUMNS) + "\r\n")
        for row in _large_rows(gen, day, rows):
            stamp = row.sold_at.isoformat().replace("+00:00", "Z")
            out.write(f"{row.id},sale,,{stamp},{row.amount:.2f},{row.currency},{row.region}\r\n")
            key = f"{row.sold_at.astimezone(DUBLIN).date().isoformat()},{row.region}"
            totals[key] += int(half_up(row.amount * rates[row.currency]) * 100)
    return totals


def _large_rows(gen: Generator, day: date, rows: int) -> Iterator[Row]:
    for _ in range(rows):
        yield gen.sale("web", day)


def csv_rows(data: Iterable[dict[str, str]]) -> list[dict[str, str]]:
    """Rows as plain dicts (for comparing with what a job wrote)."""
    return [dict(r) for r in data]


def sample(seed: int) -> dict[str, bytes]:
    """The public sample a candidate's kit carries: `input/` (a few messy days) and
    `expected/` (what a correct job writes for them, and the counts per file)."""
    data = generate(seed, days=3, per_day=40)
    found = {f"input/{name}": body for name, body in data.files.items()}
    found["expected/revenue.csv"] = _csv(data.ledger.revenue_rows())
    found["expected/payouts.csv"] = _csv(data.ledger.payout_rows())
    counts = {
        name: {k: c.get(k, 0) for k in ("read", "accepted", "quarantined", "duplicates")}
        for name, c in sorted(data.ledger.counts.items())
    }
    summary = {"date": data.last_day.isoformat(), "files": counts}
    found["expected/summary.json"] = (json.dumps(summary, indent=2, sort_keys=True) + "\n").encode()
    return found


def _csv(rows: list[dict[str, str]]) -> bytes:
    lines = [",".join(rows[0])] if rows else []
    lines += [",".join(r.values()) for r in rows]
    return ("\n".join(lines) + "\n").encode()


def large(folder: Path, seed: int, rows: int) -> dict[str, Any]:
    """The scale measurement's day (one web export of `rows` sales), and the answer to judge
    the job's outputs by: the day to close, and the revenue per day and region in cents."""
    return {"date": "2026-06-01", "revenue_cents": dict(write_large(folder, seed, rows))}


def judge_large(answer: dict[str, Any], outputs: dict[str, bytes]) -> str | None:
    """What is wrong with the job's outputs for the scale day; None when they are right."""
    text = outputs.get("revenue.csv", b"").decode("utf-8", "replace")
    got = {
        f"{r.get('day')},{r.get('region')}": r.get("revenue_eur")
        for r in csv.DictReader(io.StringIO(text))
        if r.get("channel") == "web"
    }
    for key, cents in sorted(answer["revenue_cents"].items()):
        wanted = f"{cents / 100:.2f}"
        if got.get(key) != wanted:
            return f"revenue.csv: web revenue for {key} is {got.get(key)}, expected {wanted}"
    return None


def durability(seed: int) -> tuple[dict[str, bytes], str]:
    """The durability probe's dataset (a week of busy days, every kind of mess) and its date:
    long enough a run that a kill lands while it reads, books and writes."""
    data = generate(seed, days=7, per_day=3000)
    return data.files, data.last_day.isoformat()


REASONS = {
    "bad_row", "missing_value", "unknown_type", "bad_timestamp", "bad_amount",
    "unknown_currency", "no_rate", "unknown_original", "missing_column",
}  # fmt: skip
JUNK = (
    "", " ", "1.234,50", "12,3,4", "ten", "-0", "1e3", "NaN", "０", '"', "'", "\n", "\r\n", ";",
    ",", "Café", "€", "\t", "sale", "refund", "correction", "EUR", "XBT", "2026-06-01",
    "2026-06-01T23:15:00Z", "01.06.2026 23:30", "2026-06-01 23:30", "31.02.2026 10:00",
    "9" * 30, "W0000001",
)  # fmt: skip


def fuzz_inputs(seed: int) -> Any:
    """A hypothesis strategy of messy single-file inputs for the input probe: rows mixing
    plausible values with junk, in the channel's encoding; each example says how many records
    the file holds, so a job's counts can be held to it."""
    from hypothesis import strategies as st

    def example(channel: str, rows: list[list[str]]) -> dict[str, Any]:
        export = Export(channel, date(2026, 6, 1))
        dialect = DIALECTS[channel]
        out = io.StringIO(newline="")
        writer = csv.writer(out, delimiter=dialect.delimiter, lineterminator="\r\n")
        writer.writerow(export.header())
        writer.writerows(row[: len(export.header())] for row in rows)
        files = {f"rates/{d}.csv": rates_file(day_rates(Generator(seed).rng)) for d in (
            "2026-05-31", "2026-06-01", "2026-06-02")}  # fmt: skip
        files[export.name] = out.getvalue().encode(dialect.encoding, errors="replace")
        return {"files": files, "date": "2026-06-01", "file": export.name, "records": len(rows)}

    good = Generator(seed)
    plausible = [good.sale("web", date(2026, 6, 1)) for _ in range(5)]
    valid = [v for row in plausible for v in Export("web", date(2026, 6, 1)).values(
        row, DIALECTS["web"]).values() if v]  # fmt: skip
    field_ = st.one_of(
        st.sampled_from(valid),
        st.sampled_from(JUNK),
        st.text(st.characters(codec="cp1252"), max_size=8),
    )
    row = st.lists(field_, min_size=8, max_size=8)
    return st.builds(
        example, st.sampled_from(sorted(DIALECTS)), st.lists(row, min_size=1, max_size=25)
    )


def judge_fuzz(example: dict[str, Any], outputs: dict[str, bytes]) -> list[tuple[str, str]]:
    """(kind, what) for each way the outputs fail the brief on a fuzzed input: `lost` when the
    counts do not account for every record, `unexplained` when a rejected row has no reason."""
    name, records = example["file"], example["records"]
    try:
        counts = json.loads(outputs.get("summary.json", b"")).get("files", {}).get(name)
    except (ValueError, AttributeError):
        return [("lost", "summary.json is missing or not a JSON object")]
    if not isinstance(counts, dict):
        return [("lost", f"summary.json has no counts for {name}")]
    parts = [counts.get(k) for k in ("accepted", "quarantined", "duplicates")]
    problems = []
    if counts.get("read") != records or sum(p for p in parts if isinstance(p, int)) != records:
        problems.append(("lost", f"{name} holds {records} records; summary.json says {counts}"))
    text = outputs.get("quarantine.csv", b"").decode("utf-8", "replace")
    rows = [r for r in csv.DictReader(io.StringIO(text)) if r.get("file") == name]
    bad = [r for r in rows if r.get("reason") not in REASONS]
    if bad or len(rows) != counts.get("quarantined"):
        problems.append(
            ("unexplained", f"{len(rows)} quarantined rows listed for {name}, "
             f"{counts.get('quarantined')} counted, {len(bad)} without a known reason")
        )  # fmt: skip
    return problems
