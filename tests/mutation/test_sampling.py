"""Sampling: one seeded order whose prefixes are stratified samples; Wilson intervals."""

from __future__ import annotations

from collections import Counter

import pytest

from proofwork.mutation.model import Kind, Mutant
from proofwork.mutation.sampling import ladder, stratified_order, tiered_order, wilson


def mutants(sizes: dict[str, int]) -> list[Mutant]:
    made = []
    for path, size in sizes.items():
        for _ in range(size):
            made.append(
                Mutant(
                    len(made),
                    path,
                    1,
                    1,
                    "number",
                    0,
                    1,
                    "2",
                    "- 1\n+ 2",
                    1,
                    (1, 1),
                    (),
                    Kind.MODULE,
                )
            )
    return made


def test_the_order_is_the_same_for_the_same_seed_and_differs_for_another() -> None:
    population = mutants({"a.py": 50, "b.py": 30, "c.py": 20})
    first = [m.id for m in stratified_order(population, seed=7)]
    assert first == [m.id for m in stratified_order(list(reversed(population)), seed=7)]
    assert first != [m.id for m in stratified_order(population, seed=8)]
    assert sorted(first) == list(range(100))


@pytest.mark.parametrize("n", [1, 10, 17, 33, 50, 99])
def test_every_prefix_is_proportionally_stratified_by_file(n: int) -> None:
    sizes = {"a.py": 50, "b.py": 30, "c.py": 20}
    counts = Counter(m.path for m in stratified_order(mutants(sizes))[:n])
    for path, size in sizes.items():
        assert abs(counts[path] - n * size / 100) <= 1


def test_within_a_file_the_sample_is_a_shuffle() -> None:
    order = [m.id for m in stratified_order(mutants({"a.py": 100}))]
    assert order != sorted(order)


def test_the_ladder_steps_by_fifteen_percent_and_ends_at_the_total() -> None:
    assert ladder(100) == [
        8,
        9,
        11,
        12,
        14,
        16,
        19,
        21,
        24,
        28,
        32,
        37,
        43,
        49,
        57,
        65,
        75,
        86,
        99,
        100,
    ]
    assert ladder(8) == [8]
    assert ladder(5) == [5]
    assert ladder(0) == [0]


def test_wilson_matches_known_values() -> None:
    # Reference values (Wilson 1927; e.g. statsmodels proportion_confint(method="wilson")).
    low, high = wilson(81, 263)
    assert (round(low, 4), round(high, 4)) == (0.2553, 0.3662)
    low, high = wilson(0, 10)
    assert (round(low, 4), round(high, 4)) == (0.0, 0.2775)
    low, high = wilson(10, 10)
    assert (round(low, 4), round(high, 4)) == (0.7225, 1.0)


def test_wilson_narrows_with_a_finite_population_and_vanishes_for_a_census() -> None:
    wide = wilson(150, 250)
    narrow = wilson(150, 250, population=500)
    assert narrow[0] > wide[0] and narrow[1] < wide[1]
    assert wilson(150, 250, population=250) == (0.6, 0.6)


def test_tiers_come_in_priority_order_each_a_stratified_order_of_its_own() -> None:
    population = mutants({"a.py": 40, "hot/b.py": 30, "c.py": 20, "hot/d.py": 10})
    tiers = tiered_order(population, [["c.py"], ["hot/*"], ["none.py"]], seed=7)
    assert [sorted({m.path for m in tier}) for tier in tiers] == [
        ["c.py"], ["hot/b.py", "hot/d.py"], [], ["a.py"]
    ]  # fmt: skip
    hot = [m for m in population if m.path.startswith("hot/")]
    assert tiers[1] == stratified_order(hot, seed=7)
