"""The `scale` probe (batch jobs): one large generated day under a memory limit far below what
its rows take once loaded; rows per second and the most memory held, and the speed relative to
the pack's reference on the same machine (`scale.relative_speed`), like `load.relative_capacity`.

The relative figure divides rows per CPU-second (the job's processes' own CPU time), not per
wall-clock second: on a shared host the wall clock counts the time a job waited for its core,
which says more about the neighbours than about the code. The reference's figure is the median
of several runs (`capacity.REFERENCE_RUNS`), so one run in a slow spell does not shift every
grade compared with it. Scaling each rate by how fast the core ran was tried and dropped: an
idle-priority burst timer on the job's core (as the load probe uses to leave slow steps out)
and a yardstick of the harness's own work on that core both moved two to three times as much
as the job's own pace did, and so made the figure less steady, not more.
"""

from __future__ import annotations

from typing import Any

from proofwork.challenges import Pack
from proofwork.evidence import Evidence, Finding, MetricValue, Severity
from proofwork.probes import capacity
from proofwork.probes.base import ProbeContext
from proofwork.probes.harnessed import SubmissionConfigError, build_job, run_in_harness
from proofwork.sandbox.base import MiB

SLACK_S = 60.0  # generating the day and judging the outputs, beyond the run itself


class ScaleProbe:
    name = "scale"
    stage = 40
    kinds = ("job",)  # a service's throughput is the load probe's

    def applies(self, ctx: ProbeContext) -> bool:
        """Only for job packs that define a scale day."""
        return isinstance(ctx.challenge, Pack) and ctx.challenge.spec.job.scale_rows > 0

    def run(self, ctx: ProbeContext) -> Evidence:
        """Measure the submission, then put it beside the reference's figure."""
        pack: Pack = ctx.challenge
        evidence = Evidence(self.name)
        try:
            results = self.measure(ctx, pack, evidence)
        except SubmissionConfigError as exc:
            evidence.findings.append(Finding("scale.no_job", Severity.CRITICAL, str(exc)))
            return evidence
        if results is None:
            return evidence
        scale = results.get("scale", {})
        evidence.metrics.update(scale_metrics(scale))
        evidence.findings += findings(scale)
        self.relative(ctx, pack, results, evidence)
        return evidence

    def measure(self, ctx: ProbeContext, pack: Pack, evidence: Evidence) -> dict[str, Any] | None:
        """One scale run of whatever ctx's workspace holds, in a harness process."""
        spec = pack.spec.job
        job = build_job(
            ctx,
            self.name,
            deadline_s=ctx.budget.share(spec.scale_timeout_s + SLACK_S),
            checks_dir=str(pack.path("checks")),
            options=plan(pack),
            run_timeout_s=spec.scale_timeout_s,
        )
        return run_in_harness(ctx, job, evidence)

    def relative(
        self, ctx: ProbeContext, pack: Pack, own: dict[str, Any], evidence: Evidence
    ) -> None:
        speed = evidence.metrics.get("scale.rows_per_cpu_s")
        reference = reference_speed(ctx, pack, own, self)
        if reference is None or not isinstance(speed, int | float):
            return
        evidence.metrics["scale.reference_rows_per_cpu_s"] = reference
        evidence.metrics["scale.relative_speed"] = round(speed / reference, 3)


def plan(pack: Pack) -> dict[str, Any]:
    """What the harness needs for the scale day (also the key of the reference's figure)."""
    spec = pack.spec.job
    return {
        "seed": spec.hidden_seed,
        "rows": spec.scale_rows,
        "memory_bytes": spec.scale_memory_mib * MiB,
    }


def scale_metrics(scale: dict[str, Any]) -> dict[str, MetricValue]:
    """Rows per second (0 unless it finished with the right figures), and the memory held."""
    correct = bool(scale.get("correct"))
    wall = float(scale.get("wall_s") or 0.0)
    cpu = float(scale.get("cpu_s") or 0.0)
    rows = int(scale.get("rows") or 0)
    metrics: dict[str, MetricValue] = {
        "scale.rows": rows,
        "scale.input_mib": round(int(scale.get("input_bytes") or 0) / MiB, 1),
        "scale.memory_limit_mib": round(int(scale.get("memory_limit_bytes") or 0) / MiB, 1),
        "scale.completed": bool(scale.get("completed")),
        "scale.correct": correct,
        "scale.stopped_by_memory": "memory" in (scale.get("stopped") or []),
        "scale.wall_s": wall,
        "scale.rows_per_s": round(rows / wall, 1) if correct and wall > 0 else 0.0,
        "scale.cpu_s": cpu,
        "scale.rows_per_cpu_s": round(rows / cpu, 1) if correct and cpu > 0 else 0.0,
    }
    if scale.get("longest_silence_s") is not None:
        metrics["scale.longest_silence_s"] = float(scale["longest_silence_s"])
    if scale.get("peak_memory_bytes") is not None:
        metrics["scale.peak_memory_mib"] = round(int(scale["peak_memory_bytes"]) / MiB, 1)
    return metrics


def findings(scale: dict[str, Any]) -> list[Finding]:
    """Why the scale day did not count: the memory limit, another limit, an exit, bad figures."""
    rows, limit = scale.get("rows"), int(scale.get("memory_limit_bytes") or 0) // MiB
    size = round(int(scale.get("input_bytes") or 0) / MiB, 1)
    day = f"a day of {rows} rows ({size} MiB of input)"
    stopped = scale.get("stopped") or []
    if "memory" in stopped:
        message = (
            f"The job was stopped by its {limit} MiB memory limit on {day}: it holds the "
            "input in memory instead of streaming it."
        )
        return [Finding("scale.out_of_memory", Severity.HIGH, message, probe="scale")]
    if stopped:
        message = f"The job was stopped by its {', '.join(stopped)} limit on {day}."
        return [Finding("scale.stopped", Severity.HIGH, message, probe="scale")]
    if not scale.get("completed"):
        message = f"The job exited {scale.get('exit_code')} on {day}."
        snippet = scale.get("stderr_tail") or None
        return [Finding("scale.failed", Severity.HIGH, message, snippet=snippet, probe="scale")]
    if not scale.get("correct"):
        message = f"The job finished {day} with wrong figures: {scale.get('problem')}"
        return [Finding("scale.wrong", Severity.HIGH, message, probe="scale")]
    return []


def reference_speed(
    ctx: ProbeContext, pack: Pack, own: dict[str, Any], probe: ScaleProbe
) -> float | None:
    """The reference's rows per CPU-second on this machine: kept from before, or the median of
    `capacity.REFERENCE_RUNS` runs now (this grade's own among them when the submission is the
    reference), then kept."""
    path = capacity.cache_path(ctx.settings.home, pack, {"scale": plan(pack)})
    kept = capacity.read_json(path)
    if kept and kept.get("rows_per_cpu_s"):
        return float(kept["rows_per_cpu_s"])

    def speed(results: dict[str, Any] | None) -> float | None:
        figure = scale_metrics((results or {}).get("scale", {})).get("scale.rows_per_cpu_s")
        return figure if isinstance(figure, float) and figure > 0 else None

    reference = capacity.repeatable_reference(ctx, pack)

    def again() -> float | None:
        return speed(probe.measure(reference(), pack, Evidence("scale.reference")))

    first = speed(own) if capacity.is_reference(ctx, pack) else None
    runs = capacity.reference_runs(first, again)
    if not runs:
        return None
    figure = capacity.median_run(runs, float)
    capacity.write_json(
        path, {"rows_per_cpu_s": figure, "runs": runs, "machine": capacity.machine()}
    )
    return figure
