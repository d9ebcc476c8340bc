"""One export row read, checked and normalised, or rejected with a reason."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from ledger.channels import Channel, TimestampError, business_day
from ledger.money import AmountError, parse_amount

TYPES = ("sale", "refund", "correction")


@dataclass(frozen=True)
class Entry:
    """An accepted row: a sale, or a refund/correction of the sale named in `ref`."""

    channel: str
    id: str
    type: str
    ref: str
    day: date
    amount: Decimal
    currency: str
    region: str
    party: str


class Rejected(Exception):
    """A row that cannot be booked; `reason` is one of the brief's codes."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def read_rows(channel: Channel, path: Path) -> Iterator[tuple[int, dict[str, str] | str]]:
    """(row number, fields by column) for each record, or (row number, reason) for a record
    that cannot be read; streaming, so a file of any size reads in constant memory."""
    with path.open(encoding=channel.encoding, newline="") as handle:
        reader = csv.reader(handle, delimiter=channel.delimiter)
        header = [name.strip().lower() for name in next(reader, [])]
        missing = [name for name in channel.required if name not in header]
        for number, record in enumerate(reader, start=1):
            if missing:
                yield number, "missing_column"
            elif len(record) != len(header):
                yield number, "bad_row"
            else:
                yield number, {name: value.strip() for name, value in zip(header, record, strict=True)}


def entry(channel: Channel, fields: dict[str, str], known_currencies: set[str]) -> Entry:
    """The row as an Entry, or Rejected with the first reason that applies."""
    required = ["id", "type", "sold_at", "amount", "currency", "region"]
    if channel.party_column:
        required.append(channel.party_column)
    if fields.get("type") in ("refund", "correction"):
        required.append("ref")
    if any(not fields.get(name) for name in required):
        raise Rejected("missing_value")
    if fields["type"] not in TYPES:
        raise Rejected("unknown_type")
    try:
        moment = channel.moment(fields["sold_at"])
    except TimestampError:
        raise Rejected("bad_timestamp") from None
    try:
        amount = parse_amount(fields["amount"], decimal_comma=channel.decimal_comma)
    except AmountError:
        raise Rejected("bad_amount") from None
    if fields["currency"] not in known_currencies:
        raise Rejected("unknown_currency")
    return Entry(
        channel=channel.name,
        id=fields["id"],
        type=fields["type"],
        ref=fields.get("ref", ""),
        day=business_day(moment),
        amount=amount,
        currency=fields["currency"],
        region=fields["region"],
        party=fields.get(channel.party_column, "") if channel.party_column else "",
    )
