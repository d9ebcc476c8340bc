"""Input jobs for a batch job: hypothesis generates messy inputs from the pack's strategy
(`checks/_data.py`: `fuzz_inputs(seed)`), the job runs on each, and the pack's judge
(`judge_fuzz(example, outputs)`) says what it lost or left unexplained. A crash (an exit other
than 0, or a limit) is a failure of its own. Under a fixed seed, two runs try the same inputs.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import hypothesis
from hypothesis import HealthCheck, Phase, Verbosity
from hypothesis.configuration import set_hypothesis_home_dir

from proofwork.harness.batch import BatchControl
from proofwork.harness.checks import load_helpers
from proofwork.harness.job import Job

SNIPPET = 1500


def run(job: Job, control: BatchControl) -> dict[str, Any]:
    """Run the job on each generated input; every failure kept with the input that shows it."""
    plan = job.options
    data = load_helpers(Path(job.checks_dir), "_data")
    failures: list[dict[str, Any]] = []
    examples = 0

    def one(example: dict[str, Any]) -> None:
        nonlocal examples
        examples += 1
        case = control.case("fuzz")
        case.write_input(example["files"])
        done = control.run(case, example["date"])
        shown = example["files"][example["file"]][:SNIPPET].decode("utf-8", "replace")
        if not done.ok:
            tail = done.stderr[-600:].decode("utf-8", "replace")
            failures.append(
                {"kind": "crash", "message": f"{done.summary()}\n{tail}", "input": shown}
            )
            return
        for kind, message in data.judge_fuzz(example, case.outputs()):
            failures.append({"kind": kind, "message": message, "input": shown})

    with tempfile.TemporaryDirectory() as home:
        set_hypothesis_home_dir(home)
        settings = hypothesis.settings(
            max_examples=int(plan.get("examples", 12)),
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.generate],
            verbosity=Verbosity.quiet,
            suppress_health_check=list(HealthCheck),
        )
        given = cast(
            Callable[[Callable[..., None]], Callable[[], None]],
            hypothesis.given(data.fuzz_inputs(int(plan["seed"]))),
        )
        # derandomize: the same strategy always tries the same inputs.
        every_example = settings(given(one))
        every_example()
    return {"input": {"examples": examples, "failures": failures}}
