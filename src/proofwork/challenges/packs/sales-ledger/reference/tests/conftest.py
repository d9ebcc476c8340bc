from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from ledger.cli import main
from ledger.logs import Log

RATES = "currency,eur_per_unit\nGBP,1.170000\nUSD,0.500000\n"
HEADERS = {
    "web": "id,type,ref,sold_at,amount,currency,region",
    "market": "id;type;ref;sold_at;amount;currency;region;seller",
    "popup": "id,type,ref,sold_at,amount,currency,region,store",
}
ENCODINGS = {"web": "utf-8", "market": "utf-8-sig", "popup": "cp1252"}


class Run:
    """A ledger run on files written by the test; its outputs read back."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.input = root / "in"
        (self.input / "rates").mkdir(parents=True)
        for day in ("2026-06-01", "2026-06-02", "2026-06-03"):
            (self.input / "rates" / f"{day}.csv").write_text(RATES)
        self.log = io.StringIO()
        self.exit_code: int | None = None

    def export(self, channel: str, day: str, *rows: str, header: str | None = None) -> str:
        name = f"{channel}-{day}.csv"
        text = "\r\n".join([header or HEADERS[channel], *rows]) + "\r\n"
        (self.input / name).write_bytes(text.encode(ENCODINGS[channel]))
        return name

    def __call__(self, date: str = "2026-06-03") -> Run:
        argv = ["--input", str(self.input), "--output", str(self.root / "out"), "--date", date]
        self.exit_code = main(argv, Log(self.log))
        return self

    def rows(self, name: str) -> list[list[str]]:
        return [line.split(",") for line in (self.root / "out" / name).read_text().splitlines()[1:]]

    def revenue(self) -> dict[tuple[str, str, str], str]:
        return {(d, c, r): v for d, c, r, v in self.rows("revenue.csv")}

    def summary(self) -> dict[str, object]:
        loaded: dict[str, object] = json.loads((self.root / "out" / "summary.json").read_text())
        return loaded

    def events(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in self.log.getvalue().splitlines()]


@pytest.fixture
def ledger(tmp_path: Path) -> Callable[[], Run]:
    return lambda: Run(tmp_path)
