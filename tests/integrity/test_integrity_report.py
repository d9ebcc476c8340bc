"""Tampering comes first in every report, and the figures it taints score nothing."""

from __future__ import annotations

import io

from rich.console import Console

from proofwork.challenges.pack import Level, SignalSpec
from proofwork.evidence import TAMPERING, Evidence, Finding, Report, Severity, SubmissionInfo
from proofwork.reports.html import render_html
from proofwork.reports.json_report import validate
from proofwork.reports.terminal import render_summary
from proofwork.signals import SCORED, untrusted_signal

CAUGHT = "A test the grader added, which always fails, was reported as passed."


def report(*findings: Finding) -> Report:
    tests = Evidence("tests", metrics={"tests.passed": 3, "tests.failed": 0})
    tests.findings.extend(findings)
    mutation = Evidence("mutation", metrics={"mutation.killed": 9})
    static = Evidence("static", metrics={"static.loc": 10})
    submission = SubmissionInfo("ab" * 32, "forged.zip", "zip", 3, 300)
    return Report(submission=submission, evidence=[tests, mutation, static], version="t")


def tampered() -> Report:
    flip = Finding(TAMPERING, Severity.CRITICAL, CAUGHT, probe="tests")
    scan = Finding(TAMPERING, Severity.CRITICAL, "Rewrites `outcome`.", "tests/conftest.py", 6,
                   probe="tests")  # fmt: skip
    return report(flip, scan)


def test_a_clean_run_says_so_and_trusts_everything() -> None:
    document = report().to_json()
    assert document["integrity"] == {"status": "clean", "untrusted": [], "evidence": []}
    validate(document)


def test_tampering_in_the_tests_taints_tests_and_mutation_with_the_evidence() -> None:
    document = tampered().to_json()
    validate(document)
    assert list(document)[:2] == ["schema", "integrity"]
    assert document["integrity"]["status"] == "tampering"
    assert document["integrity"]["untrusted"] == ["mutation", "tests"]
    assert [e["message"] for e in document["integrity"]["evidence"]] == [
        CAUGHT,
        "Rewrites `outcome`.",
    ]


def test_html_opens_with_the_tampering_banner_and_its_evidence() -> None:
    page = render_html(tampered())
    banner = page.index('id="integrity"')
    assert banner < page.index('class="page-header"')
    assert "Tampering detected: the mutation and tests figures are untrusted" in page
    assert CAUGHT in page
    assert "tests/conftest.py:6" in page
    assert page.count("· untrusted") == 5  # passed, failed, coverage, branch coverage, mutation
    assert 'id="integrity"' not in render_html(report())


def test_terminal_prints_the_tampering_first() -> None:
    out = io.StringIO()
    render_summary(tampered(), Console(file=out, width=120, color_system=None))
    text = out.getvalue()
    assert text.lstrip().startswith("TAMPERING DETECTED: the mutation and tests figures")
    assert CAUGHT in text
    clean = io.StringIO()
    render_summary(report(), Console(file=clean, width=120, color_system=None))
    assert "TAMPERING" not in clean.getvalue()


def test_a_signal_resting_on_untrusted_figures_is_level_0_saying_why() -> None:
    def level(n: int, *require: str) -> Level:
        return Level.model_validate(
            {"level": n, "label": f"L{n}", "description": f"level {n}", "require": require}
        )

    spec = SignalSpec(
        title="Testing discipline",
        levels=(
            level(0),
            level(1, "tests.passed >= 1"),
            level(2, "mutation.score_percent >= 50"),
            level(3, "tests.total >= 10"),
            level(4, "tests.total >= 30"),
        ),
    )
    signal = untrusted_signal("testing_discipline", spec, ["mutation", "tests"])
    assert (signal.status, signal.level, signal.label) == (SCORED, 0, "L0")
    assert "untrusted" in signal.evidence[0]
