"""The `security` probe: bandit on the submission's source (in the sandbox) and committed secrets.

Tests are left out of bandit: they assert and use fixed passwords by design, which bandit would
report as findings against the candidate. Secrets are searched everywhere, tests included: a real
key committed in a fixture is as leaked as one in the code.
"""

from __future__ import annotations

from collections import Counter
from pathlib import PurePosixPath

from proofwork.analysis import sources
from proofwork.analysis.secrets import SecretHit, SecretScan, scan_tree
from proofwork.analysis.sources import SourceTree
from proofwork.analysis.toolparse import (
    ToolOutputError,
    checked_output,
    parse_bandit,
    record_failure,
)
from proofwork.evidence import Evidence, Finding, Severity
from proofwork.probes.base import OUT, ProbeContext
from proofwork.sandbox.base import WORKSPACE, MiB

BANDIT_WALL_S = 120.0
TOOL_OUTPUT_BYTES = 16 * MiB
MAX_BANDIT_FINDINGS = 500
BANDIT_INI = "bandit.ini"  # written to the probe's output folder

# Globs bandit matches against full paths: tests (pytest's conventions, as in analysis.sources),
# then what bandit leaves out by default (a -x list replaces its defaults), then vendored code.
BANDIT_EXCLUDES = (
    "*/tests/*",
    "*/test/*",
    "*/test_*.py",
    "*_test.py",
    "*/conftest.py",
    *(".svn", "CVS", ".bzr", ".hg", ".git", "__pycache__", ".tox", ".eggs", "*.egg"),
    *("*/.*/*", "*/venv/*", "*/site-packages/*", "*/node_modules/*", "*/build/*", "*/dist/*"),
)


class SecurityProbe:
    """Bandit findings on source files and secrets committed anywhere in the tree."""

    name = "security"
    stage = 10

    def applies(self, ctx: ProbeContext) -> bool:
        """Only when the submission has a Python file."""
        return sources.has_python(ctx.workspace)

    def run(self, ctx: ProbeContext) -> Evidence:
        """Scan for secrets in-process, then run bandit; a failed bandit keeps the secrets."""
        evidence = Evidence(probe=self.name)
        secrets = scan_tree(ctx.workspace, exclude=ctx.excluded)
        evidence.metrics["security.secrets"] = len(secrets.hits)
        evidence.findings.extend(secret_findings(secrets))
        try:
            found = run_bandit(ctx, evidence)
        except ToolOutputError as exc:
            record_failure(evidence, exc)
            return evidence
        record_bandit(on_sources(found, ctx.source_tree()), evidence)
        return evidence


def record_bandit(kept: list[Finding], evidence: Evidence) -> None:
    """List the worst bandit findings and count every finding, secrets included, by severity."""
    evidence.findings.extend(kept[:MAX_BANDIT_FINDINGS])
    if len(kept) > MAX_BANDIT_FINDINGS:
        message = f"{len(kept)} bandit findings, the {MAX_BANDIT_FINDINGS} worst are listed"
        evidence.findings.append(
            Finding("security.findings_capped", Severity.INFO, message, probe="security")
        )
    counted = [*kept, *(f for f in evidence.findings if f.rule == "security.secret")]
    evidence.metrics.update(severity_metrics(counted))


def on_sources(found: list[Finding], tree: SourceTree) -> list[Finding]:
    """Findings on the analysed source files (not tests, not vendored code), worst first."""
    analysed = {f.path for f in tree.sources}
    return sorted(
        (f for f in found if f.path in analysed),
        key=lambda f: (-f.severity.rank, f.path or "", f.line or 0, f.rule),
    )


def bandit_argv(tools_bin: str) -> list[str]:
    """The fixed bandit command line: all checks, tests and vendored code left out."""
    return [
        f"{tools_bin}/bandit",
        "-r",
        "-f",
        "json",
        "-q",
        # The candidate's .bandit file and its "nosec" comments must not switch checks off (and
        # two .bandit files would make bandit refuse to run): ours is empty and wins.
        "--ini",
        f"{OUT}/{BANDIT_INI}",
        "--ignore-nosec",
        "-x",
        ",".join(BANDIT_EXCLUDES),
        WORKSPACE,
    ]


def run_bandit(ctx: ProbeContext, evidence: Evidence) -> list[Finding]:
    """Bandit's findings on the workspace; raises ToolOutputError when it gives none."""
    (ctx.outdir / BANDIT_INI).write_text("[bandit]\n")
    result = ctx.sandbox.run(
        bandit_argv(ctx.environment.tools_bin),
        limits=ctx.limits(BANDIT_WALL_S, output_bytes=TOOL_OUTPUT_BYTES),
        env=ctx.environment.env,
        mounts=ctx.mounts() + ctx.environment.tool_mounts,
    )
    evidence.stopped.extend(result.stopped)
    if result.stderr:
        evidence.add_artifact("bandit.stderr", result.text("stderr"))
    # Bandit exits 1 when it found issues. Its raw JSON is not kept: it quotes source lines,
    # hard-coded passwords included, and the findings carry what matters.
    return parse_bandit(checked_output("bandit", result, ok_exits=(0, 1)), probe="security")


def secret_findings(scan: SecretScan) -> list[Finding]:
    """One finding per secret (redacted), and notes on what the scan left out."""
    findings = [_secret(hit) for hit in scan.hits]
    findings += [
        Finding("security.scan_limit", Severity.INFO, note, probe="security") for note in scan.notes
    ]
    return findings


def _secret(hit: SecretHit) -> Finding:
    # A value judged only by its name and randomness, in a test, is most likely a fixture.
    in_test = sources.is_test_path(PurePosixPath(hit.path))
    severity = Severity.MEDIUM if in_test and not hit.shaped else Severity.HIGH
    return Finding(
        rule="security.secret",
        severity=severity,
        message=f"{hit.kind} committed: {hit.redacted}; revoke it and load it from the environment",
        path=hit.path,
        line=hit.line,
        probe="security",
    )


def severity_metrics(findings: list[Finding]) -> dict[str, int]:
    """Counts by severity (critical counts as high) and in all."""
    counts = Counter(
        Severity.HIGH if f.severity is Severity.CRITICAL else f.severity for f in findings
    )
    return {
        "security.high": counts[Severity.HIGH],
        "security.medium": counts[Severity.MEDIUM],
        "security.low": counts[Severity.LOW],
        "security.findings": len(findings),
    }
