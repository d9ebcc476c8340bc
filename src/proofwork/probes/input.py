"""The `input` probe: schemathesis fuzzes the submission's service against the pack's OpenAPI
contract from trusted harness code (`proofwork.harness.fuzz`). Every 5xx, hang and answer
outside the contract is a finding that carries the request reproducing it."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from proofwork.challenges import Pack
from proofwork.evidence import Evidence, Finding, MetricValue, Severity
from proofwork.probes.base import ProbeContext
from proofwork.probes.harnessed import SubmissionConfigError, build_job, run_in_harness

FUZZ_BUDGET_S = 30.0  # fuzzing proper; the reference needs about a third of it
MAX_EXAMPLES = 50  # per operation and generation mode (positive, negative)
REQUEST_TIMEOUT_S = 5.0  # an answer slower than this is a hang
SLACK_S = 15.0  # seeding, recovery from a hang, results
SEED_PRODUCTS = 3
CUSTOMER = "fuzz-customer"

# Per kind of failure: its finding's rule and severity, and the metric it is counted in.
RULES = {
    "server_error": ("input.server_error", Severity.HIGH, "input.server_errors"),
    "hang": ("input.hang", Severity.HIGH, "input.hangs"),
    "contract": ("input.contract", Severity.MEDIUM, "input.contract_violations"),
}


def catalogue_seed(pack: Pack) -> tuple[list[dict[str, Any]], dict[str, list[Any]]]:
    """Setup requests for a few products of the pack's seed catalogue (`load.toml [setup]`,
    the one the load probe uses), and the values to blend into generated requests."""
    try:
        setup = tomllib.loads(pack.path("load.toml").read_text()).get("setup", {})
    except (OSError, tomllib.TOMLDecodeError):
        setup = {}
    if not isinstance(setup, dict) or not setup.get("products"):
        return [], {}
    count = min(int(setup["products"]), SEED_PRODUCTS)
    skus = [f"fuzz-{n}" for n in range(1, count + 1)]
    requests = [
        {
            "method": "POST",
            "path": "/products",
            "json": {
                "sku": sku,
                "name": f"Fuzz product {sku}",
                "price": str(setup.get("price", "19.99")),
                "stock": int(setup.get("stock", 1_000_000)),
            },
        }
        for sku in skus
    ]
    return requests, {"sku": skus, "customer_id": [CUSTOMER]}


def fuzz_options(pack: Pack, home: Path) -> dict[str, Any]:
    """What the harness's fuzzer gets: the contract, its budget, the seed catalogue, and
    where hypothesis may keep its unicode tables between runs (`home`/cache/hypothesis)."""
    setup, known = catalogue_seed(pack)
    return {
        "contract": str(pack.path(pack.spec.service.contract)),
        "max_examples": MAX_EXAMPLES,
        "budget_s": FUZZ_BUDGET_S,
        "request_timeout_s": REQUEST_TIMEOUT_S,
        "setup": setup,
        "known_values": known,
        "hypothesis_home": str(home / "cache" / "hypothesis"),
    }


def fuzz_metrics(fuzz: dict[str, Any]) -> dict[str, MetricValue]:
    """Totals: operations reached, requests sent, deduplicated failures by kind."""
    operations = [op for op in fuzz.get("operations", []) if op.get("requests")]
    return {
        "input.operations": len(operations),
        "input.requests": int(fuzz.get("requests", 0)),
        "input.failures": int(fuzz.get("failures", 0)),
        "input.server_errors": int(fuzz.get("server_errors", 0)),
        "input.hangs": int(fuzz.get("hangs", 0)),
        "input.contract_violations": int(fuzz.get("contract_violations", 0)),
        "input.stopped_early": bool(fuzz.get("stopped_early")),
    }


def failure_message(failure: dict[str, Any]) -> str:
    """One sentence: which operation, what went wrong, to what kind of request, how often."""
    operation, count = failure.get("operation", "?"), failure.get("count", 1)
    request = "a schema-violating" if failure.get("mode") == "negative" else "a valid"
    times = f" ({count} requests)" if count != 1 else ""
    kind = failure.get("kind")
    if kind == "hang":
        return f"{operation} gave no answer in time to {request} request{times}"
    if kind == "server_error":
        status = failure.get("status") or "no response"
        return f"{operation} failed with {status} on {request} request{times}"
    title = failure.get("title", "contract violated")
    return f"{operation} broke the contract ({title}, {failure.get('status')}){times}"


def failure_snippet(failure: dict[str, Any]) -> str:
    """The reproducing request, the answer, and for contract breaks what the contract says."""
    parts = [str(failure.get("request", "")), str(failure.get("response", ""))]
    if failure.get("kind") == "contract":
        parts.append(str(failure.get("message", "")))
    return "\n\n".join(p for p in parts if p).strip()


def operations_table(fuzz: dict[str, Any]) -> str:
    """Per operation: requests sent, statuses seen, failures, why it stopped early."""
    lines = []
    for op in fuzz.get("operations", []):
        statuses = " ".join(f"{code}:{n}" for code, n in op.get("statuses", {}).items())
        stopped = f"  stopped: {op['stopped']}" if op.get("stopped") else ""
        lines.append(
            f"{op.get('operation', '?'):28} {op.get('requests', 0):4} requests  "
            f"{op.get('failures', 0):3} failing  {statuses}{stopped}"
        )
        lines += [f"    error: {e}" for e in op.get("errors", [])]
    return "\n".join(lines)


class InputProbe:
    name = "input"
    stage = 40
    kinds = ("service",)  # a batch job has its own measures of this

    def applies(self, ctx: ProbeContext) -> bool:
        """Only when grading against a challenge pack (it has the contract)."""
        return isinstance(ctx.challenge, Pack)

    def run(self, ctx: ProbeContext) -> Evidence:
        """Fuzz the service in a harness process and turn its failures into findings."""
        pack: Pack = ctx.challenge
        evidence = Evidence(self.name)
        wanted_s = FUZZ_BUDGET_S + pack.spec.service.startup_timeout_s + SLACK_S
        try:
            job = build_job(
                ctx,
                "input",
                deadline_s=ctx.budget.share(wanted_s),
                options=fuzz_options(pack, ctx.settings.home),
            )
        except SubmissionConfigError as exc:
            return self._not_fuzzed(evidence, str(exc))
        results = run_in_harness(ctx, job, evidence)
        if results is None:
            return evidence
        return self._evidence(evidence, results)

    def _not_fuzzed(self, evidence: Evidence, reason: str) -> Evidence:
        # Counts are left out on purpose: a threshold such as `input.server_errors == 0` must
        # not hold for a service that never ran. (The acceptance probe reports the start.)
        evidence.findings.append(
            Finding("input.no_service", Severity.INFO, f"Not fuzzed: {reason}", probe=self.name)
        )
        return evidence

    def _evidence(self, evidence: Evidence, results: dict[str, Any]) -> Evidence:
        service = results.get("service", {})
        if not service.get("started"):
            reason = f"the service did not start: {service.get('error', 'unknown reason')}"
            return self._not_fuzzed(evidence, reason)
        fuzz = results.get("fuzz", {})
        if not fuzz:
            return evidence  # the harness failed; run_in_harness marked the evidence
        evidence.metrics.update(fuzz_metrics(fuzz))
        evidence.add_artifact("input.operations", operations_table(fuzz))
        failures = [f for f in results.get("failures", []) if isinstance(f, dict)]
        evidence.findings += [self._finding(f) for f in failures]
        return evidence

    def _finding(self, failure: dict[str, Any]) -> Finding:
        rule, severity, metric = RULES.get(str(failure.get("kind")), RULES["contract"])
        return Finding(
            rule,
            severity,
            failure_message(failure),
            snippet=failure_snippet(failure),
            probe=self.name,
            counts_toward=(metric,),
        )
