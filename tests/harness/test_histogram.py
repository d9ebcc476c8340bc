"""The latency histogram: percentiles within its stated relative error, constant memory, merge."""
# ruff: noqa: S311 - seeded test data, not secrets

from __future__ import annotations

import math
import random
from collections.abc import Callable

import pytest

from proofwork.harness.histogram import Histogram


def exact_percentile(values: list[int], percent: float) -> int:
    """The smallest recorded value with at least `percent`% of values at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(percent / 100 * len(ordered)) - 1)]


def filled(values: list[int]) -> Histogram:
    histogram = Histogram()
    for value in values:
        histogram.record(value)
    return histogram


@pytest.mark.parametrize(
    "draw",
    [
        lambda rng: rng.lognormvariate(9, 1.2),  # latencies: most fast, a long tail
        lambda rng: rng.uniform(1, 5_000_000),  # anything from 1 µs to 5 s
        lambda rng: rng.expovariate(1 / 3000),
    ],
    ids=["lognormal", "uniform", "exponential"],
)
def test_percentiles_are_within_the_relative_error_of_exact_ones(
    draw: Callable[[random.Random], float],
) -> None:
    rng = random.Random(7)
    values = [max(1, int(draw(rng))) for _ in range(50_000)]
    histogram = filled(values)
    assert histogram.relative_error <= 0.001  # three significant digits
    for percent in (1, 10, 50, 90, 95, 99, 99.9):
        exact = exact_percentile(values, percent)
        reported = histogram.percentile(percent)
        assert abs(reported - exact) <= exact * histogram.relative_error, (percent, exact, reported)


def test_small_values_are_exact() -> None:
    values = list(range(1, 2001))
    histogram = filled(values)
    assert [histogram.percentile(p) for p in (50, 95, 100)] == [1000, 1900, 2000]


def test_count_min_max_and_mean_are_exact() -> None:
    values = [5, 10_000, 123_456, 7]
    histogram = filled(values)
    assert histogram.count == 4
    assert (histogram.min_value, histogram.max_value) == (5, 123_456)
    assert histogram.mean == pytest.approx(sum(values) / 4)
    assert histogram.percentile(100) == 123_456


def test_memory_does_not_grow_with_the_number_of_values() -> None:
    histogram = Histogram()
    size = len(histogram._counts)
    rng = random.Random(1)
    for _ in range(200_000):
        histogram.record(int(rng.lognormvariate(10, 2)))
    assert len(histogram._counts) == size < 30_000
    assert histogram.count == 200_000


def test_values_beyond_the_highest_are_clamped_not_lost() -> None:
    histogram = Histogram(highest=1_000_000)
    histogram.record(5_000_000)
    histogram.record(-3)
    assert histogram.count == 2
    assert histogram.max_value == 1_000_000
    assert histogram.min_value == 0


def test_merging_equals_recording_everything_in_one() -> None:
    rng = random.Random(3)
    first = [int(rng.lognormvariate(8, 1)) + 1 for _ in range(5000)]
    second = [int(rng.lognormvariate(11, 1)) + 1 for _ in range(5000)]
    merged = filled(first)
    merged.merge(filled(second))
    together = filled(first + second)
    assert merged.count == together.count
    assert (merged.min_value, merged.max_value) == (together.min_value, together.max_value)
    for percent in (50, 95, 99):
        assert merged.percentile(percent) == together.percentile(percent)


def test_histograms_of_other_layouts_do_not_merge() -> None:
    with pytest.raises(ValueError, match="same highest"):
        Histogram().merge(Histogram(significant_digits=2))


def test_an_empty_histogram_reports_zeros() -> None:
    histogram = Histogram()
    assert (histogram.count, histogram.percentile(95), histogram.mean) == (0, 0, 0.0)


def test_json_round_trip_keeps_every_count() -> None:
    histogram = filled([1, 50, 50, 7000, 9_999_999])
    again = Histogram.from_json(histogram.to_json())
    assert again.to_json() == histogram.to_json()
    assert again.percentile(60) == histogram.percentile(60)


def test_seconds_are_recorded_as_microseconds() -> None:
    histogram = Histogram()
    histogram.record_seconds(0.25)
    assert histogram.percentile(50) == pytest.approx(250_000, rel=histogram.relative_error)
