"""The `tests` probe: the submission's own test suite under pytest and coverage.py.

Counts come from pytest's JUnit XML, read back size-capped and with a hardened XML parser;
coverage is measured by coverage.py with our own configuration (the same for every
submission, so a candidate cannot omit files to look better) over the source, not the tests.
Failing tests are re-run once: a test that then passes is counted as flaky.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from defusedxml import ElementTree

from proofwork.analysis import assertions
from proofwork.challenges import Pack
from proofwork.dependencies import shipped_top_level
from proofwork.evidence import Evidence, Finding, Severity, Status
from proofwork.integrity import witness
from proofwork.integrity.canary import Canary
from proofwork.probes.base import OUT, ProbeContext
from proofwork.runtime import DEPS
from proofwork.sandbox.base import WORKSPACE, ExecResult, MiB
from proofwork.sandbox.process import read_capped

PYTEST_ARGS = [
    "-p", "proofwork_pytest",
    "-p", "no:pytest_cov",  # we measure coverage ourselves; its options are accepted as no-ops
    "-p", "no:cacheprovider",
    "-q", "--color=no",
    # A test module that fails to import is reported as an error; the others still run.
    "--continue-on-collection-errors",
]  # fmt: skip
OMIT = [
    "*/tests/*", "*/test/*", "*/testing/*", "*/test_*.py", "*/*_test.py", "*/conftest.py",
    "/workspace/setup.py", "/workspace/noxfile.py", "/workspace/docs/*", "/workspace/doc/*",
    "/workspace/examples/*", "/workspace/scripts/*", "*/benchmarks/*",
    "*/.venv/*", "*/site-packages/*", "*/build/*",
]  # fmt: skip
EXCLUDE_ALSO = [
    "if TYPE_CHECKING:",
    "if __name__ == .__main__.:",
    "raise NotImplementedError",
    "@(typing\\.)?overload",
]
MAP_FILE = "map.json"  # per line, the tests that run it: read by the mutation probe
RERUN_MAX = 50
# Unit tests take well under a second; a test still running after this long is stuck. Tests
# that need more are rare, and a run or a pack can give them more (`--test-timeout`).
DEFAULT_TEST_TIMEOUT_S = 30.0
FAILED_FINDINGS_MAX = 50
# pytest's exit codes that mean the suite could not run at all.
EXIT_MEANING = {2: "interrupted", 3: "internal error", 4: "usage error", 5: "no tests collected"}


def coverage_rc(source: str, excluded: Iterable[str] = ()) -> str:
    """coverage.py configuration: branch coverage of the source tree, tests (and the run's
    excluded files, relative to the workspace) left out."""
    omit = "\n    ".join([*OMIT, *(f"{WORKSPACE}/{path}" for path in sorted(excluded))])
    exclude = "\n    ".join(EXCLUDE_ALSO)
    return (
        f"[run]\nbranch = True\nrelative_files = True\nsource =\n    {source}\n"
        f"omit =\n    {omit}\ndata_file = {OUT}/.coverage\n\n"
        f"[report]\nexclude_also =\n    {exclude}\n"
    )


@dataclass
class Counts:
    """Outcomes as pytest's summary line counts them (a failed subtest counts as failed)."""

    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    xfailed: int = 0
    xpassed: int = 0
    subtests_passed: int = 0
    subtests_failed: int = 0
    time_s: float = 0.0
    canaries: dict[str, str] = field(default_factory=dict)  # role -> outcome, not counted

    @property
    def total(self) -> int:
        """Tests (not subtests) with an outcome."""
        tests_failed = self.failed - self.subtests_failed
        return self.passed + tests_failed + self.errors + self.skipped + self.xfailed + self.xpassed


SUMMARY_FIELDS = {
    "passed": "passed",
    "failed": "failed",
    "error": "errors",
    "skipped": "skipped",
    "xfailed": "xfailed",
    "xpassed": "xpassed",
    "subtests passed": "subtests_passed",
    "subtests failed": "subtests_failed",
}


def parse_summary(raw: bytes, time_s: float = 0.0) -> Counts | None:
    """Counts written by `proofwork_pytest` from pytest's own summary statistics."""
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    counts = Counts(time_s=time_s)
    for key, name in SUMMARY_FIELDS.items():
        value = data.get(key, 0)
        setattr(counts, name, value if isinstance(value, int) and value >= 0 else 0)
    return counts


def parse_junit(raw: bytes, canary: Canary | None = None) -> Counts:
    """Count outcomes from pytest's JUnit XML, one per testcase (failure wins over error);
    the grader's canary tests are kept apart, not counted."""
    root = ElementTree.fromstring(raw)
    counts = Counts()
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    for suite in suites:
        counts.time_s += float(suite.get("time") or 0)
        for case in suite.iter("testcase"):
            tags = {child.tag for child in case}
            outcome = (
                "failed"
                if "failure" in tags
                else "error"
                if "error" in tags
                else "skipped"
                if "skipped" in tags
                else "passed"
            )
            role = canary.names(case.get("name") or "") if canary else None
            if role is not None:
                counts.canaries[role] = outcome
            else:
                key = "errors" if outcome == "error" else outcome
                setattr(counts, key, getattr(counts, key) + 1)
    return counts


def coverage_metrics(raw: bytes) -> dict[str, float | int]:
    """Line and branch coverage from `coverage json` totals."""
    totals = json.loads(raw)["totals"]
    statements, covered = totals["num_statements"], totals["covered_lines"]
    branches, covered_branches = totals.get("num_branches", 0), totals.get("covered_branches", 0)
    return {
        "tests.statements": statements,
        "tests.covered_lines": covered,
        "tests.coverage_percent": _percent(covered, statements),
        "tests.branches": branches,
        "tests.branch_coverage_percent": _percent(covered_branches, branches),
    }


def _percent(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 2) if whole else 0.0


def unshipped(ctx: ProbeContext) -> list[str]:
    """In a flat layout whose project was built and installed, the top-level Python files and
    folders its distribution does not ship (release scripts, benchmarks beside the package), as
    patterns relative to the workspace: the project's own coverage of its package leaves them
    out, and so does ours. Nothing where the project was not built or ships none of its tree."""
    layer = next((m.source for m in ctx.environment.mounts if m.target == DEPS), None)
    if layer is None or ctx.environment.source_roots[0] != WORKSPACE:
        return []
    shipped = shipped_top_level(layer)
    if not shipped or not any((ctx.workspace / name).exists() for name in shipped):
        return []
    left_out = []
    for entry in sorted(ctx.workspace.iterdir(), key=lambda e: e.name):
        if entry.name in shipped or entry.name.startswith(".") or entry.is_symlink():
            continue
        if entry.is_dir():
            left_out.append(f"{entry.name}/*")
        elif entry.suffix == ".py":
            left_out.append(entry.name)
    return left_out


class TestsProbe:
    name = "tests"
    stage = 20

    def applies(self, ctx: ProbeContext) -> bool:
        """Any Python at all: a repository without tests is evidence too."""
        return any(ctx.workspace.rglob("*.py"))

    def run(self, ctx: ProbeContext) -> Evidence:
        """Run the suite under coverage, read the results back, re-run failures once, and
        cross-check what the suite said about itself (see `proofwork.integrity`)."""
        evidence = Evidence(self.name)
        assertions.record(assertions.scan_tests(ctx.source_tree().tests), evidence)
        source = ctx.environment.source_roots[0]
        left_out = [*ctx.excluded, *unshipped(ctx)]
        (ctx.outdir / "coveragerc").write_text(coverage_rc(source, left_out))
        canary = Canary.new()
        suite = self._pytest(ctx, share=0.6, canary=canary)
        evidence.add_artifact("pytest.log", suite.text() + suite.text("stderr"))
        evidence.stopped.extend(suite.stopped)
        junit = read_capped(ctx.outdir / "junit.xml", 32 * MiB)
        counts = parse_junit(junit, canary) if junit is not None else None
        outcomes, canary_said = _apart(self._outcomes(ctx, "outcomes.json"), canary)
        judgement = witness.check(ctx, canary, suite, junit, counts, canary_said)
        if counts is None:
            evidence.findings.extend(judgement.findings)
            return self._no_results(evidence, suite)
        shown = _shown(counts, read_capped(ctx.outdir / "summary.json", MiB))
        evidence.metrics.update(self._count_metrics(shown, suite))
        evidence.metrics.update(_timeout_metrics(outcomes, limits_s(ctx)))
        evidence.metrics.update(self._coverage(ctx, evidence))
        flaky, hidden = self._rerun(ctx, outcomes, judgement.hidden)
        judgement.findings.extend(witness.judge_hidden(judgement.hidden, hidden))
        evidence.metrics["tests.flaky"] = len(flaky)
        evidence.metrics["tests.trusted"] = not judgement.tampered
        evidence.findings.extend(judgement.findings)
        evidence.findings.extend(_timeout_findings(outcomes, limits_s(ctx)))
        evidence.findings.extend(self._findings(outcomes, flaky))
        if shown.total == 0:
            evidence.findings.append(
                Finding("tests.none", Severity.HIGH, "No tests were collected.", probe=self.name)
            )
        if suite.timed_out:
            evidence.status = Status.TIMEOUT
            evidence.error = f"the test suite did not finish within {suite.wall_s:.0f}s"
        return evidence

    def _pytest(
        self,
        ctx: ProbeContext,
        share: float,
        nodeids: tuple[str, ...] = (),
        canary: Canary | None = None,
    ) -> ExecResult:
        env = {**ctx.environment.env, "COVERAGE_RCFILE": f"{OUT}/coveragerc"}
        witnessed = ["-p", "proofwork_ledger"]
        test_s, collect_s = limits_s(ctx)
        limits = [
            *witnessed,
            f"--proofwork-test-timeout={test_s:g}",
            f"--proofwork-collect-timeout={collect_s:g}",
        ]
        if nodeids:
            argv = [ctx.environment.python, "-m", "pytest", *PYTEST_ARGS, *limits, *nodeids]
            env["PROOFWORK_OUTCOMES"] = f"{OUT}/rerun.json"
            env["PROOFWORK_LEDGER"] = f"{OUT}/rerun-ledger.json"
            env["PROOFWORK_KEEP"] = f"{OUT}/{witness.KEEP_FILE}"
        else:
            argv = [ctx.environment.python, "-m", "coverage", "run", f"--rcfile={OUT}/coveragerc"]
            argv += ["-m", "pytest", *PYTEST_ARGS, *limits, f"--junitxml={OUT}/junit.xml"]
            env["PROOFWORK_SUMMARY"] = f"{OUT}/summary.json"
            # The same run records which tests cover which lines (and how long each takes), so
            # the mutation probe need not run the suite instrumented a second time.
            argv += ["-p", "proofwork_mutate", f"--proofwork-map={OUT}/{MAP_FILE}"]
            env["PROOFWORK_OUTCOMES"] = f"{OUT}/outcomes.json"
            env["PROOFWORK_LEDGER"] = f"{OUT}/{witness.LEDGER_FILE}"
            if canary is not None:
                env["PROOFWORK_CANARY"] = canary.env
        wanted = ctx.budget.remaining_s * share
        return ctx.sandbox.run(argv, limits=ctx.limits(wanted), env=env, mounts=ctx.mounts())

    def _no_results(self, evidence: Evidence, suite: ExecResult) -> Evidence:
        meaning = EXIT_MEANING.get(suite.exit_code, f"exit code {suite.exit_code}")
        if suite.timed_out:
            evidence.status = Status.TIMEOUT
            evidence.error = f"the test suite did not finish within {suite.wall_s:.0f}s"
        elif suite.stopped:
            evidence.status = Status.ERROR
            evidence.error = f"the test run was stopped by the sandbox: {', '.join(suite.stopped)}"
        else:
            evidence.status = Status.ERROR
            evidence.error = f"pytest wrote no results ({meaning}): {_last_line(suite)}"
        return evidence

    @staticmethod
    def _count_metrics(counts: Counts, suite: ExecResult) -> dict[str, Any]:
        return {
            "tests.passed": counts.passed,
            "tests.failed": counts.failed,
            "tests.errors": counts.errors,
            "tests.skipped": counts.skipped,
            "tests.xfailed": counts.xfailed,
            "tests.xpassed": counts.xpassed,
            "tests.subtests_passed": counts.subtests_passed,
            "tests.subtests_failed": counts.subtests_failed,
            "tests.total": counts.total,
            "tests.duration_s": round(counts.time_s, 3),
            "tests.wall_s": round(suite.wall_s, 3),
            # The grader's failing canary makes an honest run end with 1 when nothing else failed.
            "tests.exit_code": 0
            if suite.exit_code == 1 and not (counts.failed or counts.errors)
            else suite.exit_code,
        }

    def _coverage(self, ctx: ProbeContext, evidence: Evidence) -> dict[str, float | int]:
        argv = [ctx.environment.python, "-m", "coverage", "json", f"--rcfile={OUT}/coveragerc"]
        argv += ["-o", f"{OUT}/coverage.json", "--ignore-errors"]
        done = ctx.sandbox.run(
            argv, limits=ctx.limits(60), env=ctx.environment.env, mounts=ctx.mounts()
        )
        raw = read_capped(ctx.outdir / "coverage.json", 64 * MiB)
        if raw is None:
            evidence.add_artifact("coverage.log", done.text() + done.text("stderr"))
            return {"tests.coverage_percent": 0.0, "tests.branch_coverage_percent": 0.0}
        return coverage_metrics(raw)

    def _outcomes(self, ctx: ProbeContext, name: str) -> dict[str, dict[str, Any]]:
        raw = read_capped(ctx.outdir / name, 16 * MiB)
        if raw is None:
            return {}
        try:
            data = json.loads(raw)
        except ValueError:
            return {}
        return (
            {str(k): v for k, v in data.items() if isinstance(v, dict)}
            if isinstance(data, dict)
            else {}
        )

    def _rerun(
        self, ctx: ProbeContext, outcomes: dict[str, dict[str, Any]], hidden: list[str]
    ) -> tuple[set[str], dict[str, dict[str, Any]] | None]:
        """Failures once more (those that pass are flaky), with the tests the suite kept out of
        its own run put back in: (flaky tests, outcomes of the hidden ones)."""
        # A test stopped at the time limit is not re-run: it would only cost the limit again.
        failed = tuple(
            n for n, o in outcomes.items() if o.get("outcome") == "failed" and not o.get("timeout")
        )[:RERUN_MAX]
        if not (failed or hidden) or ctx.budget.remaining_s < 5:
            return set(), None
        (ctx.outdir / witness.KEEP_FILE).write_text(json.dumps(hidden))
        self._pytest(ctx, share=0.2, nodeids=(*failed, *hidden))
        rerun = self._outcomes(ctx, "rerun.json")
        flaky = {n for n in failed if rerun.get(n, {}).get("outcome") == "passed"}
        return flaky, {n: rerun[n] for n in hidden if n in rerun} if hidden else None

    def _findings(self, outcomes: dict[str, dict[str, Any]], flaky: set[str]) -> list[Finding]:
        findings = []
        for nodeid, outcome in outcomes.items():
            if nodeid in flaky:
                message = f"Flaky test: {nodeid} failed, then passed when re-run."
                findings.append(self._finding("tests.flaky", Severity.MEDIUM, message, outcome))
            elif outcome.get("outcome") in ("failed", "error") and not outcome.get("timeout"):
                message = f"Test {outcome['outcome']}: {nodeid}"
                findings.append(self._finding("tests.failed", Severity.MEDIUM, message, outcome))
        if len(findings) > FAILED_FINDINGS_MAX:
            extra = len(findings) - FAILED_FINDINGS_MAX
            findings = findings[:FAILED_FINDINGS_MAX]
            note = f"{extra} more failing tests are not listed."
            findings.append(Finding("tests.failed", Severity.INFO, note, probe=self.name))
        return findings

    def _finding(
        self, rule: str, severity: Severity, message: str, outcome: dict[str, Any]
    ) -> Finding:
        line = outcome.get("line")
        return Finding(
            rule,
            severity,
            message,
            path=str(outcome.get("path") or "") or None,
            line=line if isinstance(line, int) else None,
            snippet=str(outcome.get("message") or "")[-2000:] or None,
            probe=self.name,
        )


def _apart(
    outcomes: dict[str, dict[str, Any]], canary: Canary
) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """The suite's own outcomes, and the canaries' (by role) as the outcomes file gave them."""
    own, said = {}, {}
    for nodeid, outcome in outcomes.items():
        role = canary.names(nodeid)
        if role is None:
            own[nodeid] = outcome
        else:
            said[role] = str(outcome.get("outcome"))
    return own, said


def limits_s(ctx: ProbeContext) -> tuple[float, float]:
    """Per-test and per-module collection time limits: the run's setting, else the pack's
    `[budget] test_timeout_s`, else the defaults."""
    pack = ctx.challenge.spec.budget.test_timeout_s if isinstance(ctx.challenge, Pack) else None
    test_s = ctx.settings.test_timeout_s or pack or DEFAULT_TEST_TIMEOUT_S
    return test_s, ctx.settings.collect_timeout_s


def _shown(from_junit: Counts, summary: bytes | None) -> Counts:
    """pytest's summary counts, when its plugin wrote them, without the grader's canaries;
    else the JUnit file's, one per testcase."""
    counts = parse_summary(summary, from_junit.time_s) if summary is not None else None
    if counts is None:
        return from_junit
    for outcome in from_junit.canaries.values():
        name = "errors" if outcome == "error" else outcome
        setattr(counts, name, max(0, getattr(counts, name) - 1))
    return counts


def _timeout_metrics(
    outcomes: dict[str, dict[str, Any]], limits: tuple[float, float]
) -> dict[str, Any]:
    timed_out = [o for o in outcomes.values() if o.get("timeout")]
    killed = sum(o.get("killed_processes", 0) for o in outcomes.values())
    return {
        "tests.timeout_s": limits[0],
        "tests.timeouts": sum(1 for o in timed_out if not o.get("collect")),
        "tests.collection_timeouts": sum(1 for o in timed_out if o.get("collect")),
        "tests.processes_killed": killed if isinstance(killed, int) else 0,
    }


def _timeout_findings(
    outcomes: dict[str, dict[str, Any]], limits: tuple[float, float]
) -> list[Finding]:
    """What was stopped at a time limit, each with the stack it was stuck in."""
    findings = []
    for nodeid, outcome in outcomes.items():
        if not outcome.get("timeout"):
            continue
        if outcome.get("collect"):
            message = (
                f"Importing {nodeid} took longer than {limits[1]:g}s: it was stopped and its "
                "tests were not run; the other modules were."
            )
        else:
            applied = outcome.get("limit_s")
            seconds = applied if isinstance(applied, int | float) else limits[0]
            message = (
                f"Test stopped after {seconds:g}s (the per-test time limit): {nodeid}; "
                "the rest of the suite ran."
            )
        killed = outcome.get("killed_processes")
        if killed:
            message += f" {killed} processes it left running were killed."
        findings.append(
            Finding(
                "tests.timeout",
                Severity.MEDIUM,
                message,
                path=str(outcome.get("path") or "") or None,
                line=outcome["line"] if isinstance(outcome.get("line"), int) else None,
                snippet=str(outcome.get("message") or "")[-2000:] or None,
                probe="tests",
            )
        )
    return findings


def _last_line(result: ExecResult) -> str:
    lines = [ln for ln in (result.text() + result.text("stderr")).splitlines() if ln.strip()]
    return lines[-1][:300] if lines else "no output"
