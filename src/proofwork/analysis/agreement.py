"""Krippendorff's alpha: how far coders agree beyond what chance would give.

Written from Krippendorff's own description of the computation ("Computing Krippendorff's
Alpha-Reliability", 2011) through the coincidence matrix: every ordered pair of values two
different coders gave to one unit adds 1/(m_u - 1) to the matrix, where m_u is the number of
values the unit received. Units with fewer than two values cannot be paired and are left out,
so any number of coders and missing values need nothing special.

    alpha = 1 - D_o / D_e
    D_o = 1/n * sum_ck o_ck * delta2(c, k)
    D_e = 1/(n (n - 1)) * sum_ck n_c * n_k * delta2(c, k)

With no variation among the pairable values (every one the same), D_e is 0 and alpha is
undefined (0/0): `alpha` then answers None, never a made-up 1.0.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

Metric = Literal["nominal", "ordinal", "interval", "ratio"]
METRICS: tuple[Metric, ...] = ("nominal", "ordinal", "interval", "ratio")

# The usual reading (Krippendorff 2004, p. 241): rely on data with alpha >= .800, draw only
# tentative conclusions from data with .667 <= alpha < .800, and none below.
RELIABLE, TENTATIVE = 0.8, 0.667

Difference = Callable[[Hashable, Hashable], float]


@dataclass(frozen=True)
class Coincidences:
    """The coincidence matrix of reliability data: o_ck, its margins n_c and total n."""

    pairs: Mapping[tuple[Hashable, Hashable], float]
    margins: Mapping[Hashable, float]

    @property
    def total(self) -> float:
        """n: the number of pairable values."""
        return sum(self.margins.values())


def coincidences(units: Iterable[Iterable[Hashable | None]]) -> Coincidences:
    """The coincidence matrix of units given as each unit's values (None for missing)."""
    pairs: defaultdict[tuple[Hashable, Hashable], float] = defaultdict(float)
    for unit in units:
        counts = Counter(value for value in unit if value is not None)
        pairable = sum(counts.values())
        if pairable < 2:
            continue
        for c, n_c in counts.items():
            for k, n_k in counts.items():
                together = n_c * (n_c - 1) if c == k else n_c * n_k
                if together:
                    pairs[c, k] += together / (pairable - 1)
    margins: defaultdict[Hashable, float] = defaultdict(float)
    for (c, _), weight in pairs.items():
        margins[c] += weight
    return Coincidences(dict(pairs), dict(margins))


def _number(value: Hashable) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"interval and ratio metrics need numbers; got {value!r}")
    return float(value)


def _nominal(c: Hashable, k: Hashable) -> float:
    return 0.0 if c == k else 1.0


def _interval(c: Hashable, k: Hashable) -> float:
    return (_number(c) - _number(k)) ** 2


def _ratio(c: Hashable, k: Hashable) -> float:
    total = _number(c) + _number(k)
    return 0.0 if total == 0 else ((_number(c) - _number(k)) / total) ** 2


def _ordinal(margins: Mapping[Hashable, float]) -> Difference:
    """Ordinal differences: the ranks between c and k, weighted by how often each was used."""
    ordered: list[Hashable] = sorted(margins)  # type: ignore[type-var]
    rank = {value: place for place, value in enumerate(ordered)}
    before, running = {}, 0.0
    for value in ordered:
        before[value] = running  # values strictly below
        running += margins[value]

    def delta(c: Hashable, k: Hashable) -> float:
        low, high = sorted((c, k), key=rank.__getitem__)
        between = before[high] + margins[high] - before[low]  # n_g for g from low to high
        return (between - (margins[low] + margins[high]) / 2) ** 2

    return delta


def difference(metric: Metric, margins: Mapping[Hashable, float]) -> Difference:
    """The squared difference function delta2(c, k) of a metric."""
    if metric == "ordinal":
        return _ordinal(margins)
    fixed: dict[str, Difference] = {"nominal": _nominal, "interval": _interval, "ratio": _ratio}
    if metric not in fixed:
        raise ValueError(f"unknown metric {metric!r}: use one of {', '.join(METRICS)}")
    return fixed[metric]


def alpha(units: Iterable[Iterable[Hashable | None]], metric: Metric = "nominal") -> float | None:
    """Krippendorff's alpha of units (each the values its coders gave, None for missing).

    None when alpha is undefined: fewer than two pairable values, or no variation among them.
    """
    matrix = coincidences(units)
    n = matrix.total
    if n < 2:
        return None
    delta = difference(metric, matrix.margins)
    observed = sum(weight * delta(c, k) for (c, k), weight in matrix.pairs.items()) / n
    values = list(matrix.margins)
    expected = sum(
        matrix.margins[c] * matrix.margins[k] * delta(c, k) for c in values for k in values
    ) / (n * (n - 1))
    if expected == 0:
        return None
    return 1 - observed / expected


def by_coder(matrix: Sequence[Sequence[Hashable | None]]) -> list[list[Hashable | None]]:
    """Units from reliability data laid out as the paper does: one row per coder."""
    return [list(unit) for unit in zip(*matrix, strict=True)]


def reading(value: float | None) -> str:
    """The usual reading of an alpha: reliable, tentative, unreliable (or undefined)."""
    if value is None:
        return "undefined"
    if value >= RELIABLE:
        return "reliable"
    return "tentative" if value >= TENTATIVE else "unreliable"
