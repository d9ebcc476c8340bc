"""The capped tree a submission is written into: caps, refusals, links kept inside it."""

from __future__ import annotations

import os
import re
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

MiB = 1024 * 1024
CHUNK = 64 * 1024
GIT_TIMEOUT_S = 300
MAX_LINK_TARGET = 4096
# A symlink chain longer than this is a loop (Linux gives up at 40 too).
MAX_LINK_HOPS = 40
FORMATS = "a directory, .zip, .tar.gz or git bundle"
_BUNDLE_ADVICE = "create it with `git bundle create submission.bundle --all`"

# Folders that are rebuilt from the code, never part of it; copying them only costs caps.
_CACHES = {"__pycache__", ".tox", ".nox", ".mypy_cache", ".pytest_cache", ".ruff_cache"}
SKIPPED_FOLDERS = frozenset({".venv", "venv", "node_modules", ".eggs", *_CACHES})
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DRIVE = re.compile(r"^[A-Za-z]:")
_SPECIAL = "a device, FIFO or socket; a submission holds only files, folders and links"
# What a damaged or unsupported archive raises while we read it.
_UNREADABLE = (
    OSError,
    EOFError,
    zlib.error,
    zipfile.BadZipFile,
    tarfile.TarError,
    NotImplementedError,
    RuntimeError,
)


@dataclass(frozen=True)
class IntakeCaps:
    max_bytes: int = 512 * MiB  # total unpacked bytes
    max_files: int = 20_000
    max_file_bytes: int = 64 * MiB
    max_depth: int = 32  # path components


class IntakeError(Exception):
    """A submission was refused; the message says what was wrong and what to do."""


DEFAULT_CAPS = IntakeCaps()


class _Tree:
    """Writes members under `root`, refusing unsafe paths and counting what really lands."""

    def __init__(self, root: Path, caps: IntakeCaps, noun: str) -> None:
        self.root = root
        self.caps = caps
        self.noun = noun
        self.entries = 0
        self.bytes = 0
        self.files: set[str] = set()  # regular files written so far, for tar hard links

    def refuse(self, name: str, why: str) -> IntakeError:
        """The refusal for member `name`, naming it."""
        return IntakeError(f"refused: {self.noun} {name!r} {why}")

    def parts(self, name: str) -> tuple[str, ...]:
        """The path components of member `name`, refused if it could land outside the tree."""
        if name.startswith("/") or _DRIVE.match(name):
            raise self.refuse(name, "has an absolute path; paths must be relative")
        parts = tuple(part for part in name.split("/") if part not in ("", "."))
        if ".." in parts:
            raise self.refuse(name, "escapes the submission folder")
        if _CONTROL.search(name):
            raise self.refuse(name, "has control characters in its name; rename it")
        if len(parts) > self.caps.max_depth:
            raise self.refuse(name, f"is nested deeper than {self.caps.max_depth} folders")
        return parts

    def count_entry(self) -> None:
        """Charge one file, folder or link against the count cap."""
        self.entries += 1
        if self.entries > self.caps.max_files:
            raise IntakeError(
                f"refused: the submission holds more than {self.caps.max_files} files and "
                "folders; leave out generated files and dependencies"
            )

    def charge(self, name: str, file_size: int, added: int, limit: int) -> None:
        """Charge `added` bytes of member `name`, now `file_size` long, against the byte caps."""
        self.bytes += added
        if file_size > limit:
            raise self.refuse(name, f"is larger than the {_size(limit)} per-file cap")
        if self.bytes > self.caps.max_bytes:
            raise IntakeError(
                f"refused: the submission unpacks to more than {_size(self.caps.max_bytes)}; "
                "leave out data files, build output and virtualenvs"
            )

    def file_limit(self, parts: tuple[str, ...]) -> int:
        """The per-file cap for a path; git packs may be large, the total cap still holds."""
        return self.caps.max_bytes if parts[0] == ".git" else self.caps.max_file_bytes

    def add_dir(self, name: str) -> None:
        """Create folder `name` (a no-op if an earlier member already made it)."""
        parts = self.parts(name)
        if not parts:
            return  # the archive's own "./" entry
        path = self._parent(name, parts)
        if path.is_dir() and not path.is_symlink():
            return
        if os.path.lexists(path):
            raise self.refuse(name, "appears twice, once as a file")
        self.count_entry()
        _mkdir(path)

    def add_file(self, name: str, stream: IO[bytes], executable: bool) -> int:
        """Write regular file `name` from `stream`; return the bytes really written."""
        parts = self._nonempty(name)
        path = self._parent(name, parts)
        self.count_entry()
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            fd = os.open(path, flags, 0o600)
        except FileExistsError:
            raise self.refuse(name, "appears twice") from None
        size = 0
        limit = self.file_limit(parts)
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                self.charge(name, size, len(chunk), limit)
                out.write(chunk)
            # Set explicitly: the archive's mode (setuid, world-writable) and the umask don't count.
            os.fchmod(out.fileno(), 0o755 if executable else 0o644)
        self.files.add("/".join(parts))
        return size

    def add_symlink(self, name: str, target: str) -> None:
        """Create symlink `name` -> `target`, refused unless it resolves inside the tree."""
        parts = self._nonempty(name)
        if not target or target.startswith("/") or _CONTROL.search(target):
            raise self.refuse(name, f"is a symlink to {target!r} outside the submission")
        if _escapes(self.root, [*parts[:-1], *target.split("/")]):
            raise self.refuse(name, f"is a symlink to {target!r} outside the submission")
        path = self._parent(name, parts)
        self.count_entry()
        try:
            path.symlink_to(target)
        except FileExistsError:
            raise self.refuse(name, "appears twice") from None

    def add_hardlink(self, name: str, target: str) -> None:
        """Copy the earlier member `target` to `name`: a copy cannot alias anything outside."""
        try:
            key = "/".join(self.parts(target))
        except IntakeError:
            raise self.refuse(
                name, f"is a hard link to {target!r} outside the submission"
            ) from None
        if key not in self.files:
            raise self.refuse(name, f"is a hard link to {target!r}, not an earlier file")
        source = self.root / key
        executable = bool(source.stat().st_mode & 0o100)
        with source.open("rb") as stream:
            self.add_file(name, stream, executable)

    def _nonempty(self, name: str) -> tuple[str, ...]:
        parts = self.parts(name)
        if not parts:
            raise self.refuse(name, "has an empty path")
        return parts

    def _parent(self, name: str, parts: tuple[str, ...]) -> Path:
        """Make the folders above member `name`, never writing through a symlink."""
        here = self.root
        for depth, part in enumerate(parts[:-1], start=1):
            here = here / part
            try:
                mode = os.lstat(here).st_mode
            except FileNotFoundError:
                self.count_entry()
                _mkdir(here)
                continue
            if stat.S_ISLNK(mode):
                where = "/".join(parts[:depth])
                raise self.refuse(name, f"would be written through the symlink {where!r}")
            if not stat.S_ISDIR(mode):
                raise self.refuse(name, "sits below a path that is a file")
        return here / parts[-1]


def _escapes(root: Path, parts: list[str]) -> bool:
    """Whether walking `parts` from `root`, following symlinks, ever steps above `root`."""
    pending = list(reversed(parts))
    here: list[str] = []
    hops = 0
    while pending:
        part = pending.pop()
        if part in ("", "."):
            continue
        if part == "..":
            if not here:
                return True
            here.pop()
            continue
        here.append(part)
        path = root.joinpath(*here)
        if not path.is_symlink():
            continue
        hops += 1
        target = _readlink(path)
        if target.startswith("/"):
            return True
        if hops > MAX_LINK_HOPS:
            return False  # a loop resolves nowhere, so it cannot reach outside either
        here.pop()
        pending.extend(reversed(target.split("/")))
    return False


def _refuse_escaping_links(root: Path) -> None:
    """Refuse any symlink under `root` that resolves outside it, wherever the tree is moved."""
    for rel, entry in _walk(root):
        if entry.is_symlink() and _escapes(root, rel.split("/")):
            target = _readlink(entry.path)
            raise IntakeError(
                f"refused: symlink {rel!r} points to {target!r}, outside the submission"
            )


def _normalize_modes(root: Path) -> None:
    """Give git's checkout our modes (0o644/0o755), whatever the umask was."""
    for _, entry in _walk(root, skip=_is_top_git):
        if entry.is_symlink():
            continue
        st_mode = entry.stat(follow_symlinks=False).st_mode
        executable = entry.is_dir(follow_symlinks=False) or st_mode & 0o100
        Path(entry.path).chmod(0o755 if executable else 0o644)


def _walk(
    root: Path, skip: Callable[[str, os.DirEntry[str]], bool] = lambda rel, entry: False
) -> Iterator[tuple[str, os.DirEntry[str]]]:
    """Every entry under `root` as (relative POSIX path, entry), never following symlinks."""
    stack = [(root, "")]
    while stack:
        folder, prefix = stack.pop()
        with os.scandir(folder) as entries:
            for entry in sorted(entries, key=lambda item: item.name):
                rel = prefix + entry.name
                if skip(rel, entry):
                    continue
                yield rel, entry
                if entry.is_dir(follow_symlinks=False):
                    stack.append((Path(entry.path), rel + "/"))


def _is_top_git(rel: str, entry: os.DirEntry[str]) -> bool:
    return rel == ".git"


def _is_rebuilt(rel: str, entry: os.DirEntry[str]) -> bool:
    """Whether `entry` is a folder of tool output that directory intake leaves behind."""
    if not entry.is_dir(follow_symlinks=False):
        return False
    name = entry.name
    if name in SKIPPED_FOLDERS or name.endswith(".egg-info"):
        return True
    return name == "env" and (Path(entry.path) / "pyvenv.cfg").exists()


def _readlink(path: str | Path) -> str:
    """A symlink's target text, verbatim."""
    # os.readlink, not Path.readlink(): the latter normalises "./x" to "x".
    return os.readlink(path)


def _mkdir(path: Path) -> None:
    path.mkdir()
    path.chmod(0o755)  # explicit, so the umask can't make it 0o700 or 0o777


def _size(size: int) -> str:
    return f"{size / MiB:g} MiB" if size >= MiB else f"{size} bytes"


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
