"""Acceptance checks against a batch job: what a job's check gets (`JobCheckContext`), and the
harness job that runs a pack's checks, each on small datasets it writes itself."""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from proofwork.harness.batch import BatchControl, BatchRun, Case
from proofwork.harness.checks import CheckFailed, load_checks, run_checks
from proofwork.harness.http import Exchange
from proofwork.harness.job import Job

CHECK_SLACK_S = 15.0  # writing datasets and reading outputs, beyond the runs themselves


@dataclass
class Outcome:
    """A finished run and the files it left in its output folder."""

    run: BatchRun
    case: Case
    outputs: dict[str, bytes]

    def text(self, name: str) -> str:
        """An output file as text; the check fails when it is missing or not UTF-8."""
        if name not in self.outputs:
            raise CheckFailed(f"{self.run.summary()}: no {name} in the output folder")
        try:
            return self.outputs[name].decode("utf-8")
        except UnicodeDecodeError:
            raise CheckFailed(f"{name} is not UTF-8") from None

    def rows(self, name: str) -> list[dict[str, str]]:
        """An output CSV's rows by header."""
        return list(csv.DictReader(io.StringIO(self.text(name), newline="")))

    def json(self, name: str) -> Any:
        """An output JSON document."""
        try:
            return json.loads(self.text(name))
        except ValueError:
            raise CheckFailed(f"{name} is not valid JSON") from None


@dataclass
class JobCheckContext:
    """What a job's check gets: runs of the job on datasets it writes, and a hidden seed."""

    control: BatchControl
    seed: int = 0
    _counter: Iterator[int] = field(default_factory=itertools.count, init=False, repr=False)

    @property
    def exchanges(self) -> list[Exchange]:
        """Every run so far, shaped as exchanges for findings."""
        return self.control.exchanges

    def reset(self) -> None:
        """Nothing carries over between checks: each run has folders of its own."""

    def unique(self, prefix: str) -> str:
        """A fresh label (`dup-4`) for a check's data."""
        return f"{prefix[:40]}-{next(self._counter)}"

    def case(self, label: str, files: dict[str, bytes]) -> Case:
        """Fresh folders with `files` as the input."""
        case = self.control.case(label)
        case.write_input(files)
        return case

    def run(self, case: Case, date: str, *, memory_bytes: int | None = None) -> Outcome:
        """Run the job on the case and collect its outputs."""
        run = self.control.run(case, date, memory_bytes=memory_bytes)
        return Outcome(run, case, case.outputs())

    def run_ok(self, case: Case, date: str, *, memory_bytes: int | None = None) -> Outcome:
        """Run the job and fail the check unless it exited 0 within its limits."""
        outcome = self.run(case, date, memory_bytes=memory_bytes)
        if not outcome.run.ok:
            raise CheckFailed(f"the job failed: {outcome.run.summary()}", self.exchanges[-1])
        return outcome

    def fail(self, message: str) -> CheckFailed:
        """A failure showing the last run (raise it)."""
        return CheckFailed(message, self.exchanges[-1] if self.exchanges else None)


def run(job: Job, control: BatchControl) -> dict[str, Any]:
    """Run the pack's checks, each on datasets of its own, and report them like a service's."""
    only = set(job.only) or None
    checks = [c for c in load_checks(Path(job.checks_dir)) if only is None or c.id in only]
    ctx = JobCheckContext(control, seed=int(job.options.get("seed", 0)))
    per_check = float(job.options.get("check_deadline_s", 60.0)) + CHECK_SLACK_S
    results = [r.to_json() for r in run_checks(checks, ctx, deadline_s_per_check=per_check)]
    return {"job": job_facts(control), "checks": results}


def job_facts(control: BatchControl) -> dict[str, Any]:
    """How the job behaved as a process over every run: ran at all, exit codes, limits hit."""
    runs = control.runs
    longest = max(runs, key=lambda r: r.wall_s, default=None)
    return {
        "runs": len(runs),
        "ran": any(r.ok for r in runs),
        "exit_codes": sorted({r.exit_code for r in runs}),
        "stopped": sorted({s for r in runs for s in r.stopped}),
        # Progress on long runs: what the longest run said while it ran.
        "longest_run_s": longest.wall_s if longest else 0.0,
        "longest_run_log_lines": len(longest.log_lines()) if longest else 0,
    }
