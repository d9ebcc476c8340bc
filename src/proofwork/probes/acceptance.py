"""The `acceptance` probe: a pack's hidden checks, run by trusted harness code over HTTP
against the submission's service, never inside the candidate's processes."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any

from proofwork.challenges import Pack
from proofwork.evidence import Evidence, Finding, MetricValue, Severity, Status
from proofwork.harness.job import DATA, Job, ServiceSpec
from proofwork.probes.base import ProbeContext
from proofwork.sandbox.base import MiB
from proofwork.sandbox.bwrap import BwrapSandbox
from proofwork.sandbox.process import read_capped

SUBMISSION_CONFIG = "proofwork.toml"
HARNESS_SLACK_S = 30.0  # start-up, shutdown grace and results beyond the checks themselves


class SubmissionConfigError(Exception):
    """The submission does not say how to start its service."""


def start_command(workspace: Path) -> str:
    """`[service] start` from the submission's proofwork.toml (read without following links)."""
    raw = read_capped(workspace / SUBMISSION_CONFIG, 64 * 1024)
    if raw is None:
        raise SubmissionConfigError(
            f"{SUBMISSION_CONFIG} is missing (or not a plain file): it must say how to start "
            'the service, e.g. [service] start = "python -m uvicorn app.main:app --port $PORT"'
        )
    try:
        data = tomllib.loads(raw.decode("utf-8", errors="replace"))
    except tomllib.TOMLDecodeError as exc:
        raise SubmissionConfigError(f"{SUBMISSION_CONFIG} is not valid TOML: {exc}") from exc
    start = data.get("service", {}).get("start") if isinstance(data.get("service"), dict) else None
    if not isinstance(start, str) or not start.strip():
        raise SubmissionConfigError(f"{SUBMISSION_CONFIG} has no [service] start command")
    return start


def rule_metrics(checks: list[dict[str, Any]]) -> dict[str, MetricValue]:
    """Totals, and failures per business rule (`acceptance.r6.failed`)."""
    passed = sum(1 for c in checks if c.get("passed"))
    errors = sum(1 for c in checks if c.get("status") == "error")
    total = len(checks)
    metrics: dict[str, MetricValue] = {
        "acceptance.total": total,
        "acceptance.passed": passed,
        "acceptance.failed": total - passed - errors,
        "acceptance.errors": errors,
        "acceptance.passed_percent": round(100.0 * passed / total, 1) if total else 0.0,
    }
    per_rule = Counter(str(c.get("rule", "")).lower() for c in checks)
    failed_rule = Counter(str(c.get("rule", "")).lower() for c in checks if not c.get("passed"))
    for rule in sorted(r for r in per_rule if r.isalnum()):
        metrics[f"acceptance.{rule}.total"] = per_rule[rule]
        metrics[f"acceptance.{rule}.failed"] = failed_rule[rule]
    return metrics


def exchange_text(exchange: dict[str, Any] | None) -> str | None:
    """The request and response of a failed check, as a person would read them."""
    if not exchange:
        return None
    request = f"{exchange.get('method')} {exchange.get('url')}"
    body = exchange.get("request_body")
    if body:
        request += f"\n{body}"
    status = exchange.get("status")
    response = (
        f"→ {status}\n{exchange.get('response_body') or ''}"
        if status is not None
        else f"→ no response: {exchange.get('error')}"
    )
    return f"{request}\n{response}".strip()


class AcceptanceProbe:
    name = "acceptance"
    stage = 30

    def applies(self, ctx: ProbeContext) -> bool:
        """Only when grading against a challenge pack."""
        return isinstance(ctx.challenge, Pack)

    def run(self, ctx: ProbeContext) -> Evidence:
        """Run the pack's checks in a harness process and turn its results into evidence."""
        pack: Pack = ctx.challenge
        evidence = Evidence(self.name)
        try:
            start = start_command(ctx.workspace)
        except SubmissionConfigError as exc:
            return self._cannot_start(evidence, str(exc))
        job = self._job(ctx, pack, start)
        done = self._harness(ctx, job)
        evidence.add_artifact("harness.log", done)
        raw = read_capped(Path(job.results), 32 * MiB)
        if raw is None:
            evidence.status, evidence.error = Status.ERROR, "the harness wrote no results"
            return evidence
        return self._evidence(evidence, json.loads(raw))

    def _job(self, ctx: ProbeContext, pack: Pack, start: str) -> Job:
        data = ctx.outdir / "data"
        data.mkdir()
        service = pack.spec.service
        deadline = ctx.budget.share(pack.spec.budget.acceptance_s)
        sandbox = ctx.sandbox
        mounts = [(str(m.source), m.target, m.writable) for m in ctx.environment.mounts]
        job = Job(
            kind="acceptance",
            backend=sandbox.name,
            uid=sandbox.uid if isinstance(sandbox, BwrapSandbox) else 0,
            workspace=str(ctx.workspace),
            state_dir=str(sandbox.state_dir if isinstance(sandbox, BwrapSandbox) else ctx.outdir),
            data_dir=str(data),
            results=str(ctx.outdir / "results.json"),
            service=ServiceSpec(
                start=start,
                health_path=service.health_path,
                startup_timeout_s=service.startup_timeout_s,
                shutdown_timeout_s=service.shutdown_timeout_s,
            ),
            env=ctx.environment.env,
            mounts=[*mounts, (str(data), DATA, True)],
            limits=asdict(ctx.limits(deadline)),
            checks_dir=str(pack.path("checks")),
            deadline_s=deadline,
        )
        job.write(ctx.outdir / "job.json")
        return job

    def _harness(self, ctx: ProbeContext, job: Job) -> str:
        argv = ["unshare", "--net", "--", sys.executable, "-m", "proofwork.harness"]
        argv.append(str(ctx.outdir / "job.json"))
        try:
            done = subprocess.run(
                argv,
                capture_output=True,
                text=True,
                timeout=job.deadline_s + HARNESS_SLACK_S,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            return f"harness timed out after {exc.timeout:.0f}s"
        return f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"

    def _cannot_start(self, evidence: Evidence, reason: str) -> Evidence:
        evidence.metrics.update({"service.started": False, "acceptance.passed": 0})
        evidence.findings.append(
            Finding("acceptance.no_service", Severity.CRITICAL, reason, probe=self.name)
        )
        return evidence

    def _evidence(self, evidence: Evidence, results: dict[str, Any]) -> Evidence:
        if "error" in results:
            evidence.status, evidence.error = Status.ERROR, f"harness: {results['error']}"
            evidence.add_artifact("harness.traceback", str(results.get("traceback", "")))
        service = results.get("service", {})
        checks = [c for c in results.get("checks", []) if isinstance(c, dict)]
        evidence.metrics.update(rule_metrics(checks))
        evidence.metrics.update(self._service_metrics(service, results.get("logs", {})))
        evidence.add_artifact("service.log", "\n".join(results.get("log_sample", [])))
        if not service.get("started"):
            message = f"The service did not start: {service.get('error', 'unknown reason')}"
            evidence.findings.append(
                Finding("acceptance.no_service", Severity.CRITICAL, message, probe=self.name)
            )
        evidence.findings += [self._finding(c) for c in checks if not c.get("passed")]
        return evidence

    @staticmethod
    def _service_metrics(service: dict[str, Any], logs: dict[str, Any]) -> dict[str, MetricValue]:
        metrics: dict[str, MetricValue] = {
            "service.started": bool(service.get("started")),
            "service.healthz_ok": service.get("healthz_status") == 200,
            "service.sigterm_clean": bool(service.get("sigterm_clean")),
        }
        for key in ("startup_s", "sigterm_s", "healthz_status"):
            if service.get(key) is not None:
                metrics[f"service.{key}"] = service[key]
        metrics.update({k: v for k, v in logs.items() if k.startswith("service.")})
        return metrics

    def _finding(self, check: dict[str, Any]) -> Finding:
        rule, title = check.get("rule", "?"), check.get("title", check.get("id", "?"))
        severity = Severity.HIGH if check.get("status") != "error" else Severity.MEDIUM
        return Finding(
            f"acceptance.{check.get('id')}",
            severity,
            f"{rule} {title}: {check.get('message', '')}".strip(),
            snippet=exchange_text(check.get("exchange")),
            probe=self.name,
        )
