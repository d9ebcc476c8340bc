"""The values the mutation engine passes around: mutants, their outcomes, and a run's result."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class Kind(enum.StrEnum):
    """Where a mutant lives, which decides how the runner applies it in a warm process."""

    FUNCTION = "function"  # inside a function body: swap the live function's __code__
    MODULE = "module"  # module level or a class body: re-execute the module's code


class Caught(enum.StrEnum):
    """How a test caught a killed mutant."""

    ASSERTION = "assertion"  # a check of the test failed: assert, assert* methods, pytest.raises
    EXCEPTION = "exception"  # the code raised something the test did not expect (or crashed)


class Outcome(enum.StrEnum):
    KILLED = "killed"  # a covering test failed
    TIMEOUT = "timeout"  # its covering tests ran past the per-mutant timeout (counts as killed)
    SURVIVED = "survived"  # every covering test passed
    NOT_COVERED = "not_covered"  # no test runs its line: nothing could notice it
    ERROR = "error"  # could not be applied or judged; left out of the score, reported


@dataclass(frozen=True)
class Scope:
    """One enclosing definition, as the compiler names it (co_name, co_firstlineno)."""

    kind: str  # "def" | "class"
    name: str
    line: int  # first line of the definition, decorators included (what co_firstlineno says)


@dataclass(frozen=True)
class Mutant:
    """One planted bug: a text splice of one file, with what a reader needs to understand it."""

    id: int
    path: str  # relative to the workspace, POSIX
    line: int
    column: int  # 1-based, in characters
    operator: str  # family name, e.g. "arith", "compare", "return_none"
    start: int  # character offsets of the replaced text in the file
    end: int
    replacement: str
    diff: str  # "- old line\n+ new line"
    stmt_line: int  # first line of the enclosing statement (what coverage.py reports)
    chunk: tuple[int, int]  # first and last line of the enclosing top-level statement
    scopes: tuple[Scope, ...]  # enclosing defs/classes, outermost first
    kind: Kind

    @property
    def function(self) -> str:
        """Dotted name of the innermost enclosing definition, or `<module>`."""
        return ".".join(s.name for s in self.scopes) or "<module>"

    def apply(self, text: str) -> str:
        """The file's text with this mutant planted."""
        return text[: self.start] + self.replacement + text[self.end :]

    def to_plan(self) -> dict[str, Any]:
        """What the in-sandbox runner needs to plant it (JSON)."""
        return {
            "id": self.id,
            "path": self.path,
            "start": self.start,
            "end": self.end,
            "replacement": self.replacement,
            "chunk": list(self.chunk),
            "scopes": [[s.kind, s.name, s.line] for s in self.scopes],
            "kind": self.kind.value,
        }


@dataclass(frozen=True)
class Result:
    """What happened to one mutant."""

    mutant: Mutant
    outcome: Outcome
    killed_by: str | None = None
    detail: str = ""
    seconds: float = 0.0
    caught: Caught | None = None  # for KILLED: how (a timeout is neither)


@dataclass
class Generated:
    """Mutants of a set of files, and what was dropped or skipped on the way."""

    mutants: list[Mutant] = field(default_factory=list)
    equivalent: int = 0
    duplicate: int = 0
    invalid: int = 0  # a splice that does not compile (a bug of ours, counted not hidden)
    unparsable: list[tuple[str, str]] = field(default_factory=list)  # (path, why)
