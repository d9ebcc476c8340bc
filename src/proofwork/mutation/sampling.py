"""Sampling within a time budget, and the error bar of a sampled score.

Mutants are put in one seeded order in which every prefix is a stratified (by file),
proportionally allocated, uniformly random sample. The runner works down that order and stops
at a cut-off; whatever the cut-off, the mutants before it are a fair sample of all of them. The
cut-off itself is rounded down to a coarse ladder, so a run that is a little faster or slower
than the last still picks the same sample and reports the same result.
"""

from __future__ import annotations

import fnmatch
import hashlib
import math
import random
from collections import defaultdict
from collections.abc import Sequence

from proofwork.mutation.model import Mutant

DEFAULT_SEED = 20240611
Z95 = 1.959963984540054
LADDER_BASE = 8
LADDER_STEP = 1.15


def stratified_order(mutants: Sequence[Mutant], seed: int = DEFAULT_SEED) -> list[Mutant]:
    """All mutants, in an order whose every prefix is a proportional stratified random sample.

    Within a file the order is a seeded shuffle; across files, the i-th of a file's N mutants
    gets the key (i + u) / N with a seeded offset u, and keys are merged in increasing order
    (systematic proportional allocation: a prefix of n holds n*N_f/N of file f, within one).
    """
    by_file: dict[str, list[Mutant]] = defaultdict(list)
    for mutant in mutants:
        by_file[mutant.path].append(mutant)
    keyed: list[tuple[float, str, int, Mutant]] = []
    for path in sorted(by_file):
        rng = random.Random(_file_seed(seed, path))  # noqa: S311 - reproducible, not secret
        group = sorted(by_file[path], key=lambda m: m.id)
        rng.shuffle(group)
        offset = rng.random()
        for i, mutant in enumerate(group):
            keyed.append(((i + offset) / len(group), path, i, mutant))
    keyed.sort(key=lambda k: (k[0], k[1], k[2]))
    return [k[3] for k in keyed]


def tiered_order(
    mutants: Sequence[Mutant], priority: Sequence[Sequence[str]], seed: int = DEFAULT_SEED
) -> list[list[Mutant]]:
    """The mutants in tiers to judge one after the other: first those in files matching a glob
    of `priority[0]`, then `priority[1]` …, then every other file; each tier in its own
    stratified order (so however far the runner gets into a tier, what it judged there is a
    fair sample of that tier). A tier no file matches stays, empty, in its place."""
    tiers: list[list[Mutant]] = [[] for _ in range(len(priority) + 1)]
    for mutant in mutants:
        tiers[tier_of(mutant.path, priority)].append(mutant)
    return [stratified_order(tier, seed) for tier in tiers]


def tier_of(path: str, priority: Sequence[Sequence[str]]) -> int:
    """Index of the first tier with a glob matching `path`; len(priority) for none."""
    for index, globs in enumerate(priority):
        if any(fnmatch.fnmatch(path, pattern) for pattern in globs):
            return index
    return len(priority)


def _file_seed(seed: int, path: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}:{path}".encode()).digest()[:8], "big")


def ladder(total: int) -> list[int]:
    """Allowed sample sizes: 8, 9, 11, 12, 14 … (x1.15 each), then `total` itself."""
    steps: list[int] = []
    size = float(LADDER_BASE)
    while round(size) < total:
        if not steps or round(size) > steps[-1]:
            steps.append(round(size))
        size *= LADDER_STEP
    return [*steps, total] if total else [0]


def wilson(successes: int, n: int, population: int | None = None) -> tuple[float, float]:
    """95% Wilson score interval for a proportion, as fractions.

    With `population` (sampling without replacement from a finite set), n is inflated by the
    finite population correction, n(N-1)/(N-n), the effective sample size; a census (n == N)
    has no sampling error at all.
    """
    if n <= 0:
        return 0.0, 1.0
    p = successes / n
    if population is not None and population > 1:
        if n >= population:
            return p, p
        n_eff = n * (population - 1) / (population - n)
    else:
        n_eff = float(n)
    z2 = Z95 * Z95
    centre = (p + z2 / (2 * n_eff)) / (1 + z2 / n_eff)
    half = Z95 / (1 + z2 / n_eff) * math.sqrt(p * (1 - p) / n_eff + z2 / (4 * n_eff * n_eff))
    return max(0.0, centre - half), min(1.0, centre + half)
