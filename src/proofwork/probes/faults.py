"""The `faults` probe: the payment provider misbehaves (faults.toml scenarios) while trusted
harness code orders from the submission's service; hangs, 5xx, undocumented answers, a
service that does not recover, and double charges become findings.

Also the shared shape of the probes that break things around the running service (faults,
durability, operability): each reads its section of the pack's faults.toml, runs one harness
job, and turns its results into metrics and findings.
"""

from __future__ import annotations

import tomllib
from typing import Any

from proofwork.challenges import Pack
from proofwork.evidence import Evidence, Finding, MetricValue, Severity
from proofwork.probes.acceptance import exchange_text
from proofwork.probes.base import ProbeContext
from proofwork.probes.harnessed import SubmissionConfigError, build_job, run_in_harness

FAULTS_FILE = "faults.toml"


def pack_plan(pack: Pack, section: str) -> dict[str, Any] | None:
    """The `[section]` of the pack's faults.toml, with the helpers module named at its top;
    None when the pack does not ask for that section."""
    path = pack.path(FAULTS_FILE)
    if not path.is_file():
        return None
    data = tomllib.loads(path.read_text())
    plan = data.get(section)
    if not isinstance(plan, dict) or not plan:
        return None
    return {"helpers": data.get("helpers", "_orders"), **plan}


class HarnessedFaultProbe:
    """Runs one harness job of kind `name` with the pack's `[name]` plan; subclasses measure."""

    name = ""
    stage = 40
    kinds = ("service",)  # a batch job has its own measures of this
    default_budget_s = 60.0

    def applies(self, ctx: ProbeContext) -> bool:
        """Only for challenges whose faults.toml has this probe's section."""
        return isinstance(ctx.challenge, Pack) and pack_plan(ctx.challenge, self.name) is not None

    def run(self, ctx: ProbeContext) -> Evidence:
        """Build the job, run it in a harness process, turn its results into evidence."""
        pack: Pack = ctx.challenge
        plan = pack_plan(pack, self.name) or {}
        evidence = Evidence(self.name)
        budget_s = float(plan.get("budget_s", self.default_budget_s))
        try:
            job = build_job(
                ctx,
                self.name,
                deadline_s=ctx.budget.share(budget_s),
                checks_dir=str(pack.path("checks")),
                options=plan,
            )
        except SubmissionConfigError as exc:
            return self.not_started(evidence, plan, str(exc))
        results = run_in_harness(ctx, job, evidence)
        if results is None:
            return evidence
        service = results.get("service", {})
        if not service.get("started"):
            return self.not_started(evidence, plan, service.get("error", "unknown reason"))
        self.measure(evidence, plan, results)
        return evidence

    def not_started(self, evidence: Evidence, plan: dict[str, Any], reason: str) -> Evidence:
        """Nothing could be measured: the metrics say so, and one critical finding says why."""
        evidence.metrics.update(self.unmeasured(plan))
        message = f"The service did not start, so nothing could be measured: {reason}"
        evidence.findings.append(self.finding("no_service", Severity.CRITICAL, message))
        return evidence

    def unmeasured(self, plan: dict[str, Any]) -> dict[str, MetricValue]:
        """Metrics for a service that never started: every expectation counts as failed."""
        raise NotImplementedError

    def measure(self, evidence: Evidence, plan: dict[str, Any], results: dict[str, Any]) -> None:
        """Add this probe's metrics and findings from the harness results."""
        raise NotImplementedError

    def finding(
        self, rule: str, severity: Severity, message: str, exchange: dict[str, Any] | None = None
    ) -> Finding:
        """A finding of this probe, with the exchange that showed it as its snippet."""
        return Finding(
            f"{self.name}.{rule}",
            severity,
            message,
            snippet=exchange_text(exchange),
            probe=self.name,
        )


# How bad each broken expectation is for a business that takes payments.
SEVERITY = {
    "double_charge": Severity.CRITICAL,
    "hang": Severity.HIGH,
    "server_error": Severity.HIGH,
    "not_recovered": Severity.HIGH,
    "retry_new_order": Severity.HIGH,
    "retry_failed": Severity.MEDIUM,
    "undocumented": Severity.MEDIUM,
    "setup": Severity.MEDIUM,
}


class FaultsProbe(HarnessedFaultProbe):
    name = "faults"
    default_budget_s = 90.0

    def unmeasured(self, plan: dict[str, Any]) -> dict[str, MetricValue]:
        """Every planned scenario failed; nothing recovered."""
        planned = len(plan.get("scenario", []))
        return {
            "faults.scenarios": 0,
            "faults.not_run": planned,
            "faults.failed": planned,
            "faults.recovered": False,
        }

    def measure(self, evidence: Evidence, plan: dict[str, Any], results: dict[str, Any]) -> None:
        """Metrics over the scenarios, one finding per scenario and kind of broken expectation."""
        scenarios = [s for s in results.get("scenarios", []) if isinstance(s, dict)]
        others = results.get("other_double_charges") or {}
        evidence.metrics.update(scenario_metrics(scenarios, others, plan))
        setup = results.get("setup_error")
        if setup:
            message = f"Could not set up the fault scenarios: {setup.get('message')}"
            evidence.findings.append(
                self.finding("setup", Severity.HIGH, message, setup.get("exchange"))
            )
        for scenario in scenarios:
            evidence.findings += [self._problem(p) for p in scenario.get("problems", [])]
        skipped = [str(s.get("name")) for s in scenarios if not s.get("ran")]
        if skipped:
            message = f"Not run, for lack of time in the budget: {', '.join(skipped)}"
            evidence.findings.append(self.finding("not_run", Severity.INFO, message))
        for reference, times in sorted(others.items()):
            message = f"Order {reference} was charged {times} times; a customer pays once"
            evidence.findings.append(self.finding("double_charge", Severity.CRITICAL, message))

    def _problem(self, problem: dict[str, Any]) -> Finding:
        kind = str(problem.get("kind", "problem"))
        count = int(problem.get("count", 1))
        message = str(problem.get("message", ""))
        if count > 1:
            message += f" ({count} times in this scenario)"
        return self.finding(
            kind, SEVERITY.get(kind, Severity.MEDIUM), message, problem.get("exchange")
        )


def scenario_metrics(
    scenarios: list[dict[str, Any]], others: dict[str, int], plan: dict[str, Any]
) -> dict[str, MetricValue]:
    """`faults.*`: scenarios run/passed/failed, and what went wrong across them."""
    ran = [s for s in scenarios if s.get("ran")]
    elapsed = [a["elapsed_s"] for s in ran for a in s.get("answers", []) if a.get("status")]
    recoveries = [s["recovery_s"] for s in ran if s.get("recovery_s") is not None]
    metrics: dict[str, MetricValue] = {
        "faults.scenarios": len(ran),
        "faults.not_run": len(plan.get("scenario", [])) - len(ran),
        "faults.passed": sum(1 for s in ran if s.get("passed")),
        "faults.failed": sum(1 for s in ran if not s.get("passed")),
        "faults.orders": sum(len(s.get("answers", [])) for s in ran),
        "faults.hangs": sum(int(s.get("hangs", 0)) for s in ran),
        "faults.server_errors": sum(int(s.get("server_errors", 0)) for s in ran),
        "faults.undocumented": sum(int(s.get("undocumented", 0)) for s in ran),
        "faults.double_charges": sum(int(s.get("double_charges", 0)) for s in ran)
        + sum(n - 1 for n in others.values()),
        "faults.recovered": bool(ran) and all(s.get("recovered") for s in ran),
        "faults.unrecovered": sum(1 for s in ran if not s.get("recovered")),
        "faults.slowest_answer_s": max(elapsed, default=0.0),
        "faults.slowest_recovery_s": max(recoveries, default=0.0),
    }
    for scenario in scenarios:
        metrics[f"faults.{scenario.get('id')}.passed"] = bool(scenario.get("passed"))
    return metrics
