"""Score: what counts, the interval when sampled, and the worst-tested functions first."""

from __future__ import annotations

from proofwork.mutation.model import Kind, Mutant, Outcome, Result, Scope
from proofwork.mutation.score import by_function, score
from proofwork.probes.mutation import findings


def result(outcome: Outcome, function: str = "total", ident: int = 0) -> Result:
    mutant = Mutant(
        ident, "shop/orders.py", 10 + ident, 5, "arith", 0, 1, "-", "- a + b\n+ a - b", 10,
        (1, 20), (Scope("def", function, 1),), Kind.FUNCTION,
    )  # fmt: skip
    return Result(mutant, outcome)


def test_timeouts_count_as_kills_not_covered_counts_against_errors_are_left_out() -> None:
    outcomes = [Outcome.KILLED] * 5 + [Outcome.TIMEOUT] * 1 + [Outcome.SURVIVED] * 2
    outcomes += [Outcome.NOT_COVERED] * 2 + [Outcome.ERROR] * 3
    final = score([result(o) for o in outcomes], total=13)
    assert final.percent == 60.0
    assert final.exact and final.ci95 == (60.0, 60.0)


def test_a_sample_reports_a_wilson_interval_around_the_score() -> None:
    outcomes = [Outcome.KILLED] * 60 + [Outcome.SURVIVED] * 40
    final = score([result(o) for o in outcomes], total=1000)
    low, high = final.ci95
    assert not final.exact
    assert low < 60.0 < high
    # Plain Wilson for 60/100 is (50.2, 69.06); 100 of 1,000 drawn without replacement is
    # worth n = 100 * 999 / 900 = 111 independent draws.
    assert (low, high) == (50.7, 68.63)


def test_nothing_judged_scores_zero() -> None:
    assert score([], total=0).percent == 0.0


def test_findings_put_the_worst_tested_function_first_with_a_summary() -> None:
    results = [result(Outcome.SURVIVED, "find", i) for i in range(2)]
    results += [result(Outcome.KILLED, "total", 2), result(Outcome.SURVIVED, "total", 3)]
    results += [result(Outcome.KILLED, "total", 4), result(Outcome.NOT_COVERED, "total", 5)]
    assert [t.name for t in by_function(results)] == ["orders.find", "orders.total"]
    listed = findings(results)
    assert [f.rule for f in listed] == ["mutation.function"] + ["mutation.survived"] * 2 + [
        "mutation.function",
        "mutation.survived",
    ]
    assert listed[0].message == (
        "orders.find: 2 of 2 planted bugs went unnoticed (2 survived its tests)."
    )
    assert listed[3].message == (
        "orders.total: 2 of 4 planted bugs went unnoticed "
        "(1 survived its tests, 1 on lines no test runs)."
    )
    assert listed[1].diff == "- a + b\n+ a - b" and listed[1].line == 10
    assert listed[0].severity == "medium" and listed[3].severity == "low"
