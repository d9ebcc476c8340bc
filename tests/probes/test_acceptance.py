"""The acceptance probe's metrics: totals, failures per rule and per severity, and what each
failed check is counted in."""

from __future__ import annotations

from proofwork.probes.acceptance import counted_in, rule_metrics


def result(cid: str, rule: str, severity: str, status: str) -> dict[str, object]:
    return {"id": cid, "rule": rule, "severity": severity, "status": status,
            "passed": status == "passed"}  # fmt: skip


def test_failures_are_counted_per_severity_and_per_rule_errors_included() -> None:
    metrics = rule_metrics(
        [
            result("a", "R9", "major", "passed"),
            result("b", "R9", "minor", "failed"),
            result("c", "R6", "critical", "failed"),
            result("d", "R6", "critical", "error"),
            result("e", "R2", "major", "failed"),
        ]
    )

    assert metrics["acceptance.failed"] == 3 and metrics["acceptance.errors"] == 1
    assert metrics["acceptance.critical_failed"] == 2
    assert metrics["acceptance.major_failed"] == 1
    assert metrics["acceptance.minor_failed"] == 1
    assert metrics["acceptance.r9.failed"] == 1
    assert metrics["acceptance.r9.minor_failed"] == 1
    assert metrics["acceptance.r9.major_failed"] == 0
    assert metrics["acceptance.r6.critical_failed"] == 2
    assert metrics["acceptance.r2.minor_failed"] == 0


def test_a_result_without_a_severity_counts_as_major() -> None:
    metrics = rule_metrics([{"id": "old", "rule": "R1", "passed": False, "status": "failed"}])
    assert metrics["acceptance.major_failed"] == 1 and metrics["acceptance.r1.major_failed"] == 1


def test_a_failed_check_names_the_metrics_it_is_counted_in() -> None:
    assert counted_in(result("b", "R9", "minor", "failed")) == (
        "acceptance.failed",
        "acceptance.passed",
        "acceptance.passed_percent",
        "acceptance.minor_failed",
        "acceptance.r9.failed",
        "acceptance.r9.minor_failed",
    )
    assert counted_in(result("d", "R6", "critical", "error"))[0] == "acceptance.errors"
