"""The Probe protocol, the context a probe runs in, and the registry of probes."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from proofwork.analysis import sources
from proofwork.analysis.sources import SourceTree
from proofwork.evidence import Evidence
from proofwork.sandbox.base import Limits, Mount, Sandbox

if TYPE_CHECKING:
    from proofwork.config import Settings
    from proofwork.runtime import Environment

OUT = "/out"  # where a probe's private, writable output folder appears inside the sandbox


@dataclass
class Budget:
    """A deadline shared by a run; probes ask how much is left and take a share of it."""

    total_s: float
    started: float = field(default_factory=time.monotonic)

    @property
    def remaining_s(self) -> float:
        """Seconds left before the run's deadline (never negative)."""
        return max(0.0, self.total_s - (time.monotonic() - self.started))

    def share(self, wanted_s: float) -> float:
        """At most `wanted_s`, and never more than what is left."""
        return max(0.0, min(wanted_s, self.remaining_s))


@dataclass
class ProbeContext:
    workspace: Path
    sandbox: Sandbox
    environment: Environment
    settings: Settings
    budget: Budget
    outdir: Path
    challenge: Any = None
    previous: dict[str, Evidence] = field(default_factory=dict)
    submission_sha256: str = ""  # the submission as it came in (the workspace may change since)
    # Relative paths no probe measures: files a pack ships into the starter for tooling (its
    # self-check, copies of the brief), still as the pack wrote them. See `challenges.kit`.
    excluded: frozenset[str] = frozenset()

    def source_tree(self) -> SourceTree:
        """The submission's Python files, sources and tests, without the excluded ones."""
        return sources.scan(self.workspace, exclude=self.excluded)

    def limits(self, wanted_s: float, **overrides: Any) -> Limits:
        """Default limits with a deadline cut to what the budget allows."""
        base = self.settings.limits()
        return Limits(**{**base.__dict__, "wall_s": self.budget.share(wanted_s), **overrides})

    def mounts(self) -> tuple[Mount, ...]:
        """The runtime environment (read-only) and this probe's output folder (writable)."""
        return (*self.environment.mounts, Mount(self.outdir, OUT, writable=True))


class Probe(Protocol):
    """One kind of measurement: (workspace, sandbox, challenge, budget) -> Evidence."""

    name: str
    # Lower stages run first; probes in one stage may rely on earlier stages' evidence.
    stage: int

    def applies(self, ctx: ProbeContext) -> bool:
        """Whether this probe has anything to measure for this run (else it is skipped)."""
        ...

    def run(self, ctx: ProbeContext) -> Evidence:
        """Measure and return Evidence; raising is allowed and is reported as an error."""
        ...


KIND_NAMES = {"service": "an HTTP service", "job": "a batch job"}


def not_applicable(probe: Probe, ctx: ProbeContext) -> str | None:
    """Why a probe has nothing to measure for this challenge's kind, or None when it does.

    A probe that measures only some kinds of submission says which in a `kinds` attribute
    (("service",) for the load generator); without one it measures every kind.
    """
    kinds: tuple[str, ...] | None = getattr(probe, "kinds", None)
    kind = getattr(getattr(ctx.challenge, "spec", None), "kind", None)
    if kinds is None or kind is None or kind in kinds:
        return None
    measures = " or ".join(KIND_NAMES.get(k, k) for k in kinds)
    return f"does not apply: it measures {measures}, and this challenge is {KIND_NAMES[kind]}"


ENTRY_POINT_GROUP = "proofwork.probes"

ProbeFactory = Callable[[], Probe]


class Registry:
    """Probes by name. Built-ins register through the same call third-party plugins use."""

    def __init__(self) -> None:
        self._factories: dict[str, ProbeFactory] = {}

    def register(self, name: str, factory: ProbeFactory) -> None:
        """Add a probe factory; a second registration under one name is a mistake."""
        if name in self._factories:
            raise ValueError(f"probe {name!r} is registered twice")
        self._factories[name] = factory

    def names(self) -> list[str]:
        """Registered probe names, sorted."""
        return sorted(self._factories)

    def create(self, names: Iterable[str] | None = None) -> list[Probe]:
        """Fresh probe instances, ordered by stage then name."""
        wanted = self.names() if names is None else list(names)
        unknown = [n for n in wanted if n not in self._factories]
        if unknown:
            raise KeyError(
                f"unknown probe(s): {', '.join(unknown)}; known: {', '.join(self.names())}"
            )
        probes = [self._factories[n]() for n in wanted]
        return sorted(probes, key=lambda p: (p.stage, p.name))

    def load_entry_points(self) -> None:
        """Register probes that installed packages declare in the `proofwork.probes` group."""
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            if ep.name not in self._factories:
                self.register(ep.name, ep.load())
