"""The `load` probe: the pack's traffic mix at rising concurrency, measured by trusted harness
code from outside the candidate's processes, and set against the pack's reference solution on
the same machine (`load.relative_capacity`), so a figure does not depend on which machine
graded it: the two services measured in turns in the same job (harness/interleave), or, when
that cannot be done, the reference's figure kept from earlier runs of it."""

from __future__ import annotations

import json
import tomllib
from typing import Any

from proofwork.challenges import Pack
from proofwork.evidence import Evidence, Finding, MetricValue, Severity
from proofwork.harness.interleave import best_concurrency
from proofwork.harness.job import Companion
from proofwork.harness.load import LoadPlan, PlanError, summarize
from proofwork.harness.speed import BURST_KEYS, fastest_bursts
from proofwork.probes.base import ProbeContext
from proofwork.probes.capacity import Capacity, reference_capacity, repeatable_reference
from proofwork.probes.harnessed import (
    SubmissionConfigError,
    build_job,
    reference_companion,
    run_in_harness,
    start_command,
)

PLAN_FILE = "load.toml"
DEFAULT_BUDGET_S = 90.0
STEPS_ARTIFACT = "load.steps.json"  # read by reports/charts.py for the HTML chart


def read_plan(pack: Pack) -> tuple[dict[str, Any], LoadPlan]:
    """The pack's load.toml as the job's options, and validated (PlanError says what is wrong)."""
    try:
        options = tomllib.loads(pack.path(PLAN_FILE).read_text())
    except tomllib.TOMLDecodeError as exc:
        raise PlanError(f"{PLAN_FILE}: not valid TOML: {exc}") from exc
    return options, LoadPlan.from_options(options)


def run_load(
    ctx: ProbeContext,
    options: dict[str, Any],
    evidence: Evidence,
    companion: Companion | None = None,
) -> dict[str, Any] | None:
    """One load job against the workspace of `ctx` (and, with `companion`, the reference
    measured in turns with it); its results, or None (evidence says why)."""
    budget = float(options.get("budget_s", DEFAULT_BUDGET_S))
    job = build_job(
        ctx, "load", deadline_s=ctx.budget.share(budget), options=options, companion=companion
    )
    return run_in_harness(ctx, job, evidence)


def step_table(steps: list[dict[str, Any]], slo_p95_ms: float) -> str:
    """The per-step figures as a fixed-width table, marking steps that miss the SLO."""
    # cores: the share of its core the service had, then the harness (others took the rest);
    # speed: how fast each of the two cores ran, against the run's fastest step (a neighbour
    # on a shared host can slow a core down without taking any of its time; slow steps do not
    # count towards capacity).
    lines = [
        "concurrency  requests  good rps   p50 ms   p95 ms   p99 ms   errors     cores      speed"
    ]
    fastest = fastest_bursts(steps)
    for s in steps:
        mark = "  <- p95 over SLO" if s["p95_ms"] > slo_p95_ms else ""
        speed = "/".join(_speed(s.get(key), fast) for key, fast in fastest.items())
        lines.append(
            f"{s['concurrency']:>11}  {s['requests']:>8}  {s['throughput_rps']:>8.1f}  "
            f"{s['p50_ms']:>7.1f}  {s['p95_ms']:>7.1f}  {s['p99_ms']:>7.1f}  "
            f"{100 * s['error_rate']:>6.2f}%  {_share(s, 'core_share'):>4}/"
            f"{_share(s, 'harness_share'):<4}  {speed:>9}{mark}"
        )
    return "\n".join(lines)


def _speed(burst: float | None, fastest: float | None) -> str:
    return f"{100 * fastest / burst:.0f}%" if burst and fastest else "?"


def _share(step: dict[str, Any], key: str) -> str:
    return f"{100 * step.get(key, 1.0):.0f}%"


def chart_data(results: dict[str, Any], summary: dict[str, Any], capacity: Capacity | None) -> str:
    """What the HTML chart draws: latency percentiles and throughput against concurrency."""
    plan = results.get("plan", {})
    keys = (
        "concurrency",
        "throughput_rps",
        "p50_ms",
        "p95_ms",
        "p99_ms",
        "error_rate",
        *BURST_KEYS,
    )
    return json.dumps(
        {
            "slo_p95_ms": plan.get("slo_p95_ms"),
            "knee_concurrency": summary["knee_concurrency"],
            "reference_rps": capacity.max_throughput_rps if capacity else None,
            "steps": [{k: s.get(k) for k in keys} for s in results.get("steps", [])],
        }
    )


class LoadProbe:
    name = "load"
    stage = 40
    kinds = ("service",)  # a batch job is measured by `scale` instead

    def applies(self, ctx: ProbeContext) -> bool:
        """Only when grading against a challenge pack whose load.toml declares a traffic mix
        (the pack also has the reference to compare with)."""
        if not isinstance(ctx.challenge, Pack) or not ctx.challenge.path(PLAN_FILE).is_file():
            return False
        try:
            return "request" in tomllib.loads(ctx.challenge.path(PLAN_FILE).read_text())
        except (OSError, tomllib.TOMLDecodeError):
            return True  # run, and let the plan's own error say what is wrong

    def run(self, ctx: ProbeContext) -> Evidence:
        """Load the submission's service, then set its capacity against the reference's."""
        pack: Pack = ctx.challenge
        evidence = Evidence(self.name)
        options, plan = read_plan(pack)
        try:
            start_command(ctx.workspace, pack.spec.kind)
        except SubmissionConfigError as exc:
            return self._no_service(evidence, str(exc))
        # The reference's kept figure first (measured now when none is kept): it says at what
        # concurrency the reference peaks, where it is loaded when measured in turns.
        reference = repeatable_reference(ctx, pack)
        capacity = reference_capacity(ctx, pack, options, run_load, reference)
        beside = None
        if capacity is not None and plan.compare_rounds:
            beside = reference_companion(reference(), best_concurrency(capacity.steps))
        results = run_load(ctx, options, evidence, beside)
        if results is None or "error" in results:
            return evidence
        if not results.get("service", {}).get("started"):
            reason = results.get("service", {}).get("error", "unknown reason")
            return self._no_service(evidence, f"The service did not start: {reason}")
        return self._evidence(evidence, plan, results, capacity)

    def _no_service(self, evidence: Evidence, reason: str) -> Evidence:
        evidence.metrics.update({"load.knee_concurrency": 0, "load.max_throughput_rps": 0.0})
        evidence.findings.append(
            Finding("load.no_service", Severity.CRITICAL, reason, probe=self.name)
        )
        return evidence

    def _evidence(
        self,
        evidence: Evidence,
        plan: LoadPlan,
        results: dict[str, Any],
        capacity: Capacity | None,
    ) -> Evidence:
        steps = results.get("steps", [])
        summary = summarize(steps, plan.slo_p95_ms, plan.max_error_rate)
        turns = results.get("compare")
        evidence.metrics.update(metrics(summary, capacity, turns))
        table = step_table(steps, plan.slo_p95_ms)
        evidence.add_artifact("load.steps.txt", f"{table}\n\nstopped: {results.get('stopped')}")
        evidence.add_artifact(STEPS_ARTIFACT, chart_data(results, summary, capacity))
        evidence.add_artifact("load.reference.txt", capacity.describe() if capacity else _NO_REF)
        if turns is not None:
            evidence.add_artifact("load.turns.txt", turns_table(turns))
            if turns.get("tampered"):
                evidence.findings.append(_tampered())
        evidence.findings += findings(steps, summary, plan, table, results.get("setup", {}))
        relative = evidence.metrics.get("load.relative_capacity")
        if isinstance(relative, float) and relative < plan.min_relative_capacity:
            snippet = f"{table}\n\n{turns_table(turns)}" if turns else table
            evidence.findings.append(_low_capacity(relative, summary, capacity, turns, snippet))
        return evidence


_NO_REF = "The reference solution could not be measured on this machine: no relative capacity."


def metrics(
    summary: dict[str, Any], capacity: Capacity | None, turns: dict[str, Any] | None = None
) -> dict[str, MetricValue]:
    """The load.* metrics of the issue, and where the reference figure came from: measured
    in turns with the submission when that worked (`turns`), else the kept figure."""
    found: dict[str, MetricValue] = {
        "load.knee_concurrency": summary["knee_concurrency"],
        "load.max_throughput_rps": summary["max_throughput_rps"],
        "load.p95_ms_at_knee": summary["p95_ms_at_knee"],
        "load.error_rate_max": summary["error_rate_max"],
        "load.capacity_rps": summary["capacity_rps"],
        "load.relative_capacity": None,
    }
    if capacity is not None and capacity.capacity_rps > 0:
        # Both figures scaled to a whole core, so a busy neighbour during either run does not
        # move the ratio (the raw figures stay in the step table).
        ratio = summary["capacity_rps"] / capacity.capacity_rps
        found["load.relative_capacity"] = round(ratio, 3)
        found["load.reference_capacity_rps"] = capacity.capacity_rps
        found["load.reference_cached"] = capacity.cached
        found["load.relative_capacity_basis"] = "kept figure"
    if turns is not None and isinstance(turns.get("ratio"), float):
        found["load.relative_capacity"] = turns["ratio"]
        found["load.relative_capacity_basis"] = "in turns"
    return found


def turns_table(turns: dict[str, Any]) -> str:
    """The slices of the measurement in turns, and its outcome."""
    lines = ["service      concurrency  good rps   p95 ms  errors"]
    for s in turns.get("slices", []):
        lines.append(
            f"{s['service']:<11}  {s['concurrency']:>11}  {s['throughput_rps']:>8.1f}  "
            f"{s['p95_ms']:>7.1f}  {s['errors']:>6}"
        )
    if turns.get("tampered"):
        lines.append("stopped: the service connected to the reference's port")
    elif turns.get("error"):
        lines.append(f"not measured in turns: {turns['error']}")
    else:
        lines.append(f"ratio (median of the rounds): {turns.get('ratio')}")
    return "\n".join(lines)


def _tampered() -> Finding:
    message = (
        "While the reference was measured in turns with it, the service connected to the "
        "reference's port (only the harness talks to it): that comparison was dropped, and the "
        "relative capacity divides by the reference's kept figure instead."
    )
    return Finding("load.reference_disturbed", Severity.CRITICAL, message, probe="load")


def findings(
    steps: list[dict[str, Any]],
    summary: dict[str, Any],
    plan: LoadPlan,
    table: str,
    setup: dict[str, Any],
) -> list[Finding]:
    """A knee at one user (or none at all), error bursts, and a setup the service refused."""
    found = []
    first = steps[0] if steps else None
    if first is not None and first["p95_ms"] > plan.slo_p95_ms:
        found.append(_slow_alone(first, plan, table))
    elif summary["knee_concurrency"] == 1 and len(steps) > 1:
        found.append(_knee_at_one(steps[1], plan, table))
    found += [_burst(s, table) for s in steps if s["error_rate"] >= plan.max_error_rate]
    refused = sum(n for k, n in setup.get("products", {}).items() if k != "ok")
    if refused:
        message = f"Creating the load test's products failed {refused} times: {setup['products']}"
        found.append(Finding("load.setup_refused", Severity.HIGH, message, probe="load"))
    return found


def _slowest(step: dict[str, Any]) -> str:
    by_request = step.get("by_request", {})
    if not by_request:
        return ""
    name, figures = max(by_request.items(), key=lambda item: item[1]["p95_ms"])
    return f" The slowest request is {name!r} (p95 {figures['p95_ms']:.0f} ms)."


def _slow_alone(step: dict[str, Any], plan: LoadPlan, table: str) -> Finding:
    message = (
        f"Too slow even for one user at a time: p95 {step['p95_ms']:.0f} ms against an SLO of "
        f"{plan.slo_p95_ms:.0f} ms.{_slowest(step)}"
    )
    return Finding("load.slo_missed_at_one", Severity.HIGH, message, snippet=table, probe="load")


def _knee_at_one(step: dict[str, Any], plan: LoadPlan, table: str) -> Finding:
    message = (
        f"Meets its latency SLO only while one user at a time uses it: with "
        f"{step['concurrency']} concurrent users p95 is {step['p95_ms']:.0f} ms (SLO "
        f"{plan.slo_p95_ms:.0f} ms).{_slowest(step)}"
    )
    return Finding("load.knee_at_one", Severity.HIGH, message, snippet=table, probe="load")


def _burst(step: dict[str, Any], table: str) -> Finding:
    reasons = ", ".join(f"{k}: {n}" for k, n in step.get("errors_by_reason", {}).items())
    message = (
        f"{100 * step['error_rate']:.1f}% of requests failed at concurrency "
        f"{step['concurrency']} ({reasons})."
    )
    examples = "\n".join(f"{k}: {v}" for k, v in step.get("examples", {}).items())
    snippet = f"{table}\n\n{examples}".strip()
    return Finding("load.error_burst", Severity.HIGH, message, snippet=snippet, probe="load")


def _low_capacity(
    relative: float,
    summary: dict[str, Any],
    capacity: Capacity | None,
    turns: dict[str, Any] | None,
    snippet: str,
) -> Finding:
    if turns is not None and isinstance(turns.get("ratio"), float):
        how = (
            "measured in alternating one-second turns with it, as many users for both as the "
            "reference peaks at: see the turns below"
        )
    else:
        reference = capacity.capacity_rps if capacity else 0.0
        how = (
            f"{summary['capacity_rps']:.0f} against {reference:.0f} good requests/s, each with "
            "its core to itself"
        )
    message = (
        f"Handles {100 * relative:.0f}% of the load the reference solution handles on the same "
        f"machine ({how})."
    )
    return Finding("load.low_capacity", Severity.MEDIUM, message, snippet=snippet, probe="load")
