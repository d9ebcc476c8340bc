"""The `operability` probe for a batch job: what an operator has to go on at night. It reads
what the other probes saw of the job (no run of its own): structured logs over every run, the
exit code and message for a wrong command (the acceptance run of rule R12's check), and
whether the long scale run reported progress as it went rather than only at the end."""

from __future__ import annotations

from proofwork.challenges import Pack
from proofwork.evidence import Evidence, Finding, MetricValue, Severity
from proofwork.probes.base import ProbeContext

STRUCTURED_PERCENT = 80.0
SILENCE_S = 15.0  # longer than this without a line on a long run, and nobody can tell it lives


class JobOperabilityProbe:
    name = "operability"
    stage = 50  # after acceptance and scale, whose runs it reads
    kinds = ("job",)

    def applies(self, ctx: ProbeContext) -> bool:
        """Only against a job pack, once the job has been run."""
        return isinstance(ctx.challenge, Pack) and "acceptance" in ctx.previous

    def run(self, ctx: ProbeContext) -> Evidence:
        """Metrics and findings from the acceptance and scale evidence."""
        evidence = Evidence(self.name)
        seen = {**ctx.previous["acceptance"].metrics}
        if "scale" in ctx.previous:
            seen.update(ctx.previous["scale"].metrics)
        check = ctx.challenge.spec.job.wrong_command_check
        failed = {f.rule for f in ctx.previous["acceptance"].findings}
        refused_ok = None if not check else f"acceptance.{check}" not in failed
        evidence.metrics.update(operability_metrics(seen, refused_ok))
        evidence.findings += operability_findings(evidence.metrics)
        return evidence


def operability_metrics(
    seen: dict[str, MetricValue], refused_ok: bool | None
) -> dict[str, MetricValue]:
    """Structured logs, the wrong-command exit, and progress on the long run."""
    structured = seen.get("job.structured_logs_percent")
    silence = seen.get("scale.longest_silence_s")
    metrics: dict[str, MetricValue] = {
        "operability.ran": bool(seen.get("job.ran")),
        "operability.structured_logs_percent": structured if structured is not None else 0.0,
    }
    if refused_ok is not None:  # the pack names the check that tries a wrong command
        metrics["operability.wrong_command_refused"] = refused_ok
    if isinstance(silence, float) and seen.get("scale.completed"):
        metrics["operability.longest_silence_s"] = silence
        metrics["operability.progress_on_long_runs"] = silence <= SILENCE_S
    return metrics


def operability_findings(metrics: dict[str, MetricValue]) -> list[Finding]:
    """What an operator would miss."""
    found = []
    structured = metrics.get("operability.structured_logs_percent")
    if isinstance(structured, float) and structured < STRUCTURED_PERCENT:
        message = (
            f"Only {structured:g}% of the job's log lines are structured (JSON or key=value): "
            "the nightly run cannot be searched or alerted on."
        )
        found.append(_finding("unstructured_logs", Severity.MEDIUM, message))
    if metrics.get("operability.wrong_command_refused") is False:
        message = "A wrong command (a bad DATE) is not refused with exit code 2 and a message."
        found.append(_finding("wrong_command", Severity.MEDIUM, message))
    if metrics.get("operability.progress_on_long_runs") is False:
        message = (
            f"On the long scale run the job printed nothing for "
            f"{metrics['operability.longest_silence_s']:g} s: an operator cannot tell a slow "
            "night from a stuck one."
        )
        found.append(_finding("silent_long_run", Severity.MEDIUM, message))
    return found


def _finding(rule: str, severity: Severity, message: str) -> Finding:
    return Finding(f"operability.{rule}", severity, message, probe="operability")
