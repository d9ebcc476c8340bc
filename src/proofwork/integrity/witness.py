"""Cross-checks of a test run: what the suite's results files say against the grader's canary,
the in-process ledger (`proofwork_ledger`), the exit status the sandbox observed, and the
static scan. Each disagreement that an honest run cannot produce is tampering."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from proofwork.evidence import Finding, Severity
from proofwork.integrity import scan
from proofwork.integrity.canary import Canary
from proofwork.integrity.scan import Hit
from proofwork.sandbox.process import read_capped

if TYPE_CHECKING:
    from proofwork.probes.base import ProbeContext
    from proofwork.probes.tests import Counts
    from proofwork.sandbox.base import ExecResult

TAMPERING = "integrity.tampering"
SUSPICIOUS = "integrity.suspicious"
NOTE = "integrity.note"
LEDGER_FILE = "ledger.json"
KEEP_FILE = "keep.json"
LEDGER_MAX = 16 * 1024 * 1024
HIDDEN_MAX = 50
WORKSPACE = "/workspace/"


def read_ledger(raw: bytes | None) -> dict[str, Any] | None:
    """The ledger as JSON, or None when missing or malformed (it comes from the sandbox)."""
    if raw is None:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    return data if isinstance(data, dict) and data.get("version") == 1 else None


@dataclass
class Observed:
    """What the grader has in hand after the suite ran."""

    ledger: dict[str, Any] | None
    junit: bytes | None
    counts: dict[str, int]  # junit counts, canaries left out: passed/failed/errors/skipped
    canary_junit: dict[str, str]  # "failing"/"passing" -> outcome in the JUnit file
    canary_outcomes: dict[str, str]  # the same from the outcomes file
    exit_code: int
    stopped: list[str] = field(default_factory=list)


@dataclass
class Judgement:
    findings: list[Finding] = field(default_factory=list)
    hidden: list[str] = field(default_factory=list)  # tests the suite kept out of its own run

    @property
    def tampered(self) -> bool:
        """Whether any evidence of tampering was found."""
        return any(f.rule == TAMPERING for f in self.findings)

    def add(self, rule: str, message: str, **where: Any) -> None:
        """A finding of the tests probe about integrity."""
        severities = {TAMPERING: Severity.CRITICAL, SUSPICIOUS: Severity.HIGH}
        severity = severities.get(rule, Severity.INFO)
        self.findings.append(Finding(rule, severity, message, probe="tests", **where))


def check(
    ctx: ProbeContext,
    canary: Canary,
    suite: ExecResult,
    junit: bytes | None,
    counts: Counts | None,
    canary_said: dict[str, str],
) -> Judgement:
    """Everything the grader can hold against the suite's account of its main run."""
    ledger = read_ledger(read_capped(ctx.outdir / LEDGER_FILE, LEDGER_MAX))
    hooked = [str(h.get("where", "")) for h in (ledger or {}).get("hooks") or []]
    extra = tuple(w.removeprefix(WORKSPACE) for w in hooked if w.startswith(WORKSPACE))
    observed = Observed(
        ledger=ledger,
        junit=junit,
        counts={
            "passed": counts.passed,
            "failed": counts.failed,
            "errors": counts.errors,
            "skipped": counts.skipped,
        }
        if counts
        else {},
        canary_junit=counts.canaries if counts else {},
        canary_outcomes=canary_said,
        exit_code=suite.exit_code,
        stopped=list(suite.stopped),
    )
    return judge(observed, scan.scan(ctx.workspace, extra))


def judge(observed: Observed, hits: list[Hit]) -> Judgement:
    """Every cross-check, plus the scan's strong hits."""
    judgement = Judgement()
    for hit in hits:
        rule = TAMPERING if hit.strong else SUSPICIOUS
        judgement.add(rule, hit.message, path=hit.path, line=hit.line)
    if observed.stopped:
        return judgement  # a run cut short proves nothing either way
    ledger = observed.ledger
    if ledger is None:
        if observed.junit is not None or observed.exit_code == 0:
            judgement.add(
                TAMPERING,
                "The grader's witness inside the test run left no record, yet the run "
                f"{'wrote results' if observed.junit is not None else 'ended with status 0'}: "
                "something stopped or replaced it.",
            )
        return judgement
    _session(observed, ledger, judgement)
    _canaries(observed, ledger, judgement)
    if observed.junit is not None:
        _results_file(observed, observed.junit, ledger, judgement)
    _code(ledger, judgement)
    _kept_out(ledger, judgement)
    return judgement


def _session(observed: Observed, ledger: dict[str, Any], judgement: Judgement) -> None:
    if not ledger.get("finished") and observed.exit_code == 0:
        judgement.add(
            TAMPERING,
            "The test process ended with status 0 before pytest finished its session "
            f"({ledger.get('selected', 0)} tests selected): something ended it early on purpose.",
        )
    status = ledger.get("exitstatus")
    if ledger.get("finished") and isinstance(status, int) and status != observed.exit_code:
        judgement.add(
            TAMPERING,
            f"pytest finished with status {status}, but the process exited with "
            f"{observed.exit_code}: the exit status was changed after pytest decided it.",
        )


def _canaries(observed: Observed, ledger: dict[str, Any], judgement: Judgement) -> None:
    if not ledger.get("canary_nodeids"):
        return  # not placed (no tests, or a distributed run): nothing to compare
    said = {**observed.canary_outcomes, **observed.canary_junit}
    by_ledger = _canary_by_role(ledger)
    failing, passing = by_ledger.get("failing"), by_ledger.get("passing")
    deselected_by_pytest = _deselected_by_pytest(ledger)
    if failing is None and passing is None:
        if deselected_by_pytest or ledger.get("stopped_early"):
            judgement.add(NOTE, "The grader's canary tests did not run (pytest's own selection).")
            return
        judgement.add(
            TAMPERING,
            "Two tests the grader added to the suite were never run: the suite's own code "
            "removed tests it could not have known about.",
        )
        return
    if failing == "passed":
        judgement.add(
            TAMPERING,
            "A test the grader added, which always fails, was reported as passed: the suite "
            "rewrites failing results into passes.",
        )
    elif failing == "skipped" and passing == "passed":
        judgement.add(
            TAMPERING,
            "A test the grader added, which always fails, was reported as skipped while its "
            "passing twin passed: the suite turns failures into skips.",
        )
    for role, outcome in said.items():
        in_ledger = by_ledger.get(role)
        if in_ledger is not None and outcome != in_ledger:
            judgement.add(
                TAMPERING,
                f"The results file says the grader's {role} canary {outcome}, but the run "
                f"reported it {in_ledger}: the results file was rewritten.",
            )
    if failing is not None and "failing" not in observed.canary_junit and observed.junit:
        judgement.add(
            TAMPERING,
            "The grader's canary test ran but is missing from the JUnit results file: the "
            "file was replaced.",
        )


def _canary_by_role(ledger: dict[str, Any]) -> dict[str, str]:
    names = ledger.get("canary_roles") or {}
    result = {}
    for nodeid, outcome in (ledger.get("canary") or {}).items():
        role = names.get(nodeid)
        if role in ("failing", "passing"):
            result[role] = str(outcome)
    return result


def _deselected_by_pytest(ledger: dict[str, Any]) -> bool:
    canaries = set(ledger.get("canary_nodeids") or [])
    return any(
        d.get("nodeid") in canaries and not str(d.get("by", "")).startswith(WORKSPACE)
        for d in ledger.get("deselected") or []
    )


def _results_file(
    observed: Observed, junit: bytes, ledger: dict[str, Any], judgement: Judgement
) -> None:
    recorded = (ledger.get("hashes") or {}).get("junit")
    actual = hashlib.sha256(junit).hexdigest()
    if ledger.get("finished") and recorded and recorded != actual:
        judgement.add(
            TAMPERING,
            "The JUnit results file was rewritten after pytest wrote it (its content changed "
            "between the end of the session and the end of the process).",
        )
    tally: dict[str, int] = {"passed": 0, "failed": 0, "errors": 0, "skipped": 0}
    for outcome in (ledger.get("tally") or {}).values():
        key = "errors" if outcome == "error" else str(outcome)
        if key in tally:
            tally[key] += 1
    if ledger.get("finished") and tally != observed.counts:
        judgement.add(
            TAMPERING,
            f"The JUnit results file does not match the tests that ran: the file says "
            f"{_counts(observed.counts)}; the run itself reported {_counts(tally)}.",
        )


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {k}" for k, n in counts.items())


def _code(ledger: dict[str, Any], judgement: Judgement) -> None:
    for change in [*(ledger.get("changed") or []), *(ledger.get("foreign") or [])]:
        judgement.add(
            TAMPERING, f"The test run's reporting code was replaced: {str(change)[:300]}."
        )


def _kept_out(ledger: dict[str, Any], judgement: Judgement) -> None:
    by_suite = [
        d
        for d in ledger.get("deselected") or []
        if str(d.get("by", "")).startswith(WORKSPACE)
        and d.get("nodeid") not in set(ledger.get("canary_nodeids") or [])
    ]
    dropped = [str(n) for n in ledger.get("dropped") or []]
    hidden = [str(d.get("nodeid")) for d in by_suite] + dropped
    judgement.hidden = hidden[:HIDDEN_MAX]
    if by_suite:
        where = str(by_suite[0].get("by", "")).removeprefix(WORKSPACE)
        judgement.add(
            NOTE, f"The suite's own code ({where}) deselected {len(by_suite)} collected tests."
        )
    if dropped:
        judgement.add(
            NOTE,
            f"{len(dropped)} collected tests were removed before running without being "
            "deselected (by the suite's own collection hooks).",
        )


def judge_hidden(hidden: list[str], rerun: dict[str, dict[str, Any]] | None) -> list[Finding]:
    """Tests the suite kept out of its run, re-run by the grader (None: no time was left):
    failing ones were hidden; ones that stay out of the grader's run too are suspicious."""
    if rerun is None:
        return []
    failing = [n for n in hidden if rerun.get(n, {}).get("outcome") in ("failed", "error")]
    missing = [n for n in hidden if n not in rerun]
    found = []
    if missing:
        message = (
            f"{len(missing)} tests the suite kept out of its own run stayed out when the grader "
            f"put them back ({missing[0]}{' …' if len(missing) > 1 else ''})."
        )
        snippet = "\n".join(missing[:20])
        found.append(Finding(SUSPICIOUS, Severity.HIGH, message, snippet=snippet, probe="tests"))
    if not failing:
        return found
    listed = "\n".join(failing[:20])
    message = (
        f"{len(failing)} tests that the suite kept out of its own run fail when the grader "
        f"runs them: failing tests were hidden from the results ({failing[0]}"
        f"{' …' if len(failing) > 1 else ''})."
    )
    return [*found, Finding(TAMPERING, Severity.CRITICAL, message, snippet=listed, probe="tests")]
