"""The reference solution's capacity on this machine, kept: where its throughput peaks (the
concurrency both services get when measured in turns, harness/interleave), and what
`load.relative_capacity` divides by when they cannot be.

A throughput figure says as much about the machine as about the code. So the pack's reference
solution is put through the same load job, in the same sandbox, on the same machine. Its
figure is the median of `REFERENCE_RUNS` runs: one run in a slow spell of a shared host would
otherwise shift every grade compared with it (a first grade whose own run became the kept
figure read 10-20% below the grades after it).
Measuring the reference costs those runs, so its figure is kept per machine (host name, CPU
model, core count), pack (id and version, and a hash of the reference's files), traffic plan
(load.toml) and harness code under `settings.home / "capacity"`, and measured again only when
one of those changes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import platform
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from proofwork import harness, intake, runtime
from proofwork.challenges import Pack
from proofwork.evidence import Evidence
from proofwork.harness.load import summarize
from proofwork.probes.base import ProbeContext
from proofwork.sandbox.bwrap import BwrapSandbox

HARNESS = Path(harness.__file__).parent
Measure = Callable[[ProbeContext, dict[str, Any], Evidence], "dict[str, Any] | None"]
REFERENCE_RUNS = 3  # the reference's kept figure is the median of this many runs
T = TypeVar("T")


@dataclass(frozen=True)
class Capacity:
    """The reference's best throughput of good answers under the pack's load, on one machine."""

    max_throughput_rps: float
    # Throughput scaled to the whole of the service's core (other work on a shared host takes
    # a varying share of it), the median of the best steps: the figure runs are compared by.
    capacity_rps: float
    knee_concurrency: int
    measured_at: str
    machine: dict[str, Any]
    steps: list[dict[str, Any]]
    cached: bool = False
    runs: list[float] = field(default_factory=list)  # each run's capacity_rps (the median kept)

    def describe(self) -> str:
        """One paragraph for the evidence: the figure, and whether it was measured now."""
        how = "cached from an earlier grade" if self.cached else "measured during this grade"
        if len(self.runs) > 1:
            how = f"the median of {len(self.runs)} runs, " + how
        m = self.machine
        return (
            f"Reference solution: {self.max_throughput_rps:.1f} good requests/s at best "
            f"({self.capacity_rps:.1f} with its core to itself), knee at "
            f"concurrency {self.knee_concurrency}; {how} (measured {self.measured_at} on "
            f"{m.get('hostname')}, {m.get('cpu_model')}, {m.get('cores')} cores)."
        )


def machine() -> dict[str, Any]:
    """What makes two throughput figures comparable: the host, its CPU model, its cores."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass  # not Linux, or /proc hidden: the platform's own name will do
    return {"hostname": platform.node(), "cpu_model": model, "cores": os.cpu_count() or 1}


@cache
def harness_digest() -> str:
    """A hash of the harness's code (load generator, fake provider): a change there can move
    the measured figure, so a reference figure measured by other harness code is not reused."""
    digest = hashlib.sha256()
    for path in sorted(HARNESS.rglob("*.py")):
        digest.update(path.relative_to(HARNESS).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def cache_path(home: Path, pack: Pack, options: dict[str, Any]) -> Path:
    """Where the reference figure for this machine, pack version, reference code, traffic plan
    and harness code is kept."""
    plan = json.dumps(options, sort_keys=True)
    reference = intake.submission_sha256(pack.path("reference"))
    key = json.dumps([machine(), plan, reference, harness_digest()], sort_keys=True).encode()
    digest = hashlib.sha256(key).hexdigest()[:16]
    return home / "capacity" / f"{pack.id}-{pack.spec.version}-{digest}.json"


def read_json(path: Path) -> dict[str, Any] | None:
    """A kept figure's record, or None when there is none (or it cannot be read)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Keep a figure, atomically (two graders measuring at once just write it twice)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(handle, "w") as out:
        json.dump(data, out)
    Path(temporary).replace(path)


def read_cached(path: Path) -> Capacity | None:
    """The kept figure, or None when there is none (or it cannot be read)."""
    data = read_json(path)
    try:
        return Capacity(**{**data, "cached": True}) if data is not None else None
    except TypeError:
        return None


def write_cached(path: Path, capacity: Capacity) -> None:
    """Keep the figure (every field but whether it came from the cache)."""
    write_json(path, {k: v for k, v in asdict(capacity).items() if k != "cached"})


def reference_context(ctx: ProbeContext, pack: Pack) -> ProbeContext:
    """A private copy of the pack's reference, set up like any submission's workspace, in the
    run's own sandbox (same uid, limits and cores)."""
    root = ctx.outdir / "reference"
    root.mkdir(exist_ok=True)
    workspace = root / "workspace"
    intake.ingest(pack.path("reference"), workspace)
    if isinstance(ctx.sandbox, BwrapSandbox):
        ctx.sandbox.give(workspace)
    deps = pack.spec.runtime.dependencies
    environment = runtime.environment(ctx.settings, workspace, extra=deps)
    return replace(ctx, workspace=workspace, environment=environment, outdir=root)


def repeatable_reference(ctx: ProbeContext, pack: Pack) -> Callable[[], ProbeContext]:
    """The reference's context for runs one after another: set up once (on first use), its run
    data cleared before each run."""
    made: list[ProbeContext] = []

    def fresh() -> ProbeContext:
        if not made:
            made.append(reference_context(ctx, pack))
        shutil.rmtree(made[0].outdir / "data", ignore_errors=True)
        return made[0]

    return fresh


def reference_runs(
    first: T | None, again: Callable[[], T | None], wanted: int = REFERENCE_RUNS
) -> list[T]:
    """`first` (this grade's own run, when the submission is the reference) and more runs until
    there are `wanted`; a run without a figure is left out (`wanted` attempts in all)."""
    runs = [first] if first is not None else []
    for _ in range(wanted - len(runs)):
        measured = again()
        if measured is not None:
            runs.append(measured)
    return runs


def median_run(runs: list[T], figure: Callable[[T], float]) -> T:
    """The run whose figure is the median (the lower of the middle two of an even number)."""
    return sorted(runs, key=figure)[(len(runs) - 1) // 2]


def from_results(results: dict[str, Any] | None) -> Capacity | None:
    """The reference's figure from a load job's results; None when they hold no usable one."""
    if not results or "error" in results or not results.get("steps"):
        return None
    plan = results.get("plan", {})
    summary = summarize(results["steps"], plan["slo_p95_ms"], plan["max_error_rate"])
    if summary["capacity_rps"] <= 0:
        return None
    return Capacity(
        max_throughput_rps=summary["max_throughput_rps"],
        capacity_rps=summary["capacity_rps"],
        knee_concurrency=summary["knee_concurrency"],
        measured_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        machine=machine(),
        steps=results["steps"],
    )


def is_reference(ctx: ProbeContext, pack: Pack) -> bool:
    """Whether the submission being graded is the pack's reference itself, file for file."""
    return ctx.submission_sha256 == intake.submission_sha256(pack.path("reference"))


def reference_capacity(
    ctx: ProbeContext,
    pack: Pack,
    options: dict[str, Any],
    run: Measure,
    reference: Callable[[], ProbeContext] | None = None,
) -> Capacity | None:
    """The reference's figure for this machine: kept from before, or the median of
    `REFERENCE_RUNS` runs now (in `reference`'s context, made here when not given), then
    kept."""
    path = cache_path(ctx.settings.home, pack, options)
    cached = read_cached(path)
    if cached is not None:
        return cached
    fresh = reference or repeatable_reference(ctx, pack)
    runs = reference_runs(
        None, lambda: from_results(run(fresh(), options, Evidence("load.reference")))
    )
    if not runs:
        return None
    figures = [c.capacity_rps for c in runs]
    measured = replace(median_run(runs, lambda c: c.capacity_rps), runs=figures)
    write_cached(path, measured)
    return measured
