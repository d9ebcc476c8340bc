"""Evidence to signal levels: cumulative thresholds, the evidence named, the next step shown."""

from __future__ import annotations

from proofwork.challenges.pack import Condition, Level, SignalSpec
from proofwork.evidence import Finding, Severity
from proofwork.signals import AWAITING, NOT_MEASURED, SCORED, holds, score_machine


def spec() -> SignalSpec:
    def level(n: int, *require: str) -> Level:
        return Level.model_validate(
            {"level": n, "label": f"L{n}", "description": f"level {n}", "require": require}
        )

    return SignalSpec(
        title="Testing discipline",
        levels=(
            level(0),
            level(1, "tests.passed >= 1"),
            level(2, "tests.coverage_percent >= 60", "tests.failed == 0"),
            level(3, "tests.coverage_percent >= 80", "tests.flaky == 0"),
            level(4, "tests.coverage_percent >= 95"),
        ),
    )


def test_the_level_is_the_highest_whose_thresholds_and_all_below_hold() -> None:
    signal = score_machine("t", spec(), {"tests.passed": 9, "tests.coverage_percent": 85.0,
                                         "tests.failed": 0, "tests.flaky": 0})  # fmt: skip
    assert signal.status == SCORED
    assert signal.level == 3
    assert "tests.coverage_percent = 85 (needs >= 80)" in signal.evidence
    assert signal.next_level == ["tests.coverage_percent = 85 (needs >= 95)"]


def test_a_failed_lower_level_caps_the_signal_even_if_higher_thresholds_hold() -> None:
    signal = score_machine("t", spec(), {"tests.passed": 9, "tests.coverage_percent": 99.0,
                                         "tests.failed": 2, "tests.flaky": 0})  # fmt: skip
    assert signal.level == 1
    assert signal.next_level == ["tests.failed = 2 (needs == 0)"]


def test_a_missing_metric_never_meets_a_threshold() -> None:
    signal = score_machine("t", spec(), {"tests.passed": 0})
    assert signal.level == 0
    assert signal.label == "L0"
    assert holds(Condition.parse("tests.flaky == 0"), {}) is False


def test_a_signal_with_none_of_its_metrics_is_not_measured() -> None:
    signal = score_machine("t", spec(), {"static.loc": 10})
    assert signal.status == NOT_MEASURED
    assert signal.level is None


def test_booleans_compare_only_with_booleans() -> None:
    started = Condition.parse("service.started == true")
    assert holds(started, {"service.started": True})
    assert not holds(started, {"service.started": 1})
    assert not holds(Condition.parse("tests.passed >= 1"), {"tests.passed": True})


def test_conditions_print_back_as_written() -> None:
    assert str(Condition.parse("tests.coverage_percent>=80")) == "tests.coverage_percent >= 80"
    assert str(Condition.parse("service.started == true")) == "service.started == true"
    assert AWAITING == "awaiting review"


def test_each_metric_is_named_once_with_the_highest_threshold_it_met() -> None:
    signal = score_machine("t", spec(), {"tests.passed": 9, "tests.coverage_percent": 85.0,
                                         "tests.failed": 0, "tests.flaky": 0})  # fmt: skip
    coverage = [line for line in signal.evidence if line.startswith("tests.coverage_percent")]
    assert coverage == ["tests.coverage_percent = 85 (needs >= 80)"]


def test_each_unmet_threshold_names_the_findings_counted_in_its_metric_worst_first() -> None:
    def finding(rule: str, severity: Severity, *metrics: str) -> Finding:
        return Finding(rule, severity, f"{rule} failed", counts_toward=metrics)

    findings = [
        finding("flaky.a", Severity.LOW, "tests.flaky"),
        finding("cov.low", Severity.MEDIUM, "tests.coverage_percent"),
        finding("cov.worse", Severity.CRITICAL, "tests.coverage_percent"),
        *(finding(f"cov.n{n}", Severity.LOW, "tests.coverage_percent") for n in range(12)),
    ]
    metrics = {
        "tests.passed": 9,
        "tests.coverage_percent": 70.0,
        "tests.failed": 0,
        "tests.flaky": 1,
    }

    signal = score_machine("t", spec(), metrics, findings)

    assert signal.level == 2
    [coverage, flaky] = signal.held_back_by
    assert coverage["requirement"] == "tests.coverage_percent = 70 (needs >= 80)"
    assert [f["rule"] for f in coverage["findings"][:2]] == ["cov.worse", "cov.low"]
    assert len(coverage["findings"]) == 10 and coverage["more_findings"] == 4
    assert flaky["findings"] == [
        {"rule": "flaky.a", "severity": "low", "message": "flaky.a failed"}
    ]
    assert flaky["more_findings"] == 0


def test_a_signal_at_the_top_is_held_back_by_nothing() -> None:
    metrics = {
        "tests.passed": 9,
        "tests.coverage_percent": 99.0,
        "tests.failed": 0,
        "tests.flaky": 0,
    }
    assert score_machine("t", spec(), metrics).held_back_by == []
