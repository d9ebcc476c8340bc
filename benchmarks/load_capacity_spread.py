"""Benchmark: how much the reference's `load.relative_capacity` moves between grades.

The issue's target: graded five times, the orders-api reference's `load.relative_capacity`
varies by less than ±10%. Each grade here is a real one (intake, sandbox, the pack's runtime)
with the load probe alone (every probe with `--all-probes`, which also requires the signal
levels to stay the same). Each grade measures the submission and the reference in turns
(harness/interleave.py) and divides their throughputs; the reference's kept figure (the median
of three runs, measured by the first grade as a real grade does when none is kept: the figure
kept before is set aside first, `--reuse-kept` keeps it) says at which concurrency the
reference is loaded, and is what a grade divides by when the turns could not be measured.
Prints every grade's figures, each round's ratio, and the largest deviation from their mean.

    .venv/bin/python benchmarks/load_capacity_spread.py [--grades 5] [--steps] [--all-probes]
        [--reuse-kept]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

from proofwork.challenges import discover
from proofwork.config import load_settings
from proofwork.engine import GradeRequest, grade
from proofwork.probes import capacity
from proofwork.probes.load import read_plan

TARGET_DEVIATION = 0.10


def round_ratios(table: str) -> list[float]:
    """Each round's submission/reference throughput, from the probe's turns table."""
    figures: dict[str, list[float]] = {"submission": [], "reference": []}
    for line in table.splitlines():
        fields = line.split()
        if fields and fields[0] in figures:
            figures[fields[0]].append(float(fields[2]))
    pairs = zip(figures["submission"], figures["reference"], strict=False)
    return [round(ours / theirs, 3) for ours, theirs in pairs if theirs]


def main() -> int:
    """Grade the reference `--grades` times; 0 when every figure is within ±10% of the mean."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grades", type=int, default=5)
    parser.add_argument("--steps", action="store_true", help="print each grade's step table")
    parser.add_argument(
        "--all-probes",
        action="store_true",
        help="grade with every probe and also require the signal levels not to change",
    )
    parser.add_argument("--reuse-kept", action="store_true", help="keep the kept reference figure")
    args = parser.parse_args()
    settings = load_settings()
    pack = discover(settings.challenges_path).get("orders-api")
    options, load_plan = read_plan(pack)
    kept = capacity.cache_path(settings.home, pack, options)
    if not args.reuse_kept:
        kept.unlink(missing_ok=True)
    latency = load_plan.upstream_latency
    if latency is not None:
        print(
            f"Paystream latency under load: median {latency.median_ms:g} ms, p99 "
            f"{latency.p99_ms:g} ms (load.toml [upstream_latency])",
            flush=True,
        )
    figures: list[float] = []
    levels: list[dict[str, int | None]] = []
    for number in range(1, args.grades + 1):
        started = time.monotonic()
        request = GradeRequest(
            source=pack.path("reference"),
            settings=settings,
            challenge=pack.id,
            probes=None if args.all_probes else ["load"],
        )
        report = grade(request)
        metrics = report.metrics
        relative = metrics.get("load.relative_capacity")
        if not isinstance(relative, float):
            print(f"grade {number}: no relative capacity ({metrics})")
            return 1
        figures.append(relative)
        print(
            f"grade {number}/{args.grades}: relative capacity {relative:.3f}, knee "
            f"{metrics['load.knee_concurrency']}, {metrics['load.capacity_rps']:.0f} req/s "
            f"full-core ({metrics['load.max_throughput_rps']:.0f} seen at best) "
            f"(reference {metrics['load.reference_capacity_rps']:.0f}, "
            f"{'kept' if metrics['load.reference_cached'] else 'measured now'}), "
            f"reference runs {getattr(capacity.read_cached(kept), 'runs', None)}, "
            f"basis {metrics.get('load.relative_capacity_basis')}, "
            f"load average {os.getloadavg()[0]:.1f}, "
            f"{time.monotonic() - started:.0f} s",
            flush=True,
        )
        load = next(e for e in report.evidence if e.probe == "load")
        print(f"  rounds: {round_ratios(load.artifacts.get('load.turns.txt', ''))}", flush=True)
        levels.append({s["name"]: s.get("level") for s in report.signals})
        if args.all_probes:
            print(f"  signal levels: {levels[-1]}", flush=True)
        if args.steps:
            print(load.artifacts.get("load.steps.txt", ""), flush=True)
            print(load.artifacts.get("load.turns.txt", ""), flush=True)
            series = json.loads(load.artifacts.get("load.steps.json", "{}")).get("steps", [])
            bursts = [(s.get("burst_ms"), s.get("harness_burst_ms")) for s in series]
            print(f"  burst ms per step: {bursts}", flush=True)
    mean = statistics.mean(figures)
    deviation = max(abs(f - mean) for f in figures) / mean
    verdict = "PASS" if deviation < TARGET_DEVIATION else "FAIL"
    print(f"\nrelative capacity: mean {mean:.3f}, min {min(figures):.3f}, max {max(figures):.3f}")
    print(f"largest deviation from the mean: ±{100 * deviation:.1f}%  target < ±10% {verdict}")
    steady = all(lv == levels[0] for lv in levels)
    if args.all_probes:
        print(f"signal levels the same in every grade: {'PASS' if steady else 'FAIL'}")
    return 0 if deviation < TARGET_DEVIATION and steady else 1


if __name__ == "__main__":
    sys.exit(main())
