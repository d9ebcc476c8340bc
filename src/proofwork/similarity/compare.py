"""Pairs of submissions that share code beyond what the starter gave everyone.

A submission's fingerprints are those of all its Python files, minus every fingerprint of the
starter (and the pack's own files): code everyone received is nobody's copy. A pair's
similarity is the share of both submissions' fingerprints they have in common
(2·|A∩B| / (|A|+|B|), as Dolos reports it); the shared fingerprints, mapped back to lines and
merged into runs, are the matched regions shown side by side.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

from proofwork.analysis import sources
from proofwork.similarity.fingerprints import Document, Fingerprint, fingerprint

DEFAULT_THRESHOLD = 0.35
REGION_GAP = 3  # lines: matches this close together are one region
REGIONS_MAX = 40
REGION_LINES_MAX = 60


@dataclass
class Submission:
    name: str
    documents: list[Document] = field(default_factory=list)

    @property
    def hashes(self) -> set[int]:
        """Every fingerprint hash of the submission."""
        return {h for d in self.documents for h in d.prints}

    def lines(self, path: str) -> list[str]:
        """The text of one of its files, by line."""
        return next((d.lines for d in self.documents if d.path == path), [])


@dataclass(frozen=True)
class Region:
    a_path: str
    a_lines: tuple[int, int]
    b_path: str
    b_lines: tuple[int, int]
    a_text: str
    b_text: str

    def to_json(self) -> dict[str, object]:
        """Plain JSON form."""
        return {
            "a": {"path": self.a_path, "lines": list(self.a_lines), "text": self.a_text},
            "b": {"path": self.b_path, "lines": list(self.b_lines), "text": self.b_text},
        }


@dataclass
class Pair:
    a: str
    b: str
    similarity: float
    shared: int
    a_prints: int
    b_prints: int
    flagged: bool
    regions: list[Region] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        """Plain JSON form."""
        return {
            "a": self.a,
            "b": self.b,
            "similarity": round(self.similarity, 4),
            "shared_fingerprints": self.shared,
            "a_fingerprints": self.a_prints,
            "b_fingerprints": self.b_prints,
            "flagged": self.flagged,
            "regions": [r.to_json() for r in self.regions],
        }


def load(name: str, root: Path) -> Submission:
    """Fingerprint every Python file under `root` (tests too: copied tests are copied work)."""
    tree = sources.scan(root)
    return Submission(name, [fingerprint(f.path, f.text) for f in tree.files])


def subtract(submission: Submission, common: set[int]) -> Submission:
    """The submission without the fingerprints everyone was given."""
    kept = []
    for document in submission.documents:
        prints = {h: p for h, p in document.prints.items() if h not in common}
        kept.append(Document(document.path, document.lines, prints))
    return Submission(submission.name, kept)


def compare(
    submissions: list[Submission],
    starter: Submission | None = None,
    threshold: float = DEFAULT_THRESHOLD,
) -> list[Pair]:
    """Every pair, most similar first; pairs at or above `threshold` flagged, with regions."""
    given = starter.hashes if starter else set()
    own = [subtract(s, given) for s in submissions]
    pairs = [_pair(a, b, threshold) for a, b in combinations(own, 2)]
    return sorted(pairs, key=lambda p: (-p.similarity, p.a, p.b))


def _pair(a: Submission, b: Submission, threshold: float) -> Pair:
    left, right = a.hashes, b.hashes
    shared = left & right
    total = len(left) + len(right)
    similarity = 2 * len(shared) / total if total else 0.0
    flagged = similarity >= threshold and bool(shared)
    pair = Pair(a.name, b.name, similarity, len(shared), len(left), len(right), flagged)
    if flagged:
        pair.regions = regions(a, b, shared)
    return pair


def _first(submission: Submission, value: int) -> Fingerprint:
    return next(d.prints[value][0] for d in submission.documents if value in d.prints)


def regions(a: Submission, b: Submission, shared: set[int]) -> list[Region]:
    """Shared fingerprints as runs of lines, side by side (largest first)."""
    matches = sorted(
        ((_first(a, h), _first(b, h)) for h in shared),
        key=lambda m: (m[0].path, m[1].path, m[0].first_line, m[1].first_line),
    )
    runs: list[list[int]] = []  # [a_first, a_last, b_first, b_last] per run
    keys: list[tuple[str, str]] = []
    for left, right in matches:
        if runs and keys[-1] == (left.path, right.path) and _continues(runs[-1], left, right):
            run = runs[-1]
            run[1], run[3] = max(run[1], left.last_line), max(run[3], right.last_line)
            run[2] = min(run[2], right.first_line)
            continue
        runs.append([left.first_line, left.last_line, right.first_line, right.last_line])
        keys.append((left.path, right.path))
    found = [
        Region(
            pa,
            (run[0], run[1]),
            pb,
            (run[2], run[3]),
            _text(a.lines(pa), run[0], run[1]),
            _text(b.lines(pb), run[2], run[3]),
        )
        for (pa, pb), run in zip(keys, runs, strict=True)
    ]
    found.sort(key=lambda r: -(r.a_lines[1] - r.a_lines[0]))
    return found[:REGIONS_MAX]


def _continues(run: list[int], left: Fingerprint, right: Fingerprint) -> bool:
    near_a = left.first_line <= run[1] + REGION_GAP
    near_b = run[2] - REGION_GAP <= right.first_line <= run[3] + REGION_GAP
    return near_a and near_b


def _text(lines: list[str], first: int, last: int) -> str:
    last = min(last, first + REGION_LINES_MAX - 1)
    return "\n".join(lines[first - 1 : last])
