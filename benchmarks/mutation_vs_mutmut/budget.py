"""Benchmark: how wide is the mutation score's 95% interval when a whole grade gets 60 seconds?

Generates the ~5,000-line synthetic repository (benchmarks/fixtures/synthetic_repo.py), grades
it with `--budget 60` and every probe, and prints each probe's time and the mutation metrics.
Target (from the issue): the interval is no wider than +/-6 points.

    .venv/bin/python benchmarks/mutation_vs_mutmut/budget.py [--budget 60] [--grades 1]

The tests probe's coverage run records which tests cover which lines, so the mutation probe
judges mutants with what is left of the budget without a second instrumented run.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fixtures.synthetic_repo import generate

from proofwork.config import load_settings
from proofwork.engine import GradeRequest, grade

TARGET_HALF_WIDTH = 6.0


def main() -> int:
    """Grade the synthetic repository once within the budget; 0 when the target is met."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=60.0)
    parser.add_argument("--probes", nargs="*", default=None, help="default: every probe")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="pw-budget-"))
    try:
        stats = generate(root / "repo")
        print(f"repository: {stats.package_lines} package lines, {stats.test_functions} tests")
        started = time.monotonic()
        report = grade(
            GradeRequest(root / "repo", load_settings(), probes=args.probes, budget_s=args.budget)
        )
        print(f"grade: {time.monotonic() - started:.1f}s with a {args.budget:.0f}s budget")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    for item in report.evidence:
        print(
            f"  {item.probe:12} {item.status.value:8} {item.duration_s:6.1f}s  {item.error or ''}"
        )
    metrics = {k: v for k, v in report.metrics.items() if k.startswith("mutation.")}
    for name, value in metrics.items():
        print(f"  {name} = {value}")
    low, high = metrics.get("mutation.ci95_low"), metrics.get("mutation.ci95_high")
    if not isinstance(low, int | float) or not isinstance(high, int | float):
        print("no mutation score was reported")
        return 1
    half = (high - low) / 2
    print(f"95% interval: +/-{half:.1f} points (target <= {TARGET_HALF_WIDTH})")
    return 0 if half <= TARGET_HALF_WIDTH else 1


if __name__ == "__main__":
    sys.exit(main())
