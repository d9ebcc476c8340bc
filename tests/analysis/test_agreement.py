"""Krippendorff's alpha against the worked examples of its author, and its edge cases.

The data and the published values are those of K. Krippendorff, "Computing Krippendorff's
Alpha-Reliability" (2011-01-25), University of Pennsylvania ScholarlyCommons, ASC papers 43,
https://repository.upenn.edu/asc_papers/43 : section A (binary data, two observers, no missing
data), B (nominal data, two observers, no missing data) and C (nominal data, any number of
observers, missing data), whose section E computes the ordinal, interval and ratio alphas of
C's data. The matrices below are the paper's, one row per observer, NA where it has a dot.
"""

from __future__ import annotations

from collections.abc import Hashable

import pytest

from proofwork.analysis.agreement import METRICS, alpha, by_coder, coincidences, reading

NA = None  # the paper's dot: a value the observer did not give

# A. Binary data, two observers (the paper's "Obs: c" and "Obs: k"), ten units.
BINARY = [
    [0, 1, 0, 0, 0, 0, 0, 0, 1, 0],
    [1, 1, 1, 0, 0, 1, 0, 0, 0, 0],
]
# B. Nominal data, two observers (Ben and Gerry), twelve units.
NOMINAL_TWO = [
    list("aabbdcccedda"),
    list("babbbccceddd"),
]
# C. Four observers (A-D), twelve units, values 1-5, missing values.
FOUR_CODERS = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, NA, NA, NA],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NA, 3],
    [NA, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NA],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NA],
]


def test_it_reproduces_the_binary_two_observer_example() -> None:
    assert alpha(by_coder(BINARY), "nominal") == pytest.approx(0.095, abs=5e-4)


def test_it_reproduces_the_nominal_two_observer_example() -> None:
    assert alpha(by_coder(NOMINAL_TWO), "nominal") == pytest.approx(0.692, abs=5e-4)


@pytest.mark.parametrize(
    ("metric", "published"),
    [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849), ("ratio", 0.797)],
)
def test_it_reproduces_the_four_observer_example_with_missing_data(
    metric: str, published: float
) -> None:
    assert round(alpha(by_coder(FOUR_CODERS), metric) or 0, 3) == published  # type: ignore[arg-type]


def test_the_coincidence_matrix_of_the_four_observer_example_is_the_papers() -> None:
    matrix = coincidences(by_coder(FOUR_CODERS))
    # The paper's margins n_c for values 1..5 and n = 40 pairable values (unit 12 is left out).
    assert {v: round(n, 3) for v, n in matrix.margins.items()} == {
        1: 9.0, 2: 13.0, 3: 10.0, 4: 5.0, 5: 3.0
    }  # fmt: skip
    assert matrix.total == pytest.approx(40)
    assert matrix.pairs[1, 2] == pytest.approx(4 / 3)  # unit 6's and unit 8's pairs


@pytest.mark.parametrize("metric", METRICS)
def test_perfect_agreement_with_variation_is_one(metric: str) -> None:
    units = [[1, 1, None], [3, 3, 3], [4, None, 4], [2, 2, 2]]
    assert alpha(units, metric) == pytest.approx(1.0)  # type: ignore[arg-type]


@pytest.mark.parametrize("metric", METRICS)
def test_no_variation_leaves_alpha_undefined(metric: str) -> None:
    # Everyone gave every unit 3: D_e = 0, so alpha is 0/0; it is None, not 1.
    assert alpha([[3, 3], [3, 3, 3], [3, None]], metric) is None  # type: ignore[arg-type]


def test_units_with_fewer_than_two_values_change_nothing() -> None:
    units = by_coder(FOUR_CODERS)
    padded: list[list[Hashable | None]] = [
        *units,
        [5, None, None, None],
        [None, None, None, None],
        [1],
    ]
    assert alpha(padded, "ordinal") == alpha(units, "ordinal")


def test_without_two_pairable_values_alpha_is_undefined() -> None:
    assert alpha([], "ordinal") is None
    assert alpha([[1, None], [None, 4]], "ordinal") is None


def test_systematic_disagreement_goes_below_zero() -> None:
    assert (alpha([[1, 2], [2, 1], [1, 2], [2, 1]], "nominal") or 0) < 0


def test_ordinal_alpha_rewards_near_misses_more_than_nominal() -> None:
    near = [[0, 1], [1, 2], [2, 3], [3, 4], [4, 4], [0, 0]]
    assert (alpha(near, "ordinal") or 0) > (alpha(near, "nominal") or 0)


def test_interval_and_ratio_need_numbers_and_unknown_metrics_are_refused() -> None:
    with pytest.raises(ValueError, match="need numbers"):
        alpha([["a", "b"], ["b", "b"]], "interval")
    with pytest.raises(ValueError, match="unknown metric 'circular'"):
        alpha([[1, 2], [2, 2]], "circular")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, "undefined"), (0.8, "reliable"), (0.95, "reliable"), (0.667, "tentative"),
     (0.79, "tentative"), (0.666, "unreliable"), (-0.2, "unreliable")],
)  # fmt: skip
def test_reading_follows_the_usual_thresholds(value: float | None, expected: str) -> None:
    assert reading(value) == expected
