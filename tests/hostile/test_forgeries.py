"""Forged test results, graded end to end: each forgery is caught, honest suites stay clean.

Every forgery is a folder of `tests/fixtures/forgeries/` laid over the same small project
(`base/`: four tests, two of which fail on its bug). Each must be caught by a check at run
time (the static scan would flag most of them too; the runtime evidence is asserted on its own
so that a forgery the scan misses is still caught).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from proofwork.config import Settings
from proofwork.engine import GradeRequest, grade
from proofwork.evidence import TAMPERING, Report

pytestmark = pytest.mark.slow

FORGERIES = Path(__file__).parent.parent / "fixtures" / "forgeries"
SAMPLES = Path(__file__).parent.parent.parent / "src" / "proofwork" / "samples"

# Forgery -> words of the runtime finding that must catch it.
CAUGHT_AT_RUN_TIME = {
    "makereport_flip": "which always fails, was reported as passed",
    "junit_overwrite": "rewritten after pytest wrote it",
    "deselect_failing": "fail when the grader runs them",
    "silent_drop": "fail when the grader runs them",
    "early_exit": "before pytest finished its session",
    "patch_grader": "proofwork_pytest._entry now runs code from",
    "pytest_internals": "does not match the tests that ran",
    "sitecustomize": "which always fails, was reported as passed",
}


def _project(workdir: Path, forgery: str) -> Path:
    project = workdir / forgery
    shutil.copytree(FORGERIES / "base", project)
    shutil.copytree(FORGERIES / forgery, project, dirs_exist_ok=True)
    return project


def _grade(project: Path, settings: Settings, probes: tuple[str, ...] = ("tests",)) -> Report:
    return grade(GradeRequest(source=project, settings=settings, probes=list(probes)))


def _tampering(report: Report) -> list[str]:
    return [f.message for f in report.findings if f.rule == TAMPERING]


@pytest.mark.parametrize("forgery", sorted(CAUGHT_AT_RUN_TIME))
def test_a_forgery_is_caught_and_its_figures_are_untrusted(
    forgery: str, workdir: Path, settings: Settings
) -> None:
    report = _grade(_project(workdir, forgery), settings)
    runtime = [f.message for f in report.findings if f.rule == TAMPERING and not f.path]
    assert any(CAUGHT_AT_RUN_TIME[forgery] in m for m in runtime), _tampering(report)
    document = report.to_json()
    assert document["integrity"]["status"] == "tampering"
    assert document["integrity"]["untrusted"] == ["mutation", "tests"]
    assert report.metrics.get("tests.trusted") in (False, None)


def test_the_forgerys_base_project_alone_is_clean(workdir: Path, settings: Settings) -> None:
    project = workdir / "base"
    shutil.copytree(FORGERIES / "base", project)
    report = _grade(project, settings, ("tests", "mutation"))
    assert [f.message for f in report.findings if f.rule.startswith("integrity.")] == []
    assert report.metrics["mutation.killed"] > 0
    assert report.metrics["tests.passed"] == 2
    assert report.metrics["tests.failed"] == 2
    assert report.metrics["tests.trusted"] is True
    assert report.to_json()["integrity"] == {"status": "clean", "untrusted": [], "evidence": []}


@pytest.mark.parametrize(
    "project",
    [FORGERIES / "honest_hooks", SAMPLES / "ledger-demo"],
    ids=lambda p: p.name,
)
def test_honest_suites_with_hooks_are_not_accused(project: Path, settings: Settings) -> None:
    report = _grade(project, settings)
    assert _tampering(report) == []
    assert report.metrics["tests.trusted"] is True
    assert report.metrics["tests.total"] >= 1


def test_a_suite_that_fails_under_the_mutation_runner_is_caught(
    workdir: Path, settings: Settings
) -> None:
    report = _grade(_project(workdir, "mutation_killall"), settings, ("tests", "mutation"))
    assert report.metrics["mutation.survived"] == 0  # what the forgery was after
    assert report.to_json()["integrity"]["untrusted"] == ["mutation"]
    assert any("control mutants" in m for m in _tampering(report))
    assert report.metrics["tests.trusted"] is True
