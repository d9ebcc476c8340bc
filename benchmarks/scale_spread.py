"""Benchmark: how much the sales-ledger reference's `scale.relative_speed` moves between grades.

The issue's target: graded five times, the reference's relative scale figure varies by less
than ±10%. Each grade is a real one (intake, sandbox, runtime) with the scale probe alone: a
generated day under the pack's memory limit, divided by the reference figure kept for this
machine: the median of three runs, the first grade's own among them (the figure kept before
is set aside first, so the reference is measured under the same conditions as the grades;
`--reuse-kept` keeps it). Prints every grade's figures and the largest deviation from their
mean.

    .venv/bin/python benchmarks/scale_spread.py [--grades 5] [--reuse-kept]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

from proofwork.challenges import discover
from proofwork.config import load_settings
from proofwork.engine import GradeRequest, grade
from proofwork.probes import capacity
from proofwork.probes.scale import plan

TARGET_DEVIATION = 0.10


def main() -> int:
    """Grade the reference `--grades` times; 0 when every figure is within ±10% of the mean."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grades", type=int, default=5)
    parser.add_argument("--reuse-kept", action="store_true", help="keep the kept reference figure")
    args = parser.parse_args()
    settings = load_settings()
    pack = discover(settings.challenges_path).get("sales-ledger")
    kept = capacity.cache_path(settings.home, pack, {"scale": plan(pack)})
    if not args.reuse_kept:
        kept.unlink(missing_ok=True)
    figures: list[float] = []
    for number in range(1, args.grades + 1):
        started = time.monotonic()
        request = GradeRequest(
            source=pack.path("reference"), settings=settings, challenge=pack.id, probes=["scale"]
        )
        metrics = grade(request).metrics
        relative = metrics.get("scale.relative_speed")
        if not isinstance(relative, float):
            print(f"grade {number}: no relative speed ({metrics})")
            return 1
        figures.append(relative)
        print(
            f"grade {number}/{args.grades}: relative speed {relative:.3f}, "
            f"{metrics['scale.rows_per_cpu_s']:.0f} rows/CPU-s "
            f"(reference {metrics['scale.reference_rows_per_cpu_s']:.0f}, runs "
            f"{(capacity.read_json(kept) or {}).get('runs')}), "
            f"{metrics['scale.rows_per_s']:.0f} rows/s wall, "
            f"peak {metrics.get('scale.peak_memory_mib')} MiB of "
            f"{metrics['scale.memory_limit_mib']} MiB allowed, "
            f"{metrics['scale.input_mib']} MiB of input, "
            f"{time.monotonic() - started:.0f} s, load average {os.getloadavg()[0]:.1f}",
            flush=True,
        )
    mean = statistics.mean(figures)
    deviation = max(abs(f - mean) for f in figures) / mean
    verdict = "PASS" if deviation < TARGET_DEVIATION else "FAIL"
    print(f"\nrelative speed: mean {mean:.3f}, min {min(figures):.3f}, max {max(figures):.3f}")
    print(f"largest deviation from the mean: ±{100 * deviation:.1f}%  target < ±10% {verdict}")
    return 0 if deviation < TARGET_DEVIATION else 1


if __name__ == "__main__":
    sys.exit(main())
