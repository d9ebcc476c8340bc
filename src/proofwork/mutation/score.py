"""The mutation score, its error bar, and which functions' tests let the most bugs through.

Beside the score, the share of caught mutants that a test caught with an assertion (rather
than because the mutated code raised, or ran past its time): a suite that only checks that
results are not None catches many mutants by exception and few by assertion.

Score = (killed + timeout) / (killed + timeout + survived + not covered). A mutant no test runs
is a bug the suite would not notice, so it counts against the score (mutmut lists such mutants
apart as "no tests"; the benchmark compares both tools on this same formula). Mutants that could
not be judged (errors) are left out of both sides and reported.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from proofwork.mutation.model import Caught, Outcome, Result
from proofwork.mutation.sampling import wilson

CAUGHT = (Outcome.KILLED, Outcome.TIMEOUT)
JUDGED = (Outcome.KILLED, Outcome.TIMEOUT, Outcome.SURVIVED, Outcome.NOT_COVERED)


def assertion_percent(results: Iterable[Result]) -> float | None:
    """Share of caught mutants (killed or timed out) caught by a failed assertion, 0-100;
    None when nothing was caught."""
    caught = [r for r in results if r.outcome in CAUGHT]
    by_assertion = sum(r.caught is Caught.ASSERTION for r in caught)
    return round(100.0 * by_assertion / len(caught), 2) if caught else None


@dataclass(frozen=True)
class Score:
    """Counts over the judged sample, the score and its 95% interval (percent)."""

    counts: Counter[Outcome]
    total: int  # mutants generated (after dropping equivalent and duplicate ones)
    sampled: int  # mutants in the sample (all of them when exact)
    by_assertion: float | None = None  # see `assertion_percent`
    # (score, low, high) in percent when the sample spans tiers (see `tiered_score`)
    weighted: tuple[float, float, float] | None = None

    @property
    def judged(self) -> int:
        """Mutants that count in the score."""
        return sum(self.counts[o] for o in JUDGED)

    @property
    def caught(self) -> int:
        """Killed plus timed out."""
        return sum(self.counts[o] for o in CAUGHT)

    @property
    def exact(self) -> bool:
        """Every mutant was judged: the score has no sampling error."""
        return self.sampled >= self.total

    @property
    def percent(self) -> float:
        """The score, 0-100 (0 when nothing could be judged)."""
        if self.weighted is not None:
            return round(self.weighted[0], 2)
        return round(100.0 * self.caught / self.judged, 2) if self.judged else 0.0

    @property
    def ci95(self) -> tuple[float, float]:
        """95% Wilson interval in percent; low == high == score when exact."""
        if self.exact or not self.judged:
            return self.percent, self.percent
        if self.weighted is not None:
            return round(self.weighted[1], 2), round(self.weighted[2], 2)
        errors = self.counts[Outcome.ERROR]
        low, high = wilson(self.caught, self.judged, population=self.total - errors)
        return round(100 * low, 2), round(100 * high, 2)


def score(results: Iterable[Result], *, total: int) -> Score:
    """Score a sample of results drawn from `total` mutants."""
    listed = list(results)
    counts = Counter(r.outcome for r in listed)
    return Score(counts, total=total, sampled=len(listed), by_assertion=assertion_percent(listed))


def tiered_score(results: Sequence[Result], sizes: Sequence[int]) -> Score:
    """Score a sample judged tier after tier (`sampling.tiered_order`): `results` are the first
    mutants of the tiers' joined order, `sizes` each tier's number of mutants. The score covers
    the tiers reached: each tier's own score (exact when judged in full, else a sample with its
    interval), weighed by its mutants. Tiers the run did not reach are not in it."""
    parts: list[Score] = []
    start = 0
    for size in sizes:
        part = results[start : start + size]
        start += size
        if part:
            parts.append(score(part, total=size))
    if len(parts) <= 1:
        return parts[0] if parts else score([], total=sum(sizes))
    counts: Counter[Outcome] = sum((p.counts for p in parts), Counter())
    weighed = [(p.total - p.counts[Outcome.ERROR], p) for p in parts if p.judged]
    return Score(
        counts,
        total=sum(p.total for p in parts),
        sampled=len(results),
        by_assertion=assertion_percent(results),
        weighted=_weighted(weighed),
    )


def _weighted(weighed: list[tuple[int, Score]]) -> tuple[float, float, float] | None:
    """Score, low and high over tiers, each tier's figures weighed by its mutants."""
    population = sum(w for w, _ in weighed)
    if not population:
        return None
    caught = sum(w * p.caught / p.judged for w, p in weighed)
    low = sum(w * p.ci95[0] for w, p in weighed)
    high = sum(w * p.ci95[1] for w, p in weighed)
    return 100.0 * caught / population, low / population, high / population


@dataclass
class FunctionTally:
    """How one function's planted bugs fared."""

    path: str
    name: str  # e.g. "orders.total"
    results: list[Result] = field(default_factory=list)

    @property
    def unnoticed(self) -> int:
        """Survived or not covered: bugs the suite would ship."""
        return sum(r.outcome in (Outcome.SURVIVED, Outcome.NOT_COVERED) for r in self.results)

    @property
    def judged(self) -> int:
        """Results that count (errors left out)."""
        return sum(r.outcome in JUDGED for r in self.results)

    @property
    def survivors(self) -> list[Result]:
        """Survivors in source order."""
        found = [r for r in self.results if r.outcome is Outcome.SURVIVED]
        return sorted(found, key=lambda r: (r.mutant.line, r.mutant.column, r.mutant.id))

    @property
    def caught(self) -> int:
        """Killed plus timed out."""
        return sum(r.outcome in CAUGHT for r in self.results)

    @property
    def by_assertion(self) -> float | None:
        """Share of its caught mutants caught by an assertion (see `assertion_percent`)."""
        return assertion_percent(self.results)

    @property
    def line(self) -> int:
        """First line of the function's mutants."""
        return min(r.mutant.line for r in self.results)


def by_function(results: Iterable[Result]) -> list[FunctionTally]:
    """Results grouped by enclosing function, worst-tested first (most bugs unnoticed, then
    highest share unnoticed, then place)."""
    groups: dict[tuple[str, str], FunctionTally] = {}
    for result in results:
        mutant = result.mutant
        key = (mutant.path, mutant.function)
        if key not in groups:
            groups[key] = FunctionTally(
                mutant.path, f"{PurePosixPath(mutant.path).stem}.{mutant.function}"
            )
        groups[key].results.append(result)
    return sorted(
        groups.values(),
        key=lambda t: (-t.unnoticed, -(t.unnoticed / max(t.judged, 1)), t.path, t.line),
    )
