"""The harness process: `python -m proofwork.harness JOB.json`, started in a fresh network
namespace (`unshare --net`) by a probe. Trusted code only; the candidate's service runs in the
sandbox and shares nothing with it but the namespace's loopback."""

from __future__ import annotations

import fcntl
import importlib
import json
import os
import socket
import struct
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from proofwork.harness.batch import BatchControl
from proofwork.harness.job import PROVIDER_PORT, Job
from proofwork.harness.provider import Provider
from proofwork.harness.service import ServiceControl, log_metrics, sandbox_for

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


# Each kind of harness job is a module with `run(job, service, provider) -> results`.
KINDS = {
    "acceptance": "proofwork.harness.acceptance",
    "load": "proofwork.harness.load",
    "faults": "proofwork.harness.faults",
    "durability": "proofwork.harness.durability",
    "input": "proofwork.harness.fuzz",
    "operability": "proofwork.harness.operability",
}


# A batch job's kinds: modules with `run(job, control) -> results`.
JOB_KINDS = {
    "acceptance": "proofwork.harness.batch_checks",
    "scale": "proofwork.harness.scale",
    "durability": "proofwork.harness.batch_durability",
    "input": "proofwork.harness.batch_fuzz",
}


def runner(kind: str) -> Callable[[Job, ServiceControl, Provider], dict[str, Any]]:
    """The `run` function of a kind of job."""
    if kind not in KINDS:
        raise ValueError(f"unknown harness job kind {kind!r}; known: {', '.join(KINDS)}")
    run: Callable[[Job, ServiceControl, Provider], dict[str, Any]]
    run = importlib.import_module(KINDS[kind]).run
    return run


def batch_runner(kind: str) -> Callable[[Job, BatchControl], dict[str, Any]]:
    """The `run` function of a kind of harness job against a batch job."""
    if kind not in JOB_KINDS:
        raise ValueError(f"{kind!r} does not apply to a batch job; known: {', '.join(JOB_KINDS)}")
    run: Callable[[Job, BatchControl], dict[str, Any]]
    run = importlib.import_module(JOB_KINDS[kind]).run
    return run


def main(job_path: str) -> int:
    """Run the job and write its results; exit 0 when results were written."""
    job = Job.read(Path(job_path))
    started = time.monotonic()
    loopback_up()
    pin(job.cpus.get("harness"))
    if job.target == "job":
        control = BatchControl(sandbox_for(job), job)
        results = _guarded(lambda: batch_runner(job.kind)(job, control))
        _finish(job, results, control.log_lines(), started)
        return 0
    provider = Provider(port=PROVIDER_PORT)
    provider.start()
    service = ServiceControl(sandbox_for(job), job)
    try:
        results = _guarded(lambda: runner(job.kind)(job, service, provider))
    finally:
        service.close()
        provider.stop()
    _finish(job, results, service.log_lines(), started)
    return 0


def _guarded(body: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    try:
        return body()
    except Exception as exc:  # noqa: BLE001 - report a harness failure as data, not a crash
        return {"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}


def _finish(job: Job, results: dict[str, Any], lines: list[str], started: float) -> None:
    results["cpus"] = job.cpus
    results["logs"] = log_metrics(lines)
    results["log_sample"] = lines[:40]
    results["duration_s"] = round(time.monotonic() - started, 3)
    Path(job.results).write_text(json.dumps(results))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
