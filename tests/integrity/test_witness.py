"""Cross-checks of a test run's own account against the grader's ledger, canary and exit status."""

from __future__ import annotations

import hashlib
from typing import Any

from proofwork.integrity.scan import Hit
from proofwork.integrity.witness import NOTE, TAMPERING, Observed, judge, judge_hidden

JUNIT = b"<testsuites/>"
FAILING, PASSING = "tests/test_c0ffee.py::test_aa", "tests/test_c0ffee.py::test_bb"


def ledger(**overrides: Any) -> dict[str, Any]:
    """The ledger of an honest run: two passed, one failed, canaries as they must be."""
    base: dict[str, Any] = {
        "version": 1,
        "canary": {FAILING: "failed", PASSING: "passed"},
        "canary_nodeids": [FAILING, PASSING],
        "canary_roles": {FAILING: "failing", PASSING: "passing"},
        "collected": 3,
        "selected": 3,
        "deselected": [],
        "dropped": [],
        "tally": {"t::a": "passed", "t::b": "passed", "t::c": "failed"},
        "finished": True,
        "exitstatus": 1,
        "stopped_early": None,
        "changed": [],
        "foreign": [],
        "hashes": {"junit": hashlib.sha256(JUNIT).hexdigest()},
    }
    return {**base, **overrides}


def observed(**overrides: Any) -> Observed:
    fields: dict[str, Any] = {
        "ledger": ledger(),
        "junit": JUNIT,
        "counts": {"passed": 2, "failed": 1, "errors": 0, "skipped": 0},
        "canary_junit": {"failing": "failed", "passing": "passed"},
        "canary_outcomes": {"failing": "failed", "passing": "passed"},
        "exit_code": 1,
    }
    return Observed(**{**fields, **overrides})


def tampering(seen: Observed, hits: list[Hit] | None = None) -> list[str]:
    return [f.message for f in judge(seen, hits or []).findings if f.rule == TAMPERING]


def test_an_honest_run_has_no_findings() -> None:
    assert judge(observed(), []).findings == []


def test_a_failing_canary_reported_passed_is_tampering() -> None:
    seen = observed(ledger=ledger(canary={FAILING: "passed", PASSING: "passed"}))
    assert any("always fails, was reported as passed" in m for m in tampering(seen))


def test_a_failing_canary_turned_into_a_skip_is_tampering() -> None:
    seen = observed(ledger=ledger(canary={FAILING: "skipped", PASSING: "passed"}))
    assert any("turns failures into skips" in m for m in tampering(seen))


def test_both_canaries_skipped_by_an_autouse_fixture_is_not_tampering() -> None:
    seen = observed(
        ledger=ledger(canary={FAILING: "skipped", PASSING: "skipped"}),
        canary_junit={"failing": "skipped", "passing": "skipped"},
        canary_outcomes={"failing": "skipped", "passing": "skipped"},
    )
    assert tampering(seen) == []


def test_canaries_that_never_ran_are_tampering_unless_pytest_deselected_them() -> None:
    assert tampering(observed(ledger=ledger(canary={}), canary_junit={}, canary_outcomes={}))
    by_mark = [
        {"nodeid": n, "by": "/rt/site-packages/_pytest/mark/__init__.py:9"}
        for n in (FAILING, PASSING)
    ]
    seen = observed(ledger=ledger(canary={}, deselected=by_mark), canary_junit={})
    assert tampering(seen) == []
    assert [f.rule for f in judge(seen, []).findings] == [NOTE]


def test_a_results_file_that_disagrees_with_the_run_is_tampering() -> None:
    seen = observed(counts={"passed": 3, "failed": 0, "errors": 0, "skipped": 0})
    assert any("does not match the tests that ran" in m for m in tampering(seen))


def test_a_results_file_rewritten_after_pytest_wrote_it_is_tampering() -> None:
    seen = observed(junit=b"<testsuites><testsuite/></testsuites>")
    assert any("rewritten after pytest wrote it" in m for m in tampering(seen))


def test_a_canary_missing_from_the_results_file_is_tampering() -> None:
    seen = observed(canary_junit={"passing": "passed"})
    assert any("missing from the JUnit results file" in m for m in tampering(seen))


def test_an_exit_with_status_0_before_the_session_ended_is_tampering() -> None:
    seen = observed(ledger=ledger(finished=False), exit_code=0)
    assert any("before pytest finished its session" in m for m in tampering(seen))


def test_an_exit_status_changed_after_pytest_decided_it_is_tampering() -> None:
    assert any("exit status was changed" in m for m in tampering(observed(exit_code=0)))


def test_a_silenced_witness_is_tampering_only_when_the_run_claims_success() -> None:
    assert tampering(observed(ledger=None, exit_code=0))
    assert tampering(observed(ledger=None))  # results, but no ledger
    assert tampering(observed(ledger=None, junit=None, exit_code=4)) == []


def test_replaced_reporting_code_is_tampering() -> None:
    changed = ["_pytest.reports.TestReport.__init__ now runs code from /workspace/x.py"]
    assert any("/workspace/x.py" in m for m in tampering(observed(ledger=ledger(changed=changed))))


def test_a_run_cut_short_by_a_limit_proves_nothing() -> None:
    assert (
        tampering(observed(ledger=ledger(finished=False), exit_code=0, stopped=["timeout"])) == []
    )


def test_strong_scan_hits_are_tampering_and_weak_ones_suspicious() -> None:
    hits = [Hit("conftest.py", 3, "Rewrites", True), Hit("conftest.py", 9, "Removes", False)]
    findings = judge(observed(), hits).findings
    assert [(f.rule, f.line) for f in findings] == [
        (TAMPERING, 3),
        ("integrity.suspicious", 9),
    ]


def test_tests_the_suite_kept_out_are_re_run_and_hidden_failures_are_tampering() -> None:
    dropped = ledger(
        dropped=["t::d"], deselected=[{"nodeid": "t::e", "by": "/workspace/tests/conftest.py:4"}]
    )
    judgement = judge(observed(ledger=dropped), [])
    assert judgement.hidden == ["t::e", "t::d"]
    assert not judgement.tampered
    findings = judge_hidden(
        judgement.hidden, {"t::e": {"outcome": "failed"}, "t::d": {"outcome": "passed"}}
    )
    assert [f.rule for f in findings] == [TAMPERING]
    assert findings[0].snippet == "t::e"
    passed = {"outcome": "passed"}
    assert judge_hidden(judgement.hidden, {"t::d": passed, "t::e": passed}) == []
    assert judge_hidden(judgement.hidden, None) == []  # no time left for the re-run
    still_out = judge_hidden(judgement.hidden, {"t::d": passed})
    assert [(f.rule, f.snippet) for f in still_out] == [("integrity.suspicious", "t::e")]
