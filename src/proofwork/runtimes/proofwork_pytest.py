"""Pytest plugin that Proofwork loads into a submission's test run (`-p proofwork_pytest`).

It accepts pytest-cov's command-line options, because Proofwork measures coverage itself and
blocks pytest-cov, while many projects put `--cov` in their addopts; and it records each test's
outcome under its exact node id so that failures can be re-run to tell flaky tests apart.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pytest

COV_FLAGS = ("--no-cov-on-fail", "--no-cov", "--cov-append", "--cov-branch")
COV_VALUES = (
    "--cov-report",
    "--cov-config",
    "--cov-fail-under",
    "--cov-precision",
    "--cov-context",
)

_outcomes: dict[str, dict[str, Any]] = {}


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register pytest-cov's options as no-ops (pytest-cov itself is blocked)."""
    group = parser.getgroup("proofwork", "accepted for pytest-cov compatibility")
    group.addoption("--cov", action="append", nargs="?", const=True, default=[], dest="pw_cov")
    for flag in COV_FLAGS:
        group.addoption(flag, action="store_true", dest="pw_" + flag.strip("-").replace("-", "_"))
    for option in COV_VALUES:
        group.addoption(
            option, action="append", default=[], dest="pw_" + option.strip("-").replace("-", "_")
        )


def _entry(report: pytest.TestReport, outcome: str) -> dict[str, Any]:
    path, line, _ = report.location
    entry: dict[str, Any] = {
        "outcome": outcome,
        "path": path,
        "line": None if line is None else line + 1,
    }
    if outcome in ("failed", "error"):
        entry["message"] = report.longreprtext[-4000:]
    return entry


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Remember the worst outcome of each test's phases, with its place and message."""
    previous = _outcomes.get(report.nodeid, {}).get("outcome")
    if report.failed:
        if previous not in ("failed", "error"):
            _outcomes[report.nodeid] = _entry(
                report, "error" if report.when != "call" else "failed"
            )
    elif report.skipped and previous is None:
        _outcomes[report.nodeid] = _entry(report, "skipped")
    elif report.when == "call" and previous is None:
        _outcomes[report.nodeid] = _entry(report, "passed")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Write the outcomes where Proofwork asked for them."""
    target = os.environ.get("PROOFWORK_OUTCOMES")
    if target:
        with open(target, "w", encoding="utf-8") as handle:
            json.dump(_outcomes, handle)
