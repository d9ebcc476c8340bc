"""`challenge verify`: grade a pack's starter and reference; the pack is fit for use only if
the reference passes everything and reaches the promised levels while the starter fails the
checks aimed at its planted failures and stays low."""

from __future__ import annotations

from dataclasses import dataclass, field

from proofwork.challenges.pack import Pack
from proofwork.config import Settings
from proofwork.engine import GradeRequest, Listener, grade
from proofwork.evidence import Report


@dataclass
class Verdict:
    pack: Pack
    reference: Report
    starter: Report
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def levels(report: Report) -> dict[str, int | None]:
    """Machine-scored signal levels by name."""
    return {s["name"]: s.get("level") for s in report.signals if s.get("status") == "scored"}


def failed_checks(report: Report) -> set[str]:
    """Ids of the acceptance checks that failed."""
    prefix = "acceptance."
    return {f.rule[len(prefix) :] for f in report.findings if f.rule.startswith(prefix)}


def judge_reference(pack: Pack, report: Report) -> list[str]:
    """What keeps the reference from being a fit reference."""
    problems = []
    metrics = report.metrics
    if pack.spec.kind == "job" and not metrics.get("job.ran"):
        problems.append("reference: the job never completed a run")
    if pack.spec.kind == "service" and not metrics.get("service.started"):
        problems.append("reference: the service did not start")
    failing = sorted(failed_checks(report) - {"no_service", "no_job"})
    if failing:
        problems.append(f"reference fails acceptance checks: {', '.join(failing)}")
    if metrics.get("tests.failed") or metrics.get("tests.errors"):
        problems.append("reference: its own test suite does not pass")
    spec = pack.spec.verify
    for probe in spec.reference_clean_probes:
        found = sorted({f.rule for f in report.findings if f.probe == probe})
        if found:
            problems.append(f"reference has {probe} findings: {', '.join(found)}")
    for rule in spec.reference_forbidden_rules:
        if any(f.rule == rule for f in report.findings):
            problems.append(f"reference has {rule} findings")
    wanted = pack.spec.verify.reference_min_level
    unmet = {s["name"]: s.get("next_level") or [] for s in report.signals}
    for name in pack.spec.signals:
        level = levels(report).get(name)
        if level is None or level < wanted:
            why = f" (unmet: {'; '.join(unmet.get(name, []))})" if unmet.get(name) else ""
            problems.append(f"reference: {name} is at level {level}, needs at least {wanted}{why}")
    return problems


def judge_starter(pack: Pack, report: Report) -> list[str]:
    """What keeps the starter from showing the planted failures."""
    problems = []
    failing = failed_checks(report)
    passed = [c for c in pack.spec.verify.starter_must_fail if c not in failing]
    if passed:
        problems.append(f"starter passes checks aimed at planted failures: {', '.join(passed)}")
    for probe in pack.spec.verify.starter_findings_in:
        if not any(f.probe == probe for f in report.findings):
            problems.append(f"starter has no {probe} findings: that probe cannot see its flaws")
    for name, ceiling in pack.spec.verify.starter_max_level.items():
        level = levels(report).get(name)
        if level is None or level > ceiling:
            problems.append(f"starter: {name} is at level {level}, must stay at or below {ceiling}")
    return problems


def verify(pack: Pack, settings: Settings, listener: Listener | None = None) -> Verdict:
    """Grade the reference and the starter of `pack` and judge both."""
    reports = {}
    for side in ("reference", "starter"):
        request = GradeRequest(source=pack.path(side), settings=settings, challenge=pack.id)
        if listener is not None:
            request.listener = listener
        reports[side] = grade(request)
    verdict = Verdict(pack, reports["reference"], reports["starter"])
    verdict.problems += judge_reference(pack, verdict.reference)
    verdict.problems += judge_starter(pack, verdict.starter)
    verdict.problems += judge_margin(pack, verdict.reference, verdict.starter)
    return verdict


def judge_margin(pack: Pack, reference: Report, starter: Report) -> list[str]:
    """Metrics on which the reference must beat the starter by the pack's factor."""
    problems = []
    for metric, factor in pack.spec.verify.reference_beats_starter.items():
        ours, theirs = reference.metrics.get(metric), starter.metrics.get(metric)
        if not isinstance(ours, int | float) or not isinstance(theirs, int | float):
            problems.append(
                f"{metric} was not measured on both (reference {ours}, starter {theirs})"
            )
        elif ours < factor * theirs:
            problems.append(
                f"reference {metric} = {ours:g} is not {factor:g}x the starter's ({theirs:g})"
            )
    return problems
