"""What every probe that runs the submission's service shares: its start command, the job
for the harness process, the harness run itself, and the service's own metrics."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from dataclasses import asdict
from pathlib import Path
from typing import Any

from proofwork.challenges import Pack
from proofwork.evidence import Evidence, Finding, MetricValue, Severity, Status
from proofwork.harness.job import DATA, Companion, Job, ServiceSpec
from proofwork.probes.base import ProbeContext
from proofwork.sandbox.base import MiB
from proofwork.sandbox.bwrap import BwrapSandbox
from proofwork.sandbox.process import read_capped

SUBMISSION_CONFIG = "proofwork.toml"
HARNESS_SLACK_S = 30.0  # start-up, shutdown grace and results beyond the checks themselves


# Where a submission names its command, by kind of pack: (table, key, an example).
COMMANDS = {
    "service": ("service", "start", "python -m uvicorn app.main:app --port $PORT"),
    "job": ("job", "run", "python -m ledger --input $INPUT_DIR --output $OUTPUT_DIR --date $DATE"),
}


class SubmissionConfigError(Exception):
    """The submission does not say how to start its service (or run its job)."""


def start_command(workspace: Path, kind: str = "service") -> str:
    """`[service] start` (or, for a job, `[job] run`) from the submission's proofwork.toml,
    read without following links."""
    table, key, example = COMMANDS[kind]
    what = "start the service" if kind == "service" else "run the job"
    raw = read_capped(workspace / SUBMISSION_CONFIG, 64 * 1024)
    if raw is None:
        raise SubmissionConfigError(
            f"{SUBMISSION_CONFIG} is missing (or not a plain file): it must say how to {what}, "
            f'e.g. [{table}] {key} = "{example}"'
        )
    try:
        data = tomllib.loads(raw.decode("utf-8", errors="replace"))
    except tomllib.TOMLDecodeError as exc:
        raise SubmissionConfigError(f"{SUBMISSION_CONFIG} is not valid TOML: {exc}") from exc
    section = data.get(table)
    command = section.get(key) if isinstance(section, dict) else None
    if not isinstance(command, str) or not command.strip():
        raise SubmissionConfigError(
            f'{SUBMISSION_CONFIG} has no [{table}] {key} command: add e.g. {key} = "{example}"'
        )
    return command


def cpu_split() -> dict[str, str]:
    """One core for the service and the rest for the harness, where there are two or more,
    so the load generator never steals the service's time."""
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        return {}
    return {"service": str(cores[0]), "harness": ",".join(str(c) for c in cores[1:])}


def build_job(
    ctx: ProbeContext,
    kind: str,
    *,
    deadline_s: float,
    checks_dir: str = "",
    options: dict[str, Any] | None = None,
    run_timeout_s: float | None = None,
    companion: Companion | None = None,
) -> Job:
    """The job for one harness run against the submission's service, written to outdir
    (with `companion`, the reference's service to run beside it)."""
    pack: Pack = ctx.challenge
    start = start_command(ctx.workspace, pack.spec.kind)
    data, mounts = service_mounts(ctx)
    spec = pack.spec.service
    sandbox = ctx.sandbox
    cpus = cpu_split()
    limits = ctx.limits(deadline_s, cpuset=cpus.get("service"))
    if pack.spec.kind == "job":  # each run of a job, not the whole harness job
        memory = pack.spec.job.memory_mib * MiB
        each = run_timeout_s or pack.spec.job.run_timeout_s
        limits = ctx.limits(each, cpuset=limits.cpuset, memory_bytes=memory)
    job = Job(
        kind=kind,
        backend=sandbox.name,
        uid=sandbox.uid if isinstance(sandbox, BwrapSandbox) else 0,
        workspace=str(ctx.workspace),
        state_dir=str(sandbox.state_dir if isinstance(sandbox, BwrapSandbox) else ctx.outdir),
        data_dir=str(data),
        results=str(ctx.outdir / f"{kind}-results.json"),
        service=ServiceSpec(
            start=start,
            health_path=spec.health_path,
            startup_timeout_s=spec.startup_timeout_s,
            shutdown_timeout_s=spec.shutdown_timeout_s,
        ),
        env=ctx.environment.env,
        mounts=mounts,
        limits=asdict(limits),
        checks_dir=checks_dir,
        deadline_s=deadline_s,
        cpus=cpus,
        options=options or {},
        target=pack.spec.kind,
        companion=companion,
    )
    job.write(ctx.outdir / f"{kind}-job.json")
    return job


def service_mounts(ctx: ProbeContext) -> tuple[Path, list[tuple[str, str, bool]]]:
    """The folder the service keeps its data in (made if missing), and what its sandbox
    mounts: the runtime's mounts, and that folder as DATA_DIR."""
    data = ctx.outdir / "data"
    data.mkdir(exist_ok=True)
    mounts = [(str(m.source), m.target, m.writable) for m in ctx.environment.mounts]
    return data, [*mounts, (str(data), DATA, True)]


def reference_companion(ctx: ProbeContext, concurrency: int) -> Companion:
    """The reference's service (`ctx` is its context) as a load job's companion, loaded at
    `concurrency` when its turn comes."""
    pack: Pack = ctx.challenge
    _, mounts = service_mounts(ctx)
    return Companion(
        workspace=str(ctx.workspace),
        start=start_command(ctx.workspace, pack.spec.kind),
        env=ctx.environment.env,
        mounts=mounts,
        concurrency=concurrency,
    )


def run_in_harness(ctx: ProbeContext, job: Job, evidence: Evidence) -> dict[str, Any] | None:
    """Run the job in a harness process in a fresh network namespace; its results, or None
    (with the evidence marked as an error) when it wrote none."""
    argv = ["unshare", "--net", "--", sys.executable, "-m", "proofwork.harness"]
    argv.append(str(ctx.outdir / f"{job.kind}-job.json"))
    try:
        done = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=job.deadline_s + HARNESS_SLACK_S,
            check=False,
        )
        evidence.add_artifact(
            "harness.log", f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
        )
    except subprocess.TimeoutExpired as exc:
        evidence.add_artifact("harness.log", f"harness timed out after {exc.timeout:.0f}s")
    raw = read_capped(Path(job.results), 32 * MiB)
    if raw is None:
        evidence.status, evidence.error = Status.ERROR, "the harness wrote no results"
        return None
    results: dict[str, Any] = json.loads(raw)
    if "error" in results:
        evidence.status, evidence.error = Status.ERROR, f"harness: {results['error']}"
        evidence.add_artifact("harness.traceback", str(results.get("traceback", "")))
    if results.get("log_sample"):
        evidence.add_artifact("service.log", "\n".join(results["log_sample"]))
    return results


class JobHarnessProbe:
    """A probe that runs a batch job's trusted harness part (named after the probe) on the
    pack's hidden seed and judges the part of the results it wrote; subclasses say how long
    it may take, what options it gets, and how its results become metrics and findings."""

    name = ""
    stage = 40
    kinds = ("job",)
    budget_s = 60.0

    def applies(self, ctx: ProbeContext) -> bool:
        """Only against a job pack."""
        return isinstance(ctx.challenge, Pack) and ctx.challenge.spec.kind == "job"

    def run(self, ctx: ProbeContext) -> Evidence:
        """Run the harness part in its own process and judge what it reports."""
        pack: Pack = ctx.challenge
        evidence = Evidence(self.name)
        try:
            job = build_job(
                ctx,
                self.name,
                deadline_s=ctx.budget.share(self.budget_s),
                checks_dir=str(pack.path("checks")),
                options={"seed": pack.spec.job.hidden_seed, **self.options()},
            )
        except SubmissionConfigError as exc:
            rule = f"{self.name}.no_job"
            evidence.findings.append(Finding(rule, Severity.CRITICAL, str(exc)))
            return evidence
        results = run_in_harness(ctx, job, evidence)
        if results is not None:
            part = results.get(self.name, {})
            evidence.metrics.update(self.metrics(part))
            evidence.findings += self.findings(part)
        return evidence

    def options(self) -> dict[str, Any]:
        """What the harness part is asked to do besides the seed."""
        return {}

    def metrics(self, part: dict[str, Any]) -> dict[str, MetricValue]:
        """The figures of this part of the results."""
        raise NotImplementedError

    def findings(self, part: dict[str, Any]) -> list[Finding]:
        """The findings of this part of the results."""
        raise NotImplementedError


def service_metrics(results: dict[str, Any]) -> dict[str, MetricValue]:
    """How the service behaved as a process: started, healthy, clean exit, its logs."""
    service, logs = results.get("service", {}), results.get("logs", {})
    metrics: dict[str, MetricValue] = {
        "service.started": bool(service.get("started")),
        "service.healthz_ok": service.get("healthz_status") == 200,
        "service.sigterm_clean": bool(service.get("sigterm_clean")),
    }
    for key in ("startup_s", "sigterm_s", "healthz_status"):
        if service.get(key) is not None:
            metrics[f"service.{key}"] = service[key]
    metrics.update({k: v for k, v in logs.items() if k.startswith("service.")})
    cpus = results.get("cpus") or {}
    metrics["service.cpus"] = str(cpus.get("service", "shared"))
    metrics["harness.cpus"] = str(cpus.get("harness", "shared"))
    return metrics


def job_metrics(results: dict[str, Any]) -> dict[str, MetricValue]:
    """How a batch job behaved as a process over the harness's runs, and its logs."""
    job, logs = results.get("job", {}), results.get("logs", {})
    metrics: dict[str, MetricValue] = {
        "job.ran": bool(job.get("ran")),
        "job.runs": int(job.get("runs", 0)),
        "job.stopped_by_limits": ",".join(job.get("stopped", [])) or "none",
        "job.longest_run_s": float(job.get("longest_run_s", 0.0)),
        "job.longest_run_log_lines": int(job.get("longest_run_log_lines", 0)),
    }
    # The log measures are the same for a job as for a service (request ids aside).
    for key in ("log_lines", "structured_logs_percent"):
        if f"service.{key}" in logs:
            metrics[f"job.{key}"] = logs[f"service.{key}"]
    return metrics
