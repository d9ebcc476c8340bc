"""The `acceptance` probe: a pack's hidden checks, run by trusted harness code over HTTP
against the submission's service, never inside the candidate's processes."""

from __future__ import annotations

from collections import Counter
from typing import Any

from proofwork.challenges import Pack
from proofwork.evidence import Evidence, Finding, MetricValue, Severity
from proofwork.probes.base import ProbeContext
from proofwork.probes.harnessed import (
    SubmissionConfigError,
    build_job,
    job_metrics,
    run_in_harness,
    service_metrics,
)


def rule_metrics(checks: list[dict[str, Any]]) -> dict[str, MetricValue]:
    """Totals, and failures per business rule (`acceptance.r6.failed`)."""
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
    per_rule = Counter(str(c.get("rule", "")).lower() for c in checks)
    failed_rule = Counter(str(c.get("rule", "")).lower() for c in checks if not c.get("passed"))
    for rule in sorted(r for r in per_rule if r.isalnum()):
        metrics[f"acceptance.{rule}.total"] = per_rule[rule]
        metrics[f"acceptance.{rule}.failed"] = failed_rule[rule]
    return metrics


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
        severity = Severity.HIGH if check.get("status") != "error" else Severity.MEDIUM
        return Finding(
            f"acceptance.{check.get('id')}",
            severity,
            f"{rule} {title}: {check.get('message', '')}".strip(),
            snippet=exchange_text(check.get("exchange")),
            probe=self.name,
        )
