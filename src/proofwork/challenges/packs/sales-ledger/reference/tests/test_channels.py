from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from ledger.channels import CHANNELS, TimestampError, business_day, exports


def test_web_times_need_an_offset() -> None:
    moment = CHANNELS["web"].moment("2026-06-01T23:15:00Z")
    assert business_day(moment) == date(2026, 6, 2)
    with pytest.raises(TimestampError):
        CHANNELS["web"].moment("2026-06-01T23:15:00")


def test_market_times_are_berlin_time() -> None:
    moment = CHANNELS["market"].moment("02.06.2026 00:30")
    assert moment.astimezone(UTC) == datetime(2026, 6, 1, 22, 30, tzinfo=UTC)
    assert business_day(moment) == date(2026, 6, 1)


def test_popup_times_are_dublin_time() -> None:
    assert business_day(CHANNELS["popup"].moment("2026-06-01 23:59")) == date(2026, 6, 1)
    with pytest.raises(TimestampError):
        CHANNELS["popup"].moment("01/06/2026 10:00")


def test_only_exports_up_to_the_date_count(tmp_path: Path) -> None:
    for name in ("web-2026-06-01.csv", "market-2026-06-02.csv", "popup-2026-06-03.csv", "notes.txt"):
        (tmp_path / name).write_text("")
    found, ignored = exports(tmp_path, date(2026, 6, 2))
    assert [(f.channel, f.day) for f in found] == [("web", date(2026, 6, 1)), ("market", date(2026, 6, 2))]
    assert [p.name for p in ignored] == ["notes.txt"]


def test_market_files_need_a_seller_column() -> None:
    assert "seller" in CHANNELS["market"].required
    assert "store" not in CHANNELS["popup"].required
