"""Acceptance jobs: the pack's hidden checks over HTTP against the running service."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from proofwork.harness.checks import Check, CheckContext, load_checks, run_checks
from proofwork.harness.http import Http
from proofwork.harness.job import Job
from proofwork.harness.provider import Provider
from proofwork.harness.service import ServiceControl, ServiceError


def run(job: Job, service: ServiceControl, provider: Provider) -> dict[str, Any]:
    """Start the service, run the pack's checks against it, stop it with SIGTERM."""
    only = set(job.only) or None
    checks = [c for c in load_checks(Path(job.checks_dir)) if only is None or c.id in only]
    results: dict[str, Any] = {"service": {"started": False}}
    try:
        results["service"]["startup_s"] = round(service.start(provider.url), 3)
    except ServiceError as exc:
        # Every check fails for the same reason, so the counts mean the same in every run.
        results["service"]["error"] = str(exc)
        results["checks"] = [not_run(c, str(exc)) for c in checks]
        return results
    results["service"]["started"] = True
    results["service"]["healthz_status"] = service.probe_status()
    ctx = CheckContext(http=Http(service.base_url), provider=provider, service=service)
    results["checks"] = [r.to_json() for r in run_checks(checks, ctx)]
    clean, seconds = service.stop()
    results["service"].update({"sigterm_clean": clean, "sigterm_s": round(seconds, 3)})
    return results


def not_run(declared: Check, reason: str) -> dict[str, Any]:
    """A check that could not run because the service never answered (at its own severity)."""
    return {
        "id": declared.id,
        "rule": declared.rule,
        "title": declared.title,
        "passed": False,
        "status": "failed",
        "severity": declared.severity,
        "message": f"not run: {reason}",
        "exchange": None,
        "duration_s": 0.0,
    }
