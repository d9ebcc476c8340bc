"""The `acceptance` probe: a pack's hidden checks, run by trusted harness code over HTTP
against the submission's service, never inside the candidate's processes."""

from __future__ import annotations

from collections import Counter
from typing import Any

from proofwork.challenges import Pack
from proofwork.evidence import Evidence, Finding, MetricValue, Severity
from proofwork.harness.checks import SEVERITIES
from proofwork.probes.base import ProbeContext
from proofwork.probes.harnessed import (
    SubmissionConfigError,
    build_job,
    job_metrics,
    run_in_harness,
    service_metrics,
)

FINDING_SEVERITY = {"critical": Severity.CRITICAL, "major": Severity.HIGH, "minor": Severity.LOW}


def rule_metrics(checks: list[dict[str, Any]]) -> dict[str, MetricValue]:
    """Totals, failures per business rule (`acceptance.r6.failed`) and per severity.

    A check that did not pass counts at the severity of its outcome (`acceptance.minor_failed`,
    `acceptance.r9.major_failed`), errors included, so levels can ask for "no critical or major
    failure of R9" while a documented detail costs only the top level.
    """
    passed = sum(1 for c in checks if c.get("passed"))
    errors = sum(1 for c in checks if c.get("status") == "error")
    total = len(checks)
    metrics: dict[str, MetricValue] = {
        "acceptance.total": total,
        "acceptance.passed": passed,
        "acceptance.failed": total - passed - errors,
        "acceptance.errors": errors,
        "acceptance.passed_percent": round(100.0 * passed / total, 1) if total else 0.0,
    }
    not_passed = [c for c in checks if not c.get("passed")]
    by_severity = Counter(severity_of(c) for c in not_passed)
    metrics.update({f"acceptance.{s}_failed": by_severity[s] for s in SEVERITIES})
    per_rule = Counter(rule_of(c) for c in checks)
    failed_rule = Counter(rule_of(c) for c in not_passed)
    failed_rule_severity = Counter((rule_of(c), severity_of(c)) for c in not_passed)
    for rule in sorted(r for r in per_rule if r.isalnum()):
        metrics[f"acceptance.{rule}.total"] = per_rule[rule]
        metrics[f"acceptance.{rule}.failed"] = failed_rule[rule]
        for severity in SEVERITIES:
            metrics[f"acceptance.{rule}.{severity}_failed"] = failed_rule_severity[rule, severity]
    return metrics


def rule_of(check: dict[str, Any]) -> str:
    """The check's business rule as metric names spell it (`R9` -> `r9`)."""
    return str(check.get("rule", "")).lower()


def severity_of(check: dict[str, Any]) -> str:
    """What the check's outcome counts as; results without one (older harness) count as major."""
    severity = check.get("severity")
    return severity if severity in SEVERITIES else "major"


def counted_in(check: dict[str, Any]) -> tuple[str, ...]:
    """The metrics a check that did not pass is counted in."""
    rule, severity = rule_of(check), severity_of(check)
    counted = ["acceptance.errors" if check.get("status") == "error" else "acceptance.failed"]
    counted += ["acceptance.passed", "acceptance.passed_percent", f"acceptance.{severity}_failed"]
    if rule.isalnum():
        counted += [f"acceptance.{rule}.failed", f"acceptance.{rule}.{severity}_failed"]
    return tuple(counted)


def exchange_text(exchange: dict[str, Any] | None) -> str | None:
    """The request and response of a failed check, as a person would read them."""
    if not exchange:
        return None
    request = f"{exchange.get('method')} {exchange.get('url')}"
    body = exchange.get("request_body")
    if body:
        request += f"\n{body}"
    status = exchange.get("status")
    response = (
        f"→ {status}\n{exchange.get('response_body') or ''}"
        if status is not None
        else f"→ no response: {exchange.get('error')}"
    )
    return f"{request}\n{response}".strip()


class AcceptanceProbe:
    name = "acceptance"
    stage = 30

    def applies(self, ctx: ProbeContext) -> bool:
        """Only when grading against a challenge pack."""
        return isinstance(ctx.challenge, Pack)

    def run(self, ctx: ProbeContext) -> Evidence:
        """Run the pack's checks in a harness process and turn its results into evidence."""
        pack: Pack = ctx.challenge
        evidence = Evidence(self.name)
        job_spec = pack.spec.job
        options = (
            {"seed": job_spec.hidden_seed, "check_deadline_s": 2 * job_spec.run_timeout_s}
            if pack.spec.kind == "job"
            else None
        )
        try:
            job = build_job(
                ctx,
                "acceptance",
                deadline_s=ctx.budget.share(pack.spec.budget.acceptance_s),
                checks_dir=str(pack.path("checks")),
                options=options,
            )
        except SubmissionConfigError as exc:
            return self._cannot_start(evidence, str(exc), pack.spec.kind)
        results = run_in_harness(ctx, job, evidence)
        if results is None:
            return evidence
        return self._evidence(evidence, results, pack.spec.kind)

    def _cannot_start(self, evidence: Evidence, reason: str, kind: str) -> Evidence:
        started = "job.ran" if kind == "job" else "service.started"
        evidence.metrics.update({started: False, "acceptance.passed": 0})
        evidence.findings.append(
            Finding(f"acceptance.no_{kind}", Severity.CRITICAL, reason, probe=self.name)
        )
        return evidence

    def _evidence(self, evidence: Evidence, results: dict[str, Any], kind: str) -> Evidence:
        checks = [c for c in results.get("checks", []) if isinstance(c, dict)]
        evidence.metrics.update(rule_metrics(checks))
        if kind == "job":
            evidence.metrics.update(job_metrics(results))
        else:
            evidence.metrics.update(service_metrics(results))
            service = results.get("service", {})
            if not service.get("started"):
                message = f"The service did not start: {service.get('error', 'unknown reason')}"
                evidence.findings.append(
                    Finding("acceptance.no_service", Severity.CRITICAL, message, probe=self.name)
                )
        evidence.findings += [self._finding(c) for c in checks if not c.get("passed")]
        return evidence

    def _finding(self, check: dict[str, Any]) -> Finding:
        rule, title = check.get("rule", "?"), check.get("title", check.get("id", "?"))
        severity = severity_of(check)
        return Finding(
            f"acceptance.{check.get('id')}",
            FINDING_SEVERITY[severity],
            f"{rule} {title} ({severity}): {check.get('message', '')}".strip(),
            snippet=exchange_text(check.get("exchange")),
            probe=self.name,
            counts_toward=counted_in(check),
        )
