"""Who knows which file: degree of authorship, truck factor, knowledge islands and loss.

Degree of authorship and the truck factor follow Avelino, Passos, Hora and Valente, "A novel
approach for estimating truck factors" (ICPC 2016): for a developer d and file f,
DOA = 3.293 + 1.098·FA + 0.164·DL - 0.321·ln(1 + AC), where FA is 1 when d created f, DL counts
d's changes to f after creating it (renames included) and AC the changes by everyone else. d is
an author of f when d's DOA is at least 3.293 and more than 0.75 of the best DOA on f. The truck
factor removes the author of the most files, again and again, until fewer than half the files
keep an author; it is the number removed.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from proofwork.audit.lineage import FileLineage

DOA_BASE = 3.293
NORMALISED_AUTHOR = 0.75
COVERAGE = 0.5
# Knowledge is counted over code, as Avelino et al. count it over the files GitHub's linguist
# classifies as a programming or markup language: not documentation, examples, vendored or
# generated files, lock files or data.
CODE_SUFFIXES = frozenset(
    [
        "py",
        "pyx",
        "pxd",
        "pyi",
        "c",
        "h",
        "cc",
        "cpp",
        "cxx",
        "hpp",
        "hh",
        "m",
        "mm",
        "go",
        "rs",
        "java",
        "kt",
        "kts",
        "scala",
        "clj",
        "groovy",
        "rb",
        "php",
        "pl",
        "pm",
        "lua",
        "js",
        "jsx",
        "mjs",
        "cjs",
        "ts",
        "tsx",
        "vue",
        "svelte",
        "coffee",
        "html",
        "htm",
        "css",
        "scss",
        "sass",
        "less",
        "sh",
        "bash",
        "zsh",
        "ps1",
        "sql",
        "swift",
        "cs",
        "fs",
        "vb",
        "r",
        "jl",
        "ex",
        "exs",
        "erl",
        "hrl",
        "hs",
        "ml",
        "dart",
        "elm",
        "tf",
        "proto",
    ]
)
NOT_AUTHORED = re.compile(
    r"(^|/)(vendor|vendored|third_party|third-party|node_modules|site-packages)/|"
    r"^(docs?|documentation|examples?|samples?)/|\.min\.(js|css)$|[-.]bundle\.js$",
    re.IGNORECASE,
)


def doa(*, first_author: bool, deliveries: int, acceptances: int) -> float:
    """Avelino et al.'s absolute degree of authorship."""
    return DOA_BASE + 1.098 * first_author + 0.164 * deliveries - 0.321 * math.log(1 + acceptances)


def is_authored(path: str) -> bool:
    """Whether a file counts for knowledge: code, not documentation, examples or vendored."""
    suffix = path.rsplit(".", 1)[-1].lower() if "." in path.rsplit("/", 1)[-1] else ""
    return suffix in CODE_SUFFIXES and NOT_AUTHORED.search(path) is None


def authors_of(lineage: FileLineage) -> list[str]:
    """The file's authors by normalised DOA, best first."""
    creator = lineage.creator
    # The add that created the file is first authorship, not a delivery.
    changes = lineage.touches[:-1] if creator is not None else lineage.touches
    deliveries = Counter(t.author for t in changes)
    people = set(deliveries) | ({creator} if creator else set())
    total = sum(deliveries.values())
    scores = {
        person: doa(
            first_author=person == creator,
            deliveries=deliveries[person],
            acceptances=total - deliveries[person],
        )
        for person in people
    }
    if not scores:
        return []
    best = max(scores.values())
    chosen = [p for p, s in scores.items() if s >= DOA_BASE and s / best > NORMALISED_AUTHOR]
    return sorted(chosen, key=lambda p: (-scores[p], p))


@dataclass(frozen=True)
class TruckFactor:
    value: int
    removed: tuple[str, ...]  # author keys, in the order the greedy removal took them
    files: int  # files considered
    coverage: tuple[float, ...]  # share of files with an author before each removal


def truck_factor(file_authors: dict[str, list[str]]) -> TruckFactor:
    """Greedy truck factor over `file -> authors`."""
    files = len(file_authors)
    by_author: dict[str, set[str]] = {}
    for path, people in file_authors.items():
        for person in people:
            by_author.setdefault(person, set()).add(path)
    removed: list[str] = []
    coverage: list[float] = []
    while by_author and files:
        covered = set().union(*by_author.values())
        coverage.append(len(covered) / files)
        if coverage[-1] < COVERAGE:
            break
        top = max(by_author, key=lambda p: (len(by_author[p]), _reverse(p)))
        removed.append(top)
        del by_author[top]
    else:
        coverage.append(0.0)
    return TruckFactor(len(removed), tuple(removed), files, tuple(coverage))


def _reverse(key: str) -> tuple[int, ...]:
    """Ties go to the alphabetically first author, so results do not depend on dict order."""
    return tuple(-ord(c) for c in key)


LAYOUT_FOLDERS = frozenset({"src", "lib"})  # where a src-layout keeps its packages


def top_level(path: str) -> str:
    """The top-level package a file belongs to: its first folder (`src/<package>` in a
    src layout), or `.` for files at the root."""
    parts = path.split("/")
    if len(parts) > 2 and parts[0] in LAYOUT_FOLDERS:
        return f"{parts[0]}/{parts[1]}"
    return parts[0] if len(parts) > 1 else "."


def by_package(file_authors: dict[str, list[str]]) -> dict[str, TruckFactor]:
    """Truck factor of each top-level folder."""
    groups: dict[str, dict[str, list[str]]] = {}
    for path, people in file_authors.items():
        groups.setdefault(top_level(path), {})[path] = people
    return {name: truck_factor(group) for name, group in sorted(groups.items())}


def active_authors(last_active: dict[str, int], now: int, months: int) -> set[str]:
    """Authors with a commit in the last `months` months before `now`."""
    horizon = now - months * 30 * 86400
    return {person for person, when in last_active.items() if when >= horizon}


def islands(file_authors: dict[str, list[str]], active: set[str]) -> dict[str, str]:
    """Files exactly one active person authors: file -> that person."""
    found = {}
    for path, people in file_authors.items():
        still_here = [p for p in people if p in active]
        if len(still_here) == 1:
            found[path] = still_here[0]
    return found


def lost(file_authors: dict[str, list[str]], active: set[str]) -> dict[str, list[str]]:
    """Files that have authors, none of them active: file -> its inactive authors."""
    return {
        path: people
        for path, people in file_authors.items()
        if people and not any(p in active for p in people)
    }


def files_known(file_authors: dict[str, list[str]]) -> Iterable[str]:
    """Files with at least one author."""
    return (path for path, people in file_authors.items() if people)
