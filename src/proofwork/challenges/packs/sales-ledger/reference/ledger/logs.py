"""Structured logs: one JSON object per line on stderr, so the nightly run can be watched."""

from __future__ import annotations

import json
import sys
import time
from typing import Any, TextIO

PROGRESS_EVERY = 50_000  # rows between progress lines


class Log:
    def __init__(self, stream: TextIO = sys.stderr) -> None:
        self.stream = stream
        self.started = time.monotonic()

    def event(self, name: str, level: str = "info", **fields: Any) -> None:
        """One log line: {"level", "event", "elapsed_s", ...fields}."""
        record = {"level": level, "event": name, "elapsed_s": round(self.elapsed_s, 3), **fields}
        self.stream.write(json.dumps(record, default=str) + "\n")
        self.stream.flush()

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self.started
