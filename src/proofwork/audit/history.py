"""The history pass: one streaming read of `git log`, folded into per-file histories.

`git log --no-merges -z --name-status` is read newest first, in chunks, and parsed positionally
(a status token, then one path or two for a rename), so no author or path byte can be mistaken
for structure. Authors come through `.mailmap` (`%aN`/`%aE`); commits by bots are left out.
Renames are followed by walking back from HEAD: once a commit renames `old` to `new`, older
changes to `old` belong to the file HEAD calls by `new`'s name; an add or a delete ends a path's
lineage, so a file deleted and later re-created at the same path does not inherit the dead one.

What was read is cached under the HEAD it was read at; a later audit of the same repository
reads only the commits added since (when the cached HEAD is an ancestor of the new one).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from proofwork.analysis.sources import read_bytes
from proofwork.audit.git import Git, GitError

CACHE_FORMAT = 1
MAILMAP_LIMIT = 1024 * 1024
HEADER = b"\x1e"
FIELD = "\x1f"
# Committer time: it follows the order git log walks in, where a rebased author date does not.
LOG_FORMAT = "--format=%x1e%H%x1f%ct%x1f%aN%x1f%aE"
# Whole names or emails of automated committers (dependabot[bot], renovate-bot, github-actions).
BOT = re.compile(
    r"\[bot\]|(^|[-_.\s])bot($|[-_.\s@])|^(dependabot|renovate|github-actions|pre-commit-ci|"
    r"greenkeeper|snyk-bot|codecov)\b",
    re.IGNORECASE,
)

Progress = Callable[[int], None]
PROGRESS_EVERY = 500  # commits between two progress reports


class Change(NamedTuple):
    """One file touched by one commit: status letter, path, and the old path of a rename."""

    status: str  # A M D R T (copies are not detected)
    path: str
    old_path: str | None = None


class Commit(NamedTuple):
    sha: str
    time: int  # committer time, Unix seconds
    author: str  # display name after .mailmap
    email: str
    changes: tuple[Change, ...]

    @property
    def author_key(self) -> str:
        """Who made it: the mailmapped name, case-folded, letters and digits only ("Mitch.Garnaat"
        is "Mitch Garnaat"); an empty name falls back to the email."""
        return author_key(self.author, self.email)


@functools.lru_cache(maxsize=65536)
def author_key(name: str, email: str) -> str:
    """The key of a name (see Commit.author_key); cached, as a history repeats its authors."""
    return "".join(c for c in name.casefold() if c.isalnum()) or email.casefold()


@functools.lru_cache(maxsize=65536)
def is_bot(name: str, email: str) -> bool:
    """Whether an author is an automated committer."""
    return bool(BOT.search(name) or BOT.search(email.split("@", 1)[0]))


@dataclass
class RawHistory:
    """Every non-merge commit reachable from HEAD, newest first, and what could not be read."""

    head: str | None
    commits: list[Commit] = field(default_factory=list)
    shallow: bool = False
    problems: list[str] = field(default_factory=list)
    bots_skipped: int = 0
    undecodable: int = 0  # commits with author names or paths that were not UTF-8
    read_commits: int = 0  # commits (bots included) this audit read from git
    from_cache: int = 0  # commits (bots included) it took from the cache


def decode(raw: bytes) -> tuple[str, bool]:
    """Text of a git-emitted name and whether it was valid UTF-8 (bytes kept as escapes)."""
    try:
        return raw.decode("utf-8"), True
    except UnicodeDecodeError:
        return raw.decode("utf-8", errors="surrogateescape"), False


def display(text: str) -> str:
    """A name or path fit for a report: undecodable bytes shown as \\xNN."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return os.fsencode(text).decode("utf-8", errors="backslashreplace")


def _tokens(chunks: Iterable[bytes]) -> Iterator[list[bytes]]:
    """git's -z output split on NUL, a list per chunk, the last token carried over."""
    rest = b""
    for chunk in chunks:
        tokens = (rest + chunk).split(b"\0")
        rest = tokens.pop()
        yield tokens
    if rest:
        yield [rest]


def parse_log(chunks: Iterable[bytes], undecodable: list[int]) -> Iterator[Commit]:
    """Commits from `git log -z --name-status` output, read positionally: after a status
    token come exactly one path (two for a rename), so no path can pass for a header.
    Counts commits with non-UTF-8 names or paths in `undecodable[0]`."""
    header: tuple[str, int, str, str] | None = None
    changes: list[Change] = []
    clean = True
    status, expect, paths = "", 0, []
    for tokens in _tokens(chunks):
        for token in tokens:
            if expect:
                try:
                    paths.append(token.decode("utf-8"))
                except UnicodeDecodeError:
                    paths.append(token.decode("utf-8", errors="surrogateescape"))
                    clean = False
                expect -= 1
                if not expect:
                    old = paths[0] if len(paths) == 2 else None
                    changes.append(Change(status, paths[-1], old))
                continue
            if token[:1] == b"\n":
                token = token.lstrip(b"\n")
            if token[:1] == HEADER:
                if header is not None:
                    undecodable[0] += not clean
                    yield Commit(*header, tuple(changes))
                header, clean = _header(token[1:])
                changes = []
            elif token and header is not None:
                status = chr(token[0])
                expect, paths = (2 if status in "RC" else 1), []
    if header is not None:
        undecodable[0] += not clean
        yield Commit(*header, tuple(changes))


def _header(raw: bytes) -> tuple[tuple[str, int, str, str], bool]:
    text, clean = decode(raw)
    fields = text.split(FIELD)
    if len(fields) < 4:
        fields = [*fields, "", "", "", ""][:4]
    name = FIELD.join(fields[2:-1])
    time = int(fields[1]) if fields[1].isdigit() else 0
    return (fields[0], time, name, fields[-1]), clean


def log_args(revisions: str) -> list[str]:
    """The one `git log` the history pass runs."""
    return [
        "log",
        "-z",
        "--no-merges",
        "--name-status",
        "-M",
        "--no-ext-diff",
        "--no-textconv",
        "--no-color",
        LOG_FORMAT,
        revisions,
        "--",
    ]


def read_commits(
    git: Git, revisions: str, progress: Progress | None = None
) -> tuple[list[Commit], int, int]:
    """Non-merge, non-bot commits of `revisions`, newest first; bots skipped; undecodable."""
    commits: list[Commit] = []
    bots, undecodable = 0, [0]
    for commit in parse_log(git.stream(log_args(revisions)), undecodable):
        if is_bot(commit.author, commit.email):
            bots += 1
        else:
            commits.append(commit)
        if progress is not None and (len(commits) + bots) % PROGRESS_EVERY == 0:
            progress(len(commits) + bots)
    if progress is not None:
        progress(len(commits) + bots)
    return commits, bots, undecodable[0]


def head_of(git: Git) -> str | None:
    """The commit HEAD names, or None for a repository without commits."""
    out = git.run(["rev-parse", "--verify", "--quiet", "HEAD^{commit}"], check=False).strip()
    return out.decode("ascii", errors="replace") or None


def is_repository(git: Git) -> bool:
    """Whether the folder is (inside) a git work tree or a git directory."""
    out = git.run(["rev-parse", "--git-dir"], check=False)
    return bool(out.strip())


def read_history(
    git: Git, cache_dir: Path | None = None, progress: Progress | None = None
) -> RawHistory:
    """The repository's history from HEAD, from the cache where possible; never raises GitError."""
    try:
        if not is_repository(git):
            return RawHistory(None, problems=["not a git repository: no history to read"])
        head = head_of(git)
        if head is None:
            return RawHistory(None, problems=["the repository has no commits yet"])
        history = _read(git, head, cache_dir, progress)
        if git.run(["rev-parse", "--is-shallow-repository"]).strip() == b"true":
            history.shallow = True
            history.problems.append(
                "shallow clone: commits before the graft are missing, so first authorship, "
                "change counts and the truck factor only cover the commits present; "
                "audit a full clone (`git fetch --unshallow`)"
            )
    except GitError as exc:
        return RawHistory(None, problems=[f"history unreadable: {exc}"])
    if history.undecodable:
        history.problems.append(
            f"{history.undecodable} commit(s) carry author names or file names that are not "
            "UTF-8; they are kept, with the odd bytes shown as \\xNN"
        )
    return history


def _read(git: Git, head: str, cache_dir: Path | None, progress: Progress | None) -> RawHistory:
    cached = _cached(git, head, cache_dir) if cache_dir else None
    if cached is not None and cached.head == head:
        cached.from_cache = len(cached.commits) + cached.bots_skipped
        return cached
    revisions = f"{cached.head}..{head}" if cached else head
    commits, bots, undecodable = read_commits(git, revisions, progress)
    history = RawHistory(head, commits, bots_skipped=bots, undecodable=undecodable)
    history.read_commits = len(commits) + bots
    if cached is not None:
        history.from_cache = len(cached.commits) + cached.bots_skipped
        history.commits.extend(cached.commits)
        history.bots_skipped += cached.bots_skipped
        history.undecodable += cached.undecodable
    if cache_dir is not None:
        _store(git, history, cache_dir)
    return history


def _cache_folder(git: Git, cache_dir: Path) -> Path | None:
    """The cache folder of this repository: named after its root commit and its .mailmap,
    since cached commits carry mailmapped names (a changed .mailmap means a fresh read)."""
    roots = git.run(["rev-list", "--max-parents=0", "HEAD"], check=False).split()
    if not roots:
        return None
    mailmap = git.repo / ".mailmap"
    raw = read_bytes(mailmap, MAILMAP_LIMIT) if mailmap.is_file() else b""
    names = hashlib.sha256(raw or b"").hexdigest()[:12]
    return cache_dir / f"{min(roots).decode('ascii', errors='replace')}-{names}"


def _cached(git: Git, head: str, cache_dir: Path) -> RawHistory | None:
    """The cached read of HEAD, else of the newest cached ancestor of HEAD, else None."""
    folder = _cache_folder(git, cache_dir)
    if folder is None or not folder.is_dir():
        return None
    exact = folder / f"{head}.json"
    if exact.is_file():
        return _load(exact)
    best: RawHistory | None = None
    for entry in folder.glob("*.json"):
        ancestor = entry.stem
        merge_base = ["merge-base", "--is-ancestor", ancestor, head]
        if _succeeds(git, ["cat-file", "-e", f"{ancestor}^{{commit}}"]) and _succeeds(
            git, merge_base
        ):
            loaded = _load(entry)
            if loaded is not None and (best is None or len(loaded.commits) > len(best.commits)):
                best = loaded
    return best


def _succeeds(git: Git, args: list[str]) -> bool:
    try:
        git.run(args)
    except GitError:
        return False
    return True


def _load(path: Path) -> RawHistory | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8", errors="surrogateescape"))
        if data.get("format") != CACHE_FORMAT:
            return None
        commits = [
            Commit(c[0], c[1], c[2], c[3], tuple(Change(*ch) for ch in c[4]))
            for c in data["commits"]
        ]
        history = RawHistory(data["head"], commits)
        history.bots_skipped = data["bots_skipped"]
        history.undecodable = data["undecodable"]
        return history
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return None  # a damaged cache is read again from git


def _store(git: Git, history: RawHistory, cache_dir: Path) -> None:
    folder = _cache_folder(git, cache_dir)
    if folder is None or history.head is None:
        return
    data = {
        "format": CACHE_FORMAT,
        "head": history.head,
        "bots_skipped": history.bots_skipped,
        "undecodable": history.undecodable,
        "commits": [
            [
                c.sha,
                c.time,
                c.author,
                c.email,
                [[ch.status, ch.path, ch.old_path] for ch in c.changes],
            ]
            for c in history.commits
        ],
    }
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("*.json"):
            stale.unlink(missing_ok=True)
        temporary = folder / f".{history.head}.tmp"
        text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
        temporary.write_text(text, encoding="utf-8", errors="surrogateescape")
        temporary.rename(folder / f"{history.head}.json")
    except OSError:
        pass  # a cache that cannot be written only costs the next audit a full read
