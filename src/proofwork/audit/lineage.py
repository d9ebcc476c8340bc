"""Folding commits (newest first) into the history of each file HEAD has, renames followed."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from proofwork.audit.history import Commit


class Touch(NamedTuple):
    """One commit's change to a file: when, by whom, the path it had then, whether it added it."""

    time: int
    author: str  # author key
    commit: int  # index into Lineages.changesets
    path: str
    added: bool


@dataclass
class FileLineage:
    path: str  # the name at HEAD
    touches: list[Touch] = field(default_factory=list)  # newest first

    @property
    def creator(self) -> str | None:
        """Who added the file (its first author), if the history reaches back that far."""
        oldest = self.touches[-1] if self.touches else None
        return oldest.author if oldest is not None and oldest.added else None


class Changeset(NamedTuple):
    sha: str
    time: int
    author: str
    files: tuple[str, ...]  # HEAD paths of the files it touched that HEAD still has
    size: int  # every file it touched, deleted ones included


@dataclass
class Lineages:
    files: dict[str, FileLineage]
    changesets: list[Changeset]
    names: dict[str, str]  # author key -> the name they wrote most often
    last_active: dict[str, int]  # author key -> time of their newest commit


_DEAD = ""  # an alias target meaning "older changes here belong to no file HEAD has"


# Addresses many people share, which say nothing about who someone is.
SHARED_MAILBOXES = frozenset(
    {"", "root", "none", "nobody", "noreply", "no-reply", "unknown", "user"}
)


def identities(commits: Sequence[Commit]) -> dict[str, str]:
    """Author key -> the key of the person it is: names that share an email are one person."""
    parent: dict[str, str] = {}

    def find(key: str) -> str:
        while parent.get(key, key) != key:
            key = parent[key]
        return key

    first_by_email: dict[str, str] = {}
    for commit in commits:
        key, email = commit.author_key, commit.email.casefold()
        parent.setdefault(key, key)
        if "@" not in email or email.split("@", 1)[0] in SHARED_MAILBOXES:
            continue
        other = first_by_email.setdefault(email, key)
        if find(other) != find(key):
            parent[find(key)] = find(other)
    return {key: find(key) for key in parent}


def fold(commits: Sequence[Commit], head_files: set[str]) -> Lineages:
    """Per HEAD file, every change to it and its earlier names, from commits newest first."""
    lineages = Lineages({p: FileLineage(p) for p in head_files}, [], {}, {})
    person = identities(commits)
    spelled: defaultdict[str, Counter[str]] = defaultdict(Counter)
    alias: dict[str, str] = {}

    def current(path: str) -> str:
        return alias.get(path, path if path in head_files else _DEAD)

    for commit in commits:
        key = person[commit.author_key]
        spelled[key][commit.author] += 1
        lineages.last_active.setdefault(key, commit.time)
        index = len(lineages.changesets)
        touched: list[str] = []
        for change in commit.changes:
            target = _DEAD if change.status == "D" else current(change.path)
            if target:
                touch = Touch(commit.time, key, index, change.path, change.status == "A")
                lineages.files[target].touches.append(touch)
                touched.append(target)
        if any(change.status != "M" for change in commit.changes):
            _advance(alias, commit, current)
        files = tuple(dict.fromkeys(touched))
        lineages.changesets.append(
            Changeset(commit.sha, commit.time, key, files, len(commit.changes))
        )
    # A person is shown by the name they wrote most often.
    lineages.names = {key: names.most_common(1)[0][0] for key, names in spelled.items()}
    return lineages


def _advance(alias: dict[str, str], commit: Commit, current: Callable[[str], str]) -> None:
    """Point the paths of older commits at the HEAD files this commit's changes lead to."""
    renames = [(c.old_path, current(c.path)) for c in commit.changes if c.old_path is not None]
    for change in commit.changes:
        if change.status in "ADR":
            alias[change.path] = _DEAD  # before an add (or a rename onto it) the path was free
    for old, target in renames:
        alias[old] = target
