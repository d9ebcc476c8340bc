"""Benchmark: how wide is the mutation score's 95% interval when a whole grade gets 60 seconds?

Generates the ~5,000-line synthetic repository (benchmarks/fixtures/synthetic_repo.py), grades
it with `--budget 60` and every probe, and prints each probe's time and the mutation metrics.
Target (from the issue): the interval is no wider than +/-6 points.

    .venv/bin/python benchmarks/mutation_vs_mutmut/budget.py [--budget 60] [--shared-map]

`--shared-map` adds `-p proofwork_mutate --proofwork-map=/out/map.json` to the tests probe's
pytest arguments for this process, so its coverage run also records which tests cover which
lines, and the mutation probe skips its own instrumented run (the proposed wiring).
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

from proofwork import probes
from proofwork.config import load_settings
from proofwork.engine import GradeRequest, grade
from proofwork.probes import tests
from proofwork.probes.base import OUT
from proofwork.probes.mutation import MutationProbe

TARGET_HALF_WIDTH = 6.0


def main() -> int:
    """Grade the synthetic repository once within the budget; 0 when the target is met."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=60.0)
    parser.add_argument("--probes", nargs="*", default=None, help="default: every probe")
    parser.add_argument("--shared-map", action="store_true", help="see the module docstring")
    args = parser.parse_args()
    if args.shared_map:
        tests.PYTEST_ARGS.extend(["-p", "proofwork_mutate", f"--proofwork-map={OUT}/map.json"])
    # Until the probe is registered with the built-ins, add it for this process only.
    probes.BUILTIN.setdefault("mutation", MutationProbe)
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
