"""Which tests cover which lines, from the runner's instrumented run (OUT/map.json).

Only tests that passed on the original code can tell a mutant apart, so only they are kept as
candidates; each mutant's tests are ordered fastest first, so a kill comes as early as it can.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from proofwork.mutation.model import Kind, Mutant

# Durations are measured in the instrumented run, about three times slower than the children
# (which run without coverage), so twice the measured time is some six times the real one.
# Each test also pays a few milliseconds in a freshly forked child (its fixtures, first
# imports, copy-on-write faults) that a warm in-order run does not: 50 ms per test allows that.
TIMEOUT_FACTOR = 2.0
TIMEOUT_EXTRA_S = 0.5
TIMEOUT_PER_TEST_S = 0.05


class MapError(Exception):
    """The instrumented run's output is missing or malformed."""


@dataclass
class CoverageMap:
    tests: list[str] = field(default_factory=list)
    durations: list[float] = field(default_factory=list)
    passed: list[bool] = field(default_factory=list)
    lines: dict[str, dict[int, list[int]]] = field(default_factory=dict)
    exit_code: int = 0

    @classmethod
    def from_json(cls, raw: bytes) -> CoverageMap:
        """Parse OUT/map.json, checking its shape (it comes from inside the sandbox)."""
        try:
            data = json.loads(raw)
            tests = [(str(t[0]), float(t[1]), bool(t[2])) for t in data["tests"]]
            lines = {
                str(path): {int(line): [int(i) for i in ids] for line, ids in by_line.items()}
                for path, by_line in data["files"].items()
            }
            exit_code = int(data["exit"])
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            raise MapError(f"unreadable map.json: {exc}") from exc
        indices = (i for by_line in lines.values() for ids in by_line.values() for i in ids)
        if any(i < 0 or i >= len(tests) for i in indices):
            raise MapError("map.json names a test it does not list")
        return cls(
            tests=[t[0] for t in tests],
            durations=[t[1] for t in tests],
            passed=[t[2] for t in tests],
            lines=lines,
            exit_code=exit_code,
        )

    def covering(self, mutant: Mutant) -> list[int]:
        """Passing tests that run the mutant's statement (any line of its file, for module
        level code, which runs at import, before any test), fastest first."""
        by_line = self.lines.get(mutant.path, {})
        if mutant.kind is Kind.MODULE:
            found: set[int] = {i for ids in by_line.values() for i in ids}
        else:
            found = set(by_line.get(mutant.stmt_line, []))
        usable = [i for i in found if self.passed[i]]
        return sorted(usable, key=lambda i: (self.durations[i], self.tests[i]))

    def timeout_s(self, tests: list[int]) -> float:
        """How long a mutant may take: a multiple of its tests' measured time, plus a second."""
        measured = sum(self.durations[i] for i in tests)
        return TIMEOUT_FACTOR * measured + TIMEOUT_EXTRA_S + TIMEOUT_PER_TEST_S * len(tests)


def plan_entry(mutant: Mutant, rank: int, tests: list[int], timeout_s: float) -> dict[str, Any]:
    """One mutant as the runner's plan lists it."""
    return {**mutant.to_plan(), "rank": rank, "tests": tests, "timeout_s": round(timeout_s, 3)}
