"""A latency histogram in the manner of HdrHistogram: constant memory, bounded relative error.

Values (microseconds) fall into log-linear buckets: each power-of-two range is split into the
same number of linear sub-buckets, enough for `significant_digits` decimal digits. Any value
recorded is reported back within a relative error of 10^-digits (0.1% for 3 digits), whatever
its size, and memory does not grow with the number of values: a load test of millions of
requests keeps a few tens of thousands of counters, never a list of floats.

The layout follows Gil Tene's HdrHistogram (bucket and sub-bucket indexing, percentiles read
as the highest value equivalent to the bucket that reaches the wanted rank), so figures are
comparable with wrk2's and other HdrHistogram-based tools'.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

US_PER_S = 1_000_000


@dataclass
class Histogram:
    """Counts of values from 1 to `highest` (microseconds by convention), within relative error."""

    highest: int = 3_600 * US_PER_S  # an hour: no request of ours is allowed anywhere near it
    significant_digits: int = 3
    total: int = 0
    max_value: int = 0
    min_value: int = 0
    _sum: int = 0
    _counts: list[int] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        if not 1 <= self.significant_digits <= 5:
            raise ValueError("significant_digits must be 1 to 5")
        if self.highest < 2:
            raise ValueError("highest must be at least 2")
        # Enough linear steps per power of two that one step is 10^-digits of the value.
        largest_single_unit = 2 * 10**self.significant_digits
        self._sub_count = 1 << math.ceil(math.log2(largest_single_unit))
        self._half_count = self._sub_count // 2
        self._half_magnitude = self._half_count.bit_length() - 1
        self._mask = self._sub_count - 1
        self._buckets = self._bucket_count()
        if not self._counts:
            self._counts = [0] * ((self._buckets + 1) * self._half_count)

    def _bucket_count(self) -> int:
        smallest_untrackable = self._sub_count
        buckets = 1
        while smallest_untrackable <= self.highest:
            smallest_untrackable <<= 1
            buckets += 1
        return buckets

    @property
    def relative_error(self) -> float:
        """The worst relative error of a reported value against the recorded one."""
        return 1.0 / self._half_count

    def _index(self, value: int) -> int:
        bucket = (value | self._mask).bit_length() - (self._half_magnitude + 1)
        sub_bucket = value >> bucket
        return ((bucket + 1) << self._half_magnitude) + sub_bucket - self._half_count

    def _lowest_at(self, index: int) -> int:
        bucket = (index >> self._half_magnitude) - 1
        sub_bucket = (index & (self._half_count - 1)) + self._half_count
        if bucket < 0:
            sub_bucket -= self._half_count
            bucket = 0
        return sub_bucket << bucket

    def _highest_at(self, index: int) -> int:
        lowest = self._lowest_at(index)
        # The width of the bucket that holds `lowest`: one unit in bucket 0, doubling after.
        width = 1 << ((lowest | self._mask).bit_length() - (self._half_magnitude + 1))
        return lowest + width - 1

    def record(self, value: int, count: int = 1) -> None:
        """Count `value` (clamped to 0..highest) `count` times."""
        value = min(max(0, int(value)), self.highest)
        self._counts[self._index(value)] += count
        if self.total == 0 or value < self.min_value:
            self.min_value = value
        self.max_value = max(self.max_value, value)
        self.total += count
        self._sum += value * count

    def record_seconds(self, seconds: float) -> None:
        """Count a duration given in seconds (stored as whole microseconds)."""
        self.record(round(seconds * US_PER_S))

    def merge(self, other: Histogram) -> None:
        """Add every count of `other` (which must have the same layout) to this histogram."""
        if (other.highest, other.significant_digits) != (self.highest, self.significant_digits):
            raise ValueError("only histograms with the same highest value and digits merge")
        if other.total == 0:
            return
        for index, count in enumerate(other._counts):
            if count:
                self._counts[index] += count
        if self.total == 0 or other.min_value < self.min_value:
            self.min_value = other.min_value
        self.max_value = max(self.max_value, other.max_value)
        self.total += other.total
        self._sum += other._sum

    @property
    def count(self) -> int:
        """How many values were recorded."""
        return self.total

    @property
    def mean(self) -> float:
        """The exact mean of the recorded (clamped) values; 0 when empty."""
        return self._sum / self.total if self.total else 0.0

    def percentile(self, percent: float) -> int:
        """The value at `percent` (0-100): at least that share of values lie at or below it."""
        if self.total == 0:
            return 0
        if percent >= 100:
            return self.max_value
        wanted = max(1, math.ceil(percent / 100 * self.total))
        seen = 0
        for index, count in enumerate(self._counts):
            seen += count
            if seen >= wanted:
                return min(self._highest_at(index), self.max_value)
        return self.max_value

    def to_json(self) -> dict[str, Any]:
        """A compact form (non-zero buckets only) that `from_json` restores."""
        counts = {str(i): c for i, c in enumerate(self._counts) if c}
        return {
            "highest": self.highest,
            "significant_digits": self.significant_digits,
            "total": self.total,
            "min": self.min_value,
            "max": self.max_value,
            "sum": self._sum,
            "counts": counts,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Histogram:
        """The histogram `to_json` described."""
        made = cls(highest=int(data["highest"]), significant_digits=int(data["significant_digits"]))
        for index, count in data["counts"].items():
            made._counts[int(index)] = int(count)
        made.total, made.min_value, made.max_value = data["total"], data["min"], data["max"]
        made._sum = data["sum"]
        return made
