"""Scale jobs: one large generated day, run once under a memory limit far below what its rows
take once loaded; how long it took, the most memory it held, and whether its outputs are right.

The day comes from the pack's own generator (`checks/_data.py`: `large(folder, seed, rows)`
writes it and returns the answer, `judge_large(answer, outputs)` says what is wrong), so it is
made on the grading machine and never stored.

Its speed is the job's own CPU time per row (see probes/scale.py for why neither an idle-priority
burst timer nor a yardstick of the harness's own work divides it any more).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from proofwork.harness.batch import BatchControl
from proofwork.harness.checks import load_helpers
from proofwork.harness.job import Job


def run(job: Job, control: BatchControl) -> dict[str, Any]:
    """Generate the day, run the job on it under the memory limit, judge what it wrote."""
    plan = job.options
    data = load_helpers(Path(job.checks_dir), "_data")
    case = control.case("scale")
    began = time.monotonic()
    answer = data.large(case.input, int(plan["seed"]), int(plan["rows"]))
    generated_s = time.monotonic() - began
    input_bytes = sum(p.stat().st_size for p in case.input.rglob("*") if p.is_file())
    done = control.run(case, answer["date"], memory_bytes=int(plan["memory_bytes"]))
    problem = data.judge_large(answer, case.outputs()) if done.ok else None
    return {
        "scale": {
            "rows": int(plan["rows"]),
            "input_bytes": input_bytes,
            "memory_limit_bytes": int(plan["memory_bytes"]),
            "generated_s": round(generated_s, 3),
            "wall_s": done.wall_s,
            "cpu_s": done.cpu_s,
            "longest_silence_s": done.longest_silence_s,
            "log_lines": len(done.log_lines()),
            "exit_code": done.exit_code,
            "stopped": done.stopped,
            "peak_memory_bytes": done.peak_memory_bytes,
            "completed": done.ok,
            "correct": done.ok and problem is None,
            "problem": problem,
            "stderr_tail": done.stderr[-2000:].decode("utf-8", "replace"),
        }
    }
