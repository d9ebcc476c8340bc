"""Where change meets complexity: per-file activity, hotspots, their trend, temporal coupling.

Coupling is code-maat's logical coupling: over the commits in the window that touch at most
`max_changeset_size` files, each file's revisions and each pair's shared revisions; the degree
is shared revisions over the pair's average revisions (as a whole percentage), and a pair is
kept when its average revisions, shared revisions and degree reach the minimums (code-maat's
defaults: 5, 5, 30%). Support (the share of those commits that change both) and confidence
(the share of one file's commits that also change the other) are the association-rule views
of the same counts.
"""

from __future__ import annotations

import ast
import datetime as dt
import math
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import combinations

from proofwork.analysis import complexity
from proofwork.analysis.sources import count_code_lines
from proofwork.audit.git import Git, GitError
from proofwork.audit.lineage import Changeset, FileLineage


@dataclass(frozen=True)
class Activity:
    """One file's changes in the window."""

    path: str
    changes: int
    authors: int
    last_change: int | None  # Unix time


def activity(lineage: FileLineage, since: int) -> Activity:
    """Changes, distinct authors and last change of one file from `since` on."""
    recent = [t for t in lineage.touches if t.time >= since]
    last = recent[0].time if recent else None
    return Activity(lineage.path, len(recent), len({t.author for t in recent}), last)


@dataclass(frozen=True)
class CodeSize:
    """What the static measures say about one Python file."""

    complexity: int  # sum of the cyclomatic complexity of its functions
    lines: int  # code lines
    functions: int


def measure_text(text: str, path: str) -> CodeSize | None:
    """Complexity and size of Python source text; None if it does not parse."""
    try:
        tree = ast.parse(text, filename=path)
        found = complexity.functions(tree, path)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    return CodeSize(sum(f.cyclomatic for f in found), count_code_lines(text), len(found))


@dataclass
class Hotspot:
    path: str
    changes: int
    authors: int
    complexity: int
    lines: int
    score: int  # changes x complexity
    trend: list[tuple[str, int | None]] = field(default_factory=list)  # (date, complexity)


def rank_hotspots(
    activities: Sequence[Activity], sizes: dict[str, CodeSize], limit: int = 20
) -> list[Hotspot]:
    """Files by change frequency x complexity, highest first (changed, measurable files only)."""
    found = [
        Hotspot(a.path, a.changes, a.authors, sizes[a.path].complexity, sizes[a.path].lines, 0)
        for a in activities
        if a.changes and a.path in sizes
    ]
    for spot in found:
        spot.score = spot.changes * spot.complexity
    found = [spot for spot in found if spot.score]  # a file without functions is no hotspot
    found.sort(key=lambda h: (-h.score, -h.changes, h.path))
    return found[:limit]


@dataclass(frozen=True)
class Coupling:
    first: str
    second: str
    shared: int  # commits changing both
    revisions_first: int
    revisions_second: int
    degree: int  # code-maat: shared / average revisions, whole percent
    average_revisions: int  # code-maat: rounded up
    support: float  # shared / commits considered
    confidence_first: float  # P(second changes | first changes)
    confidence_second: float  # P(first changes | second changes)


@dataclass(frozen=True)
class CouplingOptions:
    """code-maat's defaults."""

    min_revisions: int = 5
    min_shared: int = 5
    min_degree: int = 30
    max_degree: int = 100
    max_changeset_size: int = 30


def coupling(
    changesets: Sequence[Changeset], since: int, options: CouplingOptions = CouplingOptions()
) -> list[Coupling]:
    """Pairs of files that change together, strongest first."""
    kept = [c for c in changesets if c.time >= since and c.size <= options.max_changeset_size]
    revisions: Counter[str] = Counter()
    shared: Counter[tuple[str, str]] = Counter()
    for changeset in kept:
        files = sorted(changeset.files)
        revisions.update(files)
        shared.update(combinations(files, 2))
    pairs = []
    for (first, second), together in shared.items():
        average = (revisions[first] + revisions[second]) / 2
        degree = together / average * 100
        if (
            average >= options.min_revisions
            and together >= options.min_shared
            and degree >= options.min_degree
            and math.floor(degree) <= options.max_degree
        ):
            pairs.append(
                Coupling(
                    first,
                    second,
                    together,
                    revisions[first],
                    revisions[second],
                    int(degree),
                    math.ceil(average),
                    round(together / len(kept), 4),
                    round(together / revisions[first], 4),
                    round(together / revisions[second], 4),
                )
            )
    pairs.sort(key=lambda c: (-c.degree, -c.shared, c.first, c.second))
    return pairs


def sample_times(start: int, end: int, samples: int) -> list[int]:
    """`samples` evenly spaced moments from `start` to `end`, both included."""
    if samples < 2 or end <= start:
        return [end]
    step = (end - start) / (samples - 1)
    return [round(start + i * step) for i in range(samples)]


def revision_at(changesets: Sequence[Changeset], moment: int) -> Changeset | None:
    """The newest commit made at or before `moment` (changesets are newest first)."""
    return next((c for c in changesets if c.time <= moment), None)


def path_at(lineage: FileLineage, moment: int) -> str | None:
    """The name the file had at `moment`, or None if it did not exist yet."""
    touch = next((t for t in lineage.touches if t.time <= moment), None)
    return touch.path if touch is not None else None


def complexity_trend(
    git: Git,
    spots: Sequence[Hotspot],
    lineages: dict[str, FileLineage],
    changesets: Sequence[Changeset],
    moments: Sequence[int],
) -> None:
    """Fill each hotspot's trend: its complexity at the commit current at each moment."""
    requests: list[tuple[Hotspot, int, str | None]] = []
    for spot in spots:
        for moment in moments:
            commit = revision_at(changesets, moment)
            path = path_at(lineages[spot.path], moment)
            spec = f"{commit.sha}:{path}" if commit and path and "\n" not in path else None
            requests.append((spot, moment, spec))
    wanted = [spec for _, _, spec in requests if spec]
    texts = _blobs(git, wanted)
    for spot, moment, spec in requests:
        size = measure_text(texts[spec], spot.path) if spec and spec in texts else None
        day = _day(moment)
        spot.trend.append((day, size.complexity if size else None))


def _blobs(git: Git, specs: list[str]) -> dict[str, str]:
    """Contents of `rev:path` blobs, read in one `git cat-file --batch`."""
    if not specs:
        return {}
    try:
        out = git.run(["cat-file", "--batch"], stdin=b"".join(os.fsencode(f"{s}\n") for s in specs))
    except GitError:
        return {}
    texts: dict[str, str] = {}
    position = 0
    for spec in specs:
        end = out.index(b"\n", position)
        header = out[position:end].split()
        position = end + 1
        if len(header) == 3 and header[1] == b"blob":
            size = int(header[2])
            texts[spec] = out[position : position + size].decode("utf-8", errors="replace")
            position += size + 1
    return texts


def _day(moment: int) -> str:
    return dt.datetime.fromtimestamp(moment, dt.UTC).date().isoformat()
