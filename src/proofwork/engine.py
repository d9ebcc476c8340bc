"""The grading engine: one function from a submission to a Report, used by every front end."""

from __future__ import annotations

import datetime as dt
import shutil
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from proofwork import __version__, dependencies, intake, runtime
from proofwork.config import Settings
from proofwork.evidence import Evidence, Report, Status, SubmissionInfo
from proofwork.probes import default_registry
from proofwork.probes.base import Budget, Probe, ProbeContext
from proofwork.sandbox import Limits, Sandbox, open_sandbox
from proofwork.snippets import attach_snippets


@dataclass(frozen=True)
class Event:
    """Progress of a run, for whoever shows it (terminal, web, worker logs)."""

    kind: str  # "phase" | "probe-start" | "probe-end" | "log"
    name: str
    evidence: Evidence | None = None
    message: str = ""


Listener = Callable[[Event], None]


@dataclass
class GradeRequest:
    source: Path
    settings: Settings
    challenge: str | None = None
    probes: list[str] | None = None
    budget_s: float | None = None
    keep_workspace: bool = False
    listener: Listener = field(default=lambda event: None)


class GradeError(Exception):
    """The run could not happen at all (bad submission, no sandbox); says why in one line."""


def grade(request: GradeRequest) -> Report:
    """Ingest the submission, run the staged probes within the budget, return the Report."""
    settings, notify = request.settings, request.listener
    started_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    budget = Budget(request.budget_s or settings.budget_s)
    probes = default_registry().create(request.probes)
    run_dir = _new_run_dir(settings)
    try:
        notify(Event("phase", "intake"))
        submission = _ingest(request.source, run_dir / "workspace", settings)
        with open_sandbox(
            settings.sandbox,
            run_dir / "workspace",
            run_dir / "sandbox",
            uid_base=settings.sandbox_uid,
        ) as sandbox:
            evidence = _run(sandbox, run_dir, submission.sha256, probes, budget, request)
            sandbox_info = sandbox.describe()
    finally:
        if not request.keep_workspace:
            shutil.rmtree(run_dir, ignore_errors=True)
    return Report(
        submission=submission,
        evidence=evidence,
        challenge=request.challenge,
        sandbox=sandbox_info,
        environment={"runtime_python": str(settings.runtime_python), "run_dir": str(run_dir)},
        started_at=started_at,
        duration_s=time.monotonic() - budget.started,
        version=__version__,
    )


def _new_run_dir(settings: Settings) -> Path:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    run_dir = settings.runs_dir / f"{stamp}-{uuid.uuid4().hex[:8]}"
    run_dir.mkdir(parents=True)
    # The unprivileged sandbox uid must traverse into its workspace.
    for path in (settings.home, settings.runs_dir, run_dir):
        path.chmod(0o755)
    return run_dir


def _ingest(source: Path, workspace: Path, settings: Settings) -> SubmissionInfo:
    caps = intake.IntakeCaps(
        max_bytes=settings.max_bytes,
        max_files=settings.max_files,
        max_file_bytes=settings.max_file_bytes,
        max_depth=settings.max_depth,
    )
    try:
        return intake.ingest(source, workspace, caps)
    except intake.IntakeError as exc:
        raise GradeError(str(exc)) from exc


def _run(
    sandbox: Sandbox,
    run_dir: Path,
    sha: str,
    probes: list[Probe],
    budget: Budget,
    request: GradeRequest,
) -> list[Evidence]:
    settings, notify = request.settings, request.listener
    workspace = run_dir / "workspace"
    notify(Event("phase", "runtime"))
    try:
        env = runtime.environment(
            settings, workspace, log=lambda m: notify(Event("log", "runtime", message=m))
        )
    except runtime.RuntimeBuildError as exc:
        raise GradeError(str(exc)) from exc
    results: list[Evidence] = []
    if request.challenge is None and settings.install:
        notify(Event("probe-start", "install"))
        layer, installed = _install(sandbox, env, settings, workspace, sha, budget)
        results.append(installed)
        notify(Event("probe-end", "install", installed))
        if layer is not None:
            env = runtime.environment(settings, workspace, layer)
    previous: dict[str, Evidence] = {}
    for probe in probes:
        outdir = run_dir / "out" / probe.name
        outdir.mkdir(parents=True)
        ctx = ProbeContext(workspace, sandbox, env, settings, budget, outdir, previous=previous)
        notify(Event("probe-start", probe.name))
        evidence = run_probe(probe, ctx)
        previous[probe.name] = evidence
        results.append(evidence)
        notify(Event("probe-end", probe.name, evidence))
    attach_snippets(results, workspace)
    return results


def _install(
    sandbox: Sandbox,
    env: runtime.Environment,
    settings: Settings,
    workspace: Path,
    sha: str,
    budget: Budget,
) -> tuple[Path | None, Evidence]:
    started = time.monotonic()
    installer = dependencies.Installer(
        sandbox=sandbox,
        python=env.python,
        runtime_mounts=env.mounts,
        cache_dir=settings.deps_cache_dir,
        index_url=settings.index_url,
        limits=Limits(
            wall_s=budget.share(300),
            memory_bytes=settings.memory_mb * 1024 * 1024,
            pids=settings.pids,
            cpus=2.0,
            tmp_bytes=1024 * 1024 * 1024,
        ),
    )
    try:
        layer, evidence = installer.install(dependencies.plan(workspace), sha)
    except Exception as exc:  # noqa: BLE001 - a failed install must not end the run
        layer, evidence = None, _failed("install", exc)
    evidence.duration_s = time.monotonic() - started
    return layer, evidence


def run_probe(probe: Probe, ctx: ProbeContext) -> Evidence:
    """Run one probe, turning a crash, a skip or an exhausted budget into Evidence."""
    started = time.monotonic()
    if ctx.budget.remaining_s <= 0:
        evidence = Evidence(probe.name, Status.SKIPPED, error="the run's time budget was used up")
    elif not probe.applies(ctx):
        evidence = Evidence(probe.name, Status.SKIPPED, error="nothing to measure")
    else:
        try:
            evidence = probe.run(ctx)
        except Exception as exc:  # noqa: BLE001 - a crashing probe never takes the run down
            evidence = _failed(probe.name, exc)
    evidence.duration_s = time.monotonic() - started
    return evidence


def _failed(name: str, exc: BaseException) -> Evidence:
    evidence = Evidence(name, Status.ERROR, error=f"{type(exc).__name__}: {exc}")
    evidence.add_artifact("traceback", "".join(traceback.format_exception(exc)))
    return evidence
