"""The three channels' export formats: file names, encodings, delimiters, number and time
notations, and the columns each must have."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

DUBLIN = ZoneInfo("Europe/Dublin")
BERLIN = ZoneInfo("Europe/Berlin")
EXPORT = re.compile(r"(?P<channel>web|market|popup)-(?P<day>\d{4}-\d{2}-\d{2})\.csv")
COMMON_COLUMNS = ("id", "type", "ref", "sold_at", "amount", "currency", "region")


class TimestampError(ValueError):
    """Not a moment in the channel's notation."""


@dataclass(frozen=True)
class Channel:
    name: str
    encoding: str
    delimiter: str
    decimal_comma: bool
    time_format: str | None  # None: ISO 8601 with an offset
    zone: ZoneInfo
    party_column: str | None = None

    @property
    def required(self) -> tuple[str, ...]:
        """Columns a file of this channel must have (in any order, others are ignored)."""
        return COMMON_COLUMNS + ((self.party_column,) if self.party_column else ())

    def moment(self, text: str) -> datetime:
        """When a row happened, as an aware datetime."""
        try:
            if self.time_format is None:
                moment = datetime.fromisoformat(text)
                if moment.tzinfo is None:
                    raise TimestampError(text)
                return moment
            return datetime.strptime(text, self.time_format).replace(tzinfo=self.zone)
        except ValueError as exc:
            raise TimestampError(text) from exc


CHANNELS = {
    "web": Channel("web", "utf-8-sig", ",", False, None, DUBLIN),
    "market": Channel("market", "utf-8-sig", ";", True, "%d.%m.%Y %H:%M", BERLIN, "seller"),
    "popup": Channel("popup", "cp1252", ",", False, "%Y-%m-%d %H:%M", DUBLIN),
}


def business_day(moment: datetime) -> date:
    """Finance closes the day in Dublin: a sale belongs to its Dublin calendar day."""
    return moment.astimezone(DUBLIN).date()


@dataclass(frozen=True, order=True)
class ExportFile:
    day: date
    channel: str
    path: Path


def exports(input_dir: Path, until: date) -> tuple[list[ExportFile], list[Path]]:
    """The channel exports dated up to `until`, in the order they arrived; and the files that
    are not exports (ignored, but worth a log line)."""
    found, unknown = [], []
    for path in sorted(p for p in input_dir.iterdir() if p.is_file()):
        match = EXPORT.fullmatch(path.name)
        if match is None:
            unknown.append(path)
            continue
        day = date.fromisoformat(match["day"])
        if day <= until:
            found.append(ExportFile(day, match["channel"], path))
    return sorted(found), unknown
