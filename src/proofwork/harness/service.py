"""The candidate's service under the harness's control: start, wait until it answers, restart,
kill -9, stop with SIGTERM; its logs kept across restarts for the operability measures."""

from __future__ import annotations

import http.client
import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from proofwork.harness.job import DATA, SERVICE_PORT, Job
from proofwork.sandbox import open_sandbox
from proofwork.sandbox.base import ExecResult, Sandbox
from proofwork.sandbox.bwrap import BwrapSandbox
from proofwork.sandbox.process import SandboxProcess, comm, parent

SHELLS = ("sh", "dash", "bash")
REQUEST_ID_KEYS = (
    "request_id",
    "requestid",
    "req_id",
    "correlation_id",
    "trace_id",
    "x-request-id",
)
KEY_VALUE = re.compile(r"(?:^|\s)[A-Za-z_][\w.-]*=(?:\"[^\"]*\"|\S+)")


def sandbox_for(job: Job) -> Sandbox:
    """Join the run's sandbox over the job's workspace (its uid is already leased by the
    grader)."""
    if job.backend == "bwrap":
        return BwrapSandbox(Path(job.workspace), Path(job.state_dir), uid=job.uid)
    return open_sandbox(job.backend, Path(job.workspace), Path(job.state_dir))


class ServiceError(Exception):
    """The service could not be started or did not answer in time."""


@dataclass
class Incarnation:
    """One run of the service process, from start to stop."""

    process: SandboxProcess
    started_s: float
    stdout: bytes = b""
    stderr: bytes = b""


@dataclass
class ServiceControl:
    sandbox: Sandbox
    job: Job
    port: int = SERVICE_PORT
    incarnations: list[Incarnation] = field(default_factory=list)
    _current: Incarnation | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self, payments_url: str) -> dict[str, str]:
        """The environment the brief promises: PORT, DATA_DIR, PAYMENTS_URL."""
        return {
            **self.job.env,
            "PORT": str(self.port),
            "DATA_DIR": DATA,
            "PAYMENTS_URL": payments_url,
        }

    def start(self, payments_url: str) -> float:
        """Start the service and wait until it answers HTTP; seconds it took."""
        started = time.monotonic()
        process = self.sandbox.start(
            ["/bin/sh", "-c", self.job.service.start],
            limits=self.job.sandbox_limits(),
            env=self.env(payments_url),
            network=True,  # the harness's own namespace: loopback only
            mounts=self.job.sandbox_mounts(),
        )
        self._current = Incarnation(process, started)
        self._payments_url = payments_url
        self._wait_until_answering(self._current, self.job.service.startup_timeout_s)
        return time.monotonic() - started

    def _wait_until_answering(self, run: Incarnation, timeout_s: float) -> None:
        # Any HTTP answer on the health path means it is listening; whether the answer is a
        # healthy 200 is measured separately (a missing /healthz is a finding, not a hang).
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not run.process.running:
                self._end(self._take(), run.process.wait())
                raise ServiceError("the service exited during start-up")
            if self.probe_status() is not None:
                return
            time.sleep(0.1)
        raise ServiceError(f"the service did not answer HTTP within {timeout_s:.0f}s")

    def probe_status(self, path: str | None = None, timeout_s: float = 2.0) -> int | None:
        """The HTTP status of GET path (default: the health path), or None if nothing answers."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout_s)
        try:
            conn.request("GET", path or self.job.service.health_path)
            return conn.getresponse().status
        except OSError:
            return None
        finally:
            conn.close()

    def stop(self) -> tuple[bool, float]:
        """SIGTERM and wait the pack's grace; whether it exited in time, and how long it took."""
        current = self._take()
        began = time.monotonic()
        # The `sh -c` around the start command is ours, not the candidate's: signalled, it
        # would die at once and take the sandbox (and a draining service) down with it.
        # Spared, it exits when the service it runs has finished.
        wrapper = wrapper_shell(current.process)
        result, clean = current.process.stop(self.job.service.shutdown_timeout_s, spare=wrapper)
        self._end(current, result)
        return clean, time.monotonic() - began

    def restart(self) -> None:
        """Graceful stop (SIGTERM), then start again on the same DATA_DIR."""
        self.stop()
        self.start(self._payments_url)

    def kill(self) -> None:
        """kill -9 every process of the service, then start again on the same DATA_DIR."""
        current = self._take()
        self._end(current, current.process.kill())
        self.start(self._payments_url)

    def _take(self) -> Incarnation:
        current, self._current = self._running(), None
        return current

    def _end(self, run: Incarnation, result: ExecResult) -> None:
        run.stdout, run.stderr = result.stdout, result.stderr
        self.incarnations.append(run)

    @property
    def pausable(self) -> bool:
        """Whether the service can be paused on its own: its processes are told apart from
        any other command of the same sandbox uid."""
        return self._current is not None and self._current.process.own_pids

    def pause(self) -> bool:
        """Stop every process of the service where it stands (SIGSTOP): it uses no CPU and
        sends nothing until `resume`; whether every one of them stopped."""
        return self.pausable and self._running().process.pause()

    def resume(self) -> None:
        """Let the paused service run on."""
        self._running().process.resume()

    def _running(self) -> Incarnation:
        if self._current is None:
            raise ServiceError("the service is not running")
        return self._current

    def close(self) -> None:
        """Stop whatever still runs (used when the harness ends early)."""
        if self._current is not None:
            current = self._take()
            self._end(current, current.process.kill())

    def log_lines(self) -> list[str]:
        """Every line the service printed, over all its runs."""
        lines: list[str] = []
        for run in self.incarnations:
            for stream in (run.stdout, run.stderr):
                lines += [ln for ln in stream.decode("utf-8", "replace").splitlines() if ln.strip()]
        return lines


def wrapper_shell(process: SandboxProcess) -> int | None:
    """Our `sh -c` around the start command, if it is still a shell running the service.

    With `exec` in the start command the shell has become the service itself, and must be
    signalled like any other process of it.
    """
    top = process.top()
    if top is None or comm(top) not in SHELLS:
        return None
    return top if any(parent(pid) == top for pid in process.pids()) else None


def log_metrics(lines: list[str]) -> dict[str, float | int | bool]:
    """How structured the logs are and whether requests carry an id."""
    structured = [ln for ln in lines if _structured(ln)]
    with_ids = [ln for ln in structured if any(k in ln.lower() for k in REQUEST_ID_KEYS)]
    percent = round(100.0 * len(structured) / len(lines), 1) if lines else 0.0
    return {
        "service.log_lines": len(lines),
        "service.structured_logs_percent": percent,
        "service.request_ids": len(with_ids) >= 10 and len(with_ids) >= 0.3 * len(structured),
    }


def _structured(line: str) -> bool:
    text = line.strip()
    if text.startswith("{"):
        try:
            return isinstance(json.loads(text), dict)
        except ValueError:
            return False
    return len(KEY_VALUE.findall(text)) >= 2
