"""The harness process: `python -m proofwork.harness JOB.json`, started in a fresh network
namespace (`unshare --net`) by a probe. Trusted code only; the candidate's service runs in the
sandbox and shares nothing with it but the namespace's loopback."""

from __future__ import annotations

import fcntl
import json
import os
import socket
import struct
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from proofwork.harness.checks import CheckContext, load_checks, run_checks
from proofwork.harness.http import Http
from proofwork.harness.job import PROVIDER_PORT, Job
from proofwork.harness.provider import Provider
from proofwork.harness.service import ServiceControl, ServiceError, log_metrics
from proofwork.sandbox import open_sandbox
from proofwork.sandbox.bwrap import BwrapSandbox
from proofwork.sandbox.unsafe import UnsafeSandbox

SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1


def loopback_up() -> None:
    """Bring `lo` up in this (new, empty) network namespace."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sh", b"lo", 0)
        flags = struct.unpack("16sh", fcntl.ioctl(sock, SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sh", b"lo", flags | IFF_UP))


def pin(cpus: str | None) -> None:
    """Keep the harness off the service's core when the job says which cores are whose."""
    if cpus:
        os.sched_setaffinity(0, {int(c) for c in cpus.split(",")})


def sandbox_for(job: Job) -> BwrapSandbox | UnsafeSandbox:
    """Join the run's sandbox (its uid is already leased by the grader)."""
    if job.backend == "bwrap":
        return BwrapSandbox(Path(job.workspace), Path(job.state_dir), uid=job.uid)
    return open_sandbox(job.backend, Path(job.workspace), Path(job.state_dir))


def run_acceptance(job: Job, service: ServiceControl, provider: Provider) -> dict[str, Any]:
    """Start the service, run the pack's checks against it, stop it with SIGTERM."""
    only = set(job.only) or None
    checks = [c for c in load_checks(Path(job.checks_dir)) if only is None or c.id in only]
    results: dict[str, Any] = {"service": {"started": False}}
    try:
        results["service"]["startup_s"] = round(service.start(provider.url), 3)
    except ServiceError as exc:
        # Every check fails for the same reason, so the counts mean the same in every run.
        results["service"]["error"] = str(exc)
        results["checks"] = [not_run(c.id, c.rule, c.title, str(exc)) for c in checks]
        return results
    results["service"]["started"] = True
    results["service"]["healthz_status"] = service.probe_status()
    ctx = CheckContext(http=Http(service.base_url), provider=provider, service=service)
    results["checks"] = [r.to_json() for r in run_checks(checks, ctx)]
    clean, seconds = service.stop()
    results["service"].update({"sigterm_clean": clean, "sigterm_s": round(seconds, 3)})
    return results


def not_run(check_id: str, rule: str, title: str, reason: str) -> dict[str, Any]:
    """A check that could not run because the service never answered."""
    return {
        "id": check_id,
        "rule": rule,
        "title": title,
        "passed": False,
        "status": "failed",
        "message": f"not run: {reason}",
        "exchange": None,
        "duration_s": 0.0,
    }


def main(job_path: str) -> int:
    """Run the job and write its results; exit 0 when results were written."""
    job = Job.read(Path(job_path))
    started = time.monotonic()
    loopback_up()
    pin(job.cpus.get("harness"))
    provider = Provider(port=PROVIDER_PORT)
    provider.start()
    service = ServiceControl(sandbox_for(job), job)
    try:
        results = run_acceptance(job, service, provider)
    except Exception as exc:  # noqa: BLE001 - report a harness failure as data, not a crash
        results = {"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}
    finally:
        service.close()
        provider.stop()
    results["logs"] = log_metrics(service.log_lines())
    results["log_sample"] = service.log_lines()[:40]
    results["duration_s"] = round(time.monotonic() - started, 3)
    Path(job.results).write_text(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
