"""The submission's Python files, split into source and test files, read safely as text.

The workspace is hostile and these readers run on the host (not in the sandbox), so nothing here
follows a symlink or opens anything but a regular file: a link to a host file or a FIFO planted
in a submission must neither leak the host's data nor hang the grader.
"""

from __future__ import annotations

import ast
import os
import stat
from collections.abc import Iterator
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path, PurePosixPath

MAX_SOURCE_BYTES = 1024 * 1024

# Folders that hold other people's code or generated files, never the submission's own work.
SKIP_DIRS = frozenset(
    {"__pycache__", "node_modules", "site-packages", "__pypackages__", "build", "dist", "venv"}
)
VCS_DIRS = frozenset({".git", ".hg", ".svn", ".bzr"})
TEST_DIRS = frozenset({"tests", "test"})


@dataclass(frozen=True)
class SourceFile:
    """One Python file of the submission, as text."""

    path: str  # relative to the root, POSIX separators
    text: str
    is_test: bool

    @cached_property
    def lines(self) -> int:
        """Physical lines."""
        return len(self.text.splitlines())

    @cached_property
    def code_lines(self) -> int:
        """Lines that are neither blank nor only a comment."""
        return count_code_lines(self.text)


@dataclass
class SourceTree:
    """The Python files found under a root, with notes about what was left out."""

    sources: list[SourceFile] = field(default_factory=list)
    tests: list[SourceFile] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, why)

    @property
    def loc(self) -> int:
        """Code lines in source (non-test) files."""
        return sum(f.code_lines for f in self.sources)

    @property
    def test_loc(self) -> int:
        """Code lines in test files."""
        return sum(f.code_lines for f in self.tests)

    @property
    def files(self) -> list[SourceFile]:
        """Source then test files."""
        return [*self.sources, *self.tests]


class UnparsableSource(Exception):
    """A Python file that `ast` cannot parse (or that is too deeply nested to analyse)."""

    def __init__(self, path: str, reason: str, line: int | None = None) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason
        self.line = line


def count_code_lines(text: str) -> int:
    """Count lines that are neither blank nor only a comment."""
    count = 0
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            count += 1
    return count


def is_test_path(relative: PurePosixPath) -> bool:
    """Whether a file is a test by where it lives or how it is named (pytest's conventions)."""
    name = relative.name
    if name == "conftest.py" or name.startswith("test_") or name.endswith("_test.py"):
        return True
    return any(part in TEST_DIRS for part in relative.parts[:-1])


def _skip_dir(name: str, path: Path, *, include_hidden: bool) -> bool:
    if name in VCS_DIRS or name in SKIP_DIRS:
        return True
    if name.startswith(".") and not include_hidden:
        return True
    # A committed virtualenv can have any name; its marker file gives it away.
    return (path / name / "pyvenv.cfg").exists()


def iter_files(
    root: Path, *, include_hidden: bool = False, exclude: AbstractSet[str] = frozenset()
) -> Iterator[PurePosixPath]:
    """Relative paths of the files under `root`, skipping VCS, venv, build and cache folders,
    and the relative paths in `exclude` (a pack's unchanged tooling: see `challenges.kit`)."""
    for current, dirnames, filenames in os.walk(root, followlinks=False):
        here = Path(current)
        dirnames[:] = sorted(
            d for d in dirnames if not _skip_dir(d, here, include_hidden=include_hidden)
        )
        for name in sorted(filenames):
            if name.startswith(".") and not include_hidden:
                continue
            relative = PurePosixPath((here / name).relative_to(root).as_posix())
            if str(relative) not in exclude:
                yield relative


def read_bytes(path: Path, limit: int) -> bytes | None:
    """Up to `limit` + 1 bytes of a regular file; None for links, FIFOs, devices and errors."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        with os.fdopen(fd, "rb", closefd=False) as handle:
            return handle.read(limit + 1)
    except OSError:
        return None
    finally:
        os.close(fd)


def decode(raw: bytes) -> str:
    """Text from bytes, leniently: a BOM is dropped and undecodable bytes are replaced."""
    return raw.decode("utf-8-sig", errors="replace")


def has_python(root: Path) -> bool:
    """Whether there is at least one .py file under `root` (stops at the first one)."""
    return any(p.suffix == ".py" for p in iter_files(root))


def scan(
    root: Path, *, max_bytes: int = MAX_SOURCE_BYTES, exclude: AbstractSet[str] = frozenset()
) -> SourceTree:
    """Find and read the Python files under `root` (but those in `exclude`), split into
    sources and tests."""
    tree = SourceTree()
    for relative in iter_files(root, exclude=exclude):
        if relative.suffix != ".py":
            continue
        raw = read_bytes(root / relative, max_bytes)
        if raw is None:
            tree.skipped.append((str(relative), "not a regular file, or unreadable"))
            continue
        if len(raw) > max_bytes:
            tree.skipped.append((str(relative), f"over the {max_bytes:,}-byte size limit"))
            continue
        is_test = is_test_path(relative)
        item = SourceFile(path=str(relative), text=decode(raw), is_test=is_test)
        (tree.tests if is_test else tree.sources).append(item)
    return tree


def parse_all(
    files: list[SourceFile],
) -> tuple[list[tuple[SourceFile, ast.Module]], list[UnparsableSource]]:
    """Parse many files; those that fail are returned apart, never raised."""
    parsed: list[tuple[SourceFile, ast.Module]] = []
    broken: list[UnparsableSource] = []
    for source in files:
        try:
            parsed.append((source, parse(source)))
        except UnparsableSource as exc:
            broken.append(exc)
    return parsed, broken


def parse(source: SourceFile) -> ast.Module:
    """Parse one file; raises UnparsableSource instead of SyntaxError and its relatives."""
    try:
        return ast.parse(source.text, filename=source.path)
    except SyntaxError as exc:
        raise UnparsableSource(source.path, f"syntax error: {exc.msg}", exc.lineno) from exc
    except (RecursionError, MemoryError) as exc:
        raise UnparsableSource(source.path, "too deeply nested to parse") from exc
    except ValueError as exc:  # e.g. "source code string cannot contain null bytes"
        raise UnparsableSource(source.path, str(exc)) from exc
