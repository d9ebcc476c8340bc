"""Durability jobs for a batch job: run it once undisturbed, then, on fresh copies of the same
input, `kill -9` it at seeded moments, run it again, and compare with the undisturbed run.

While each killed run runs, and right after the kill, the output folder is read the way a
downstream reader would: a visible file (not a dot-file) bearing an output's name must be the
complete output, byte for byte; anything else is a half-written file someone could have read.
"""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

from proofwork.harness.batch import BatchControl, Case
from proofwork.harness.checks import load_helpers
from proofwork.harness.job import Job

POLL_S = 0.01
# Where in the undisturbed run's time the kills land: spread over the run, and more near its
# end, where outputs are written.
SPREAD = ((0.05, 0.6), (0.6, 0.9), (0.85, 1.0), (0.9, 1.05))


def run(job: Job, control: BatchControl) -> dict[str, Any]:
    """The undisturbed run, then each seeded kill and the run after it."""
    plan = job.options
    data = load_helpers(Path(job.checks_dir), "_data")
    files, date = data.durability(int(plan["seed"]))
    clean_case = control.case("clean")
    clean_case.write_input(files)
    clean = control.run(clean_case, date)
    if not clean.ok:
        return {"durability": {"clean_ok": False, "clean": clean.summary()}}
    wanted = clean_case.outputs()
    rng = random.Random(int(plan["seed"]))  # noqa: S311 - reproducible moments, not secrets
    kills = [
        kill_and_rerun(
            control, files, date, wanted, rng.uniform(*SPREAD[i % len(SPREAD)]) * clean.wall_s
        )
        for i in range(int(plan.get("kills", 4)))
    ]
    return {"durability": {"clean_ok": True, "clean_s": clean.wall_s, "kills": kills}}


def kill_and_rerun(
    control: BatchControl, files: dict[str, bytes], date: str, wanted: dict[str, bytes], at_s: float
) -> dict[str, Any]:
    """One kill at `at_s` seconds into a run, and the run after it on the same folders."""
    case = control.case("kill")
    case.write_input(files)
    process = control.start(case, date)
    started = time.monotonic()
    torn: set[str] = set()
    while process.running and time.monotonic() - started < at_s:
        torn |= half_written(case, wanted)
        time.sleep(POLL_S)
    finished_first = not process.running
    control.record(case, date, process.kill(), time.monotonic() - started)
    torn |= half_written(case, wanted)
    again = control.run(case, date)
    outputs = visible(case)
    changed = sorted(n for n in set(wanted) | set(outputs) if outputs.get(n) != wanted.get(n))
    return {
        "at_s": round(at_s, 3),
        "finished_before_kill": finished_first,
        "half_written": sorted(torn),
        "rerun_ok": again.ok,
        "rerun": again.summary(),
        "changed": changed,
    }


def visible(case: Case) -> dict[str, bytes]:
    """What a reader listing the output folder sees (dot-files are temporaries by convention)."""
    return {n: b for n, b in case.outputs().items() if not Path(n).name.startswith(".")}


def half_written(case: Case, wanted: dict[str, bytes]) -> set[str]:
    """Outputs a reader could see right now that are not the complete file."""
    try:
        seen = visible(case)
    except OSError:  # a file renamed or removed while listing: look again next time
        return set()
    return {name for name, body in seen.items() if name in wanted and body != wanted[name]}
