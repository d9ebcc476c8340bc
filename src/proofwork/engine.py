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
from typing import Any

from proofwork import __version__, dependencies, history, intake, runtime, signals
from proofwork.challenges import Pack, PackError, discover
from proofwork.challenges.kit import given_beside_starter, unchanged_tooling
from proofwork.config import Settings
from proofwork.evidence import Evidence, Finding, Report, Severity, Status, SubmissionInfo
from proofwork.probes import default_registry
from proofwork.probes.base import Budget, Probe, ProbeContext, not_applicable
from proofwork.sandbox import Limits, Sandbox, open_sandbox
from proofwork.sandbox.process import read_capped
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
    # Ready-made probes (an audit aims mutation at its hotspots); else `probes` by name.
    instances: list[Probe] | None = None
    # The run's working folder (the service names it after the run, to clean it up after a
    # crash); None: a fresh one under PROOFWORK_HOME/runs.
    run_dir: Path | None = None
    # Told the sandbox once it is open and None once it is closed (the service aborts it when
    # a run is cancelled).
    on_sandbox: Callable[[Sandbox | None], None] = field(default=lambda sandbox: None)


class GradeError(Exception):
    """The run could not happen at all (bad submission, no sandbox); says why in one line."""


def grade(request: GradeRequest) -> Report:
    """Ingest the submission, run the staged probes within the budget, return the Report."""
    settings, notify = request.settings, request.listener
    started_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    pack = _pack(request)
    default_budget = pack.spec.budget.total_s if pack else settings.budget_s
    budget = Budget(request.budget_s or default_budget)
    probes = request.instances or default_registry().create(request.probes)
    run_dir = _new_run_dir(settings, request.run_dir)
    try:
        notify(Event("phase", "intake"))
        submission = _ingest(request.source, run_dir / "workspace", settings)
        # Before any candidate code runs: the sandbox could rewrite `.git`.
        work = history_of(run_dir / "workspace", pack)
        with open_sandbox(
            settings.sandbox,
            run_dir / "workspace",
            run_dir / "sandbox",
            uid_base=settings.sandbox_uid,
        ) as sandbox:
            request.on_sandbox(sandbox)
            try:
                run = Run(sandbox, run_dir, submission.sha256, budget, request, pack)
                evidence = run.probes(probes)
            finally:
                request.on_sandbox(None)
            sandbox_info = sandbox.describe()
            review = review_material(run_dir / "workspace", pack)
    finally:
        if not request.keep_workspace:
            shutil.rmtree(run_dir, ignore_errors=True)
    if work:
        evidence.insert(0, history.evidence(work))
    report = Report(
        submission=submission,
        evidence=evidence,
        history=work,
        challenge=pack.id if pack else None,
        sandbox=sandbox_info,
        environment={"runtime_python": str(settings.runtime_python), "run_dir": str(run_dir)},
        review=review,
        started_at=started_at,
        duration_s=time.monotonic() - budget.started,
        version=__version__,
    )
    if pack is not None:
        scored = signals.score(
            pack, report.metrics, list(review), report.untrusted, findings=report.findings
        )
        report.signals = [s.to_json() for s in scored]
    return report


def history_of(workspace: Path, pack: Pack | None) -> dict[str, Any]:
    """How the work was done: the git history against the pack's time box, and the change
    against the pack's starter (with the files its kit puts beside the starter)."""
    if pack is None:
        return history.read(workspace)
    given = given_beside_starter(pack)
    return history.read(workspace, pack.spec.time_box_minutes, pack.path("starter"), given)


def _pack(request: GradeRequest) -> Pack | None:
    if request.challenge is None:
        return None
    try:
        return discover(request.settings.challenges_path).get(request.challenge)
    except PackError as exc:
        raise GradeError(str(exc)) from exc


REVIEW_FILES = ("DECISIONS.md", "README.md")
REVIEW_LIMIT = 64 * 1024


def review_material(workspace: Path, pack: Pack | None) -> dict[str, str]:
    """What reviewers read (a pack's rubric material, else DECISIONS.md and README.md)."""
    wanted = {m for r in pack.rubric.values() for m in r.material} if pack else set(REVIEW_FILES)
    material = {}
    for name in sorted(wanted):
        raw = read_capped(workspace / name, REVIEW_LIMIT)
        if raw is not None and "/" not in name:
            material[name] = raw.decode("utf-8", errors="replace")
    return material


def _new_run_dir(settings: Settings, chosen: Path | None = None) -> Path:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    run_dir = chosen or settings.runs_dir / f"{stamp}-{uuid.uuid4().hex[:8]}"
    run_dir.mkdir(parents=True)
    # The unprivileged sandbox uid must traverse into its workspace.
    for path in (run_dir, *run_dir.parents):
        if not path.is_relative_to(settings.home):
            break
        path.chmod(0o755)
    return run_dir


def intake_caps(settings: Settings) -> intake.IntakeCaps:
    """The intake caps the settings ask for."""
    return intake.IntakeCaps(
        max_bytes=settings.max_bytes,
        max_files=settings.max_files,
        max_file_bytes=settings.max_file_bytes,
        max_depth=settings.max_depth,
    )


def _ingest(source: Path, workspace: Path, settings: Settings) -> SubmissionInfo:
    try:
        return intake.ingest(source, workspace, intake_caps(settings))
    except intake.IntakeError as exc:
        raise GradeError(str(exc)) from exc


@dataclass
class Run:
    """One run's state while its probes execute."""

    sandbox: Sandbox
    run_dir: Path
    sha: str
    budget: Budget
    request: GradeRequest
    pack: Pack | None

    @property
    def workspace(self) -> Path:
        return self.run_dir / "workspace"

    def notify(self, event: Event) -> None:
        """Pass progress on to the request's listener."""
        self.request.listener(event)

    def environment(self, layer: Path | None = None) -> runtime.Environment:
        """The runtime for this run (a pack's fixed runtime for challenges)."""
        extra = self.pack.spec.runtime.dependencies if self.pack else ()
        try:
            return runtime.environment(
                self.request.settings,
                self.workspace,
                layer,
                log=lambda m: self.notify(Event("log", "runtime", message=m)),
                extra=extra,
            )
        except runtime.RuntimeBuildError as exc:
            raise GradeError(str(exc)) from exc

    def probes(self, probes: list[Probe]) -> list[Evidence]:
        """Prepare dependencies, run every probe in stage order, attach snippets."""
        self.notify(Event("phase", "runtime"))
        env = self.environment()
        results: list[Evidence] = []
        prepared = self._dependencies(env)
        if prepared is not None:
            layer, evidence = prepared
            results.append(evidence)
            if layer is not None:
                env = self.environment(layer)
        previous: dict[str, Evidence] = {}
        # Computed once, before any probe runs the candidate's code (which may rewrite files).
        excluded = unchanged_tooling(self.pack, self.workspace) if self.pack else frozenset()
        for probe in probes:
            outdir = self.run_dir / "out" / probe.name
            outdir.mkdir(parents=True)
            ctx = ProbeContext(
                self.workspace,
                self.sandbox,
                env,
                self.request.settings,
                self.budget,
                outdir,
                challenge=self.pack,
                previous=previous,
                submission_sha256=self.sha,
                excluded=excluded,
            )
            self.notify(Event("probe-start", probe.name))
            evidence = run_probe(probe, ctx)
            previous[probe.name] = evidence
            results.append(evidence)
            self.notify(Event("probe-end", probe.name, evidence))
        attach_snippets(results, self.workspace)
        return results

    def _dependencies(self, env: runtime.Environment) -> tuple[Path | None, Evidence] | None:
        # A challenge runs on the pack's fixed runtime: declaring more is a finding, not an
        # install. A generic run installs what the project declares, when installs are on.
        if self.pack is not None:
            self.notify(Event("probe-start", "install"))
            evidence = dependency_policy(self.workspace, Path(env.python).parent.parent, self.pack)
            self.notify(Event("probe-end", "install", evidence))
            return None, evidence
        if not self.request.settings.install:
            return None
        self.notify(Event("probe-start", "install"))
        layer, evidence = _install(
            self.sandbox, env, self.request.settings, self.workspace, self.sha, self.budget
        )
        self.notify(Event("probe-end", "install", evidence))
        return layer, evidence


def dependency_policy(workspace: Path, runtime_venv: Path, pack: Pack) -> Evidence:
    """Findings for declared dependencies that the pack's runtime does not provide."""
    evidence = Evidence("install")
    available = runtime.installed(runtime_venv)
    declared = dependencies.declared_names(workspace)
    outside = [n for n in declared if runtime.normalise(n) not in available]
    evidence.metrics["install.requested"] = len(declared)
    evidence.metrics["install.not_allowed"] = len(outside)
    allowed = ", ".join(pack.spec.runtime.dependencies) or "the standard library only"
    for name in outside:
        evidence.findings.append(
            Finding(
                "install.not_allowed",
                Severity.MEDIUM,
                f"Declares `{name}`, which this challenge's runtime does not provide "
                f"(allowed: {allowed}); code importing it will fail here.",
                probe="install",
            )
        )
    return evidence


def _install(
    sandbox: Sandbox,
    env: runtime.Environment,
    settings: Settings,
    workspace: Path,
    sha: str,
    budget: Budget,
) -> tuple[Path | None, Evidence]:
    started = time.monotonic()
    pins = runtime.tool_pins(Path(env.python).parent.parent)
    installer = dependencies.Installer(
        sandbox=sandbox,
        python=env.python,
        runtime_mounts=env.mounts,
        cache_dir=settings.deps_cache_dir,
        index_url=settings.index_url,
        constraints=pins,
        limits=Limits(
            wall_s=budget.share(300),
            memory_bytes=settings.memory_mb * 1024 * 1024,
            pids=settings.pids,
            cpus=2.0,
            tmp_bytes=1024 * 1024 * 1024,
        ),
    )
    try:
        provided = frozenset(pin.split("==")[0] for pin in pins)
        layer, evidence = installer.install(dependencies.plan(workspace, provided), sha)
    except Exception as exc:  # noqa: BLE001 - a failed install must not end the run
        layer, evidence = None, _failed("install", exc)
    evidence.duration_s = time.monotonic() - started
    return layer, evidence


def run_probe(probe: Probe, ctx: ProbeContext) -> Evidence:
    """Run one probe, turning a crash, a skip or an exhausted budget into Evidence."""
    started = time.monotonic()
    if ctx.budget.remaining_s <= 0:
        evidence = Evidence(probe.name, Status.SKIPPED, error="the run's time budget was used up")
    elif (reason := not_applicable(probe, ctx)) is not None:
        evidence = Evidence(probe.name, Status.SKIPPED, error=reason)
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
