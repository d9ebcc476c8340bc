"""Score: what counts, the interval when sampled, and the worst-tested functions first."""

from __future__ import annotations

from proofwork.mutation.model import Kind, Mutant, Outcome, Result, Scope
from proofwork.mutation.score import by_function, score, tiered_score
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


def test_a_tier_judged_in_full_and_a_sampled_one_are_weighed_by_their_mutants() -> None:
    first = [result(Outcome.KILLED)] * 9 + [result(Outcome.SURVIVED)]  # all 10: exactly 90%
    second = [result(Outcome.KILLED)] * 60 + [result(Outcome.SURVIVED)] * 40  # 100 of 1,000
    final = tiered_score(first + second, [10, 1000, 50])  # the third tier was not reached
    assert final.total == 1010 and final.sampled == 110 and not final.exact
    assert final.percent == round((10 * 90 + 1000 * 60) / 1010, 2)
    # Only the sampled tier has an error bar: its bounds (50.7, 68.63) weighed the same way.
    assert final.ci95 == (
        round((10 * 90 + 1000 * 50.7) / 1010, 2),
        round((10 * 90 + 1000 * 68.63) / 1010, 2),
    )


def test_a_sample_within_the_first_tier_is_scored_as_that_tier_alone() -> None:
    outcomes = [Outcome.KILLED] * 60 + [Outcome.SURVIVED] * 40
    results = [result(o) for o in outcomes]
    assert tiered_score(results, [1000, 500]) == score(results, total=1000)


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
