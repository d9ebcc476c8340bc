"""The candidate's batch job under the harness's control: run it on a dataset in the sandbox,
with the variables the pack defines, and keep what it said and how it ended.

A job's counterpart of `service.py`: each run gets a folder of its own under the harness's
DATA folder (`input/`, `output/`, `work/`), written by trusted code before the run and read
by it afterwards; the job sees them at `/data/<run>/…`.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from proofwork.harness.http import Exchange
from proofwork.harness.job import DATA, Job
from proofwork.harness.speed import process_cpu_seconds
from proofwork.sandbox.base import ExecResult, Sandbox
from proofwork.sandbox.process import SandboxProcess

FOLDERS = {"INPUT_DIR": "input", "OUTPUT_DIR": "output", "WORK_DIR": "work"}
STDERR_TAIL = 4096
SAMPLE_S = 0.05


@dataclass
class Case:
    """One dataset's folders on the host; reused across runs for re-runs and restarts."""

    name: str
    root: Path

    @property
    def input(self) -> Path:
        return self.root / "input"

    @property
    def output(self) -> Path:
        return self.root / "output"

    @property
    def work(self) -> Path:
        return self.root / "work"

    def write_input(self, files: dict[str, bytes]) -> None:
        """Put a dataset's files (relative paths) into input/."""
        for name, data in files.items():
            path = self.input / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)

    def outputs(self) -> dict[str, bytes]:
        """Every file the job left in output/, by relative path."""
        return {
            str(p.relative_to(self.output)): p.read_bytes()
            for p in sorted(self.output.rglob("*"))
            if p.is_file() and not p.is_symlink()
        }


@dataclass
class BatchRun:
    """How one run of the job ended."""

    case: str
    date: str
    exit_code: int
    wall_s: float
    stopped: list[str]
    stdout: bytes
    stderr: bytes
    peak_memory_bytes: int | None = None  # the most anonymous memory seen while it ran
    cpu_s: float = 0.0  # CPU time its processes used (sampled while it ran)
    longest_silence_s: float = 0.0  # the longest it went without printing anything

    @property
    def ok(self) -> bool:
        """Exited 0 and no limit stopped it."""
        return self.exit_code == 0 and not self.stopped

    def log_lines(self) -> list[str]:
        """The non-empty lines this run printed (stdout, then stderr)."""
        text = (self.stdout + b"\n" + self.stderr).decode("utf-8", "replace")
        return [line for line in text.splitlines() if line.strip()]

    def summary(self) -> str:
        """One line for messages: `run 2026-06-02 -> exit 0 in 0.41 s`."""
        how = f"stopped by {', '.join(self.stopped)}" if self.stopped else f"exit {self.exit_code}"
        return f"run --date {self.date} -> {how} in {self.wall_s:.2f} s"


@dataclass
class BatchControl:
    """Runs the submission's job command; every run's output is kept for the log measures."""

    sandbox: Sandbox
    job: Job
    runs: list[BatchRun] = field(default_factory=list)
    exchanges: list[Exchange] = field(default_factory=list)
    _numbers: itertools.count[int] = field(default_factory=itertools.count)

    @property
    def command(self) -> str:
        return self.job.service.start

    def case(self, label: str) -> Case:
        """A fresh set of folders for one dataset, handed to the sandbox's uid."""
        name = f"{next(self._numbers):03d}-{label}"[:60]
        case = Case(name, Path(self.job.data_dir) / name)
        for folder in (case.input, case.output, case.work):
            folder.mkdir(parents=True, exist_ok=True)
        return case

    def env(self, case: Case, date: str) -> dict[str, str]:
        """The variables the pack defines, pointing at the case's folders inside the sandbox."""
        values = {var: f"{DATA}/{case.name}/{sub}" for var, sub in FOLDERS.items()}
        values["DATE"] = date
        return {**self.job.env, **values}

    def start(self, case: Case, date: str, *, memory_bytes: int | None = None) -> SandboxProcess:
        """Start one run without waiting (durability kills it at chosen moments)."""
        give = getattr(self.sandbox, "give", None)
        if give is not None:
            give(case.root)
        limits = self.job.sandbox_limits()
        if memory_bytes is not None:
            limits = replace(limits, memory_bytes=memory_bytes)
        return self.sandbox.start(
            ["/bin/sh", "-c", self.command],
            limits=limits,
            env=self.env(case, date),
            mounts=self.job.sandbox_mounts(),
        )

    def run(self, case: Case, date: str, *, memory_bytes: int | None = None) -> BatchRun:
        """Run the job on the case to its end (or its limits) and record how it went, with
        the most memory it held (sampled from its cgroup while it runs)."""
        started = time.monotonic()
        process = self.start(case, date, memory_bytes=memory_bytes)
        usage = watch(process, started + self.job.sandbox_limits().wall_s)
        result = process.wait()
        run = self.record(case, date, result, time.monotonic() - started, usage.peak_memory)
        run.cpu_s = round(usage.cpu_s, 3)
        run.longest_silence_s = round(usage.longest_silence_s, 3)
        return run

    def record(
        self,
        case: Case,
        date: str,
        result: ExecResult,
        wall_s: float,
        peak_memory_bytes: int | None = None,
    ) -> BatchRun:
        """Keep a finished run (its logs and, for findings, an exchange-shaped account)."""
        run = BatchRun(
            case.name,
            date,
            result.exit_code,
            round(wall_s, 3),
            list(result.stopped),
            result.stdout,
            result.stderr,
            peak_memory_bytes,
        )
        self.runs.append(run)
        listing = "\n".join(sorted(str(p.relative_to(case.input)) for p in case.input.rglob("*")))
        self.exchanges.append(
            Exchange(
                method="RUN",
                url=f"{self.command}  (DATE={date})",
                request_headers={},
                request_body=f"input/:\n{listing}".encode(),
                status=None if run.stopped else result.exit_code,
                response_body=result.stderr[-STDERR_TAIL:],
                elapsed_s=run.wall_s,
                error=f"stopped by {', '.join(run.stopped)}" if run.stopped else None,
            )
        )
        return run

    def log_lines(self) -> list[str]:
        """Every line the job printed, over all its runs."""
        return [line for run in self.runs for line in run.log_lines()]

    def close(self) -> None:
        """Nothing outlives a run: each one waits for its process tree."""


@dataclass
class Usage:
    """What a run used, sampled from outside while it ran."""

    peak_memory: int | None = None
    cpu_by_pid: dict[int, float] = field(default_factory=dict)
    longest_silence_s: float = 0.0

    @property
    def cpu_s(self) -> float:
        """CPU seconds of every process seen (each at its last sample: at most one sampling
        interval of each process's time is missed)."""
        return sum(self.cpu_by_pid.values())


def watch(process: SandboxProcess, until: float) -> Usage:
    """Sample the run's memory and its processes' CPU time until it ends (or `until`).

    CPU time, unlike wall time, does not count time spent waiting for a busy core, so a
    speed figure taken from it says more about the code than about the neighbours."""
    usage = Usage()
    printed, last_output = 0, time.monotonic()
    while process.running and time.monotonic() < until:
        now_s = time.monotonic()
        if process.execution.output_total > printed:
            printed, last_output = process.execution.output_total, now_s
        usage.longest_silence_s = max(usage.longest_silence_s, now_s - last_output)
        now = process.memory_in_use()
        if now is not None:
            usage.peak_memory = max(usage.peak_memory or 0, now)
        for pid in process.pids():
            usage.cpu_by_pid[pid] = process_cpu_seconds(f"/proc/{pid}") or usage.cpu_by_pid.get(
                pid, 0.0
            )
        time.sleep(SAMPLE_S)
    return usage
