"""Latency statistics as real-time engineers read them.

Computed exactly from integer samples (cycles), so two runs with the same
samples give the same figures bit for bit: sums are integers, the mean and
standard deviation are derived from them once, quantiles are nearest-rank
(the smallest sample with at least q of the samples at or below it).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Summary:
    """count, min, max, mean, std (population), p50, p99, p999 in cycles."""

    count: int
    min: int
    max: int
    mean: float
    std: float
    p50: int
    p99: int
    p999: int

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)

    def in_ns(self, frequency_hz: int) -> dict[str, float]:
        """The same figures in nanoseconds at the modelled clock."""
        scale = 1e9 / frequency_hz
        return {k: round(v * scale, 3) for k, v in self.as_dict().items() if k != "count"}

    def in_us(self, frequency_hz: int) -> dict[str, float]:
        """The same figures in microseconds at the modelled clock."""
        scale = 1e6 / frequency_hz
        return {k: round(v * scale, 6) for k, v in self.as_dict().items() if k != "count"}


QUANTILES = (0.50, 0.99, 0.999)


def _rank(q: float, n: int) -> int:
    """Nearest rank (1-based) of quantile q among n samples."""
    return max(1, math.ceil(q * n))


def summarize(samples: Iterable[int]) -> Summary:
    return summarize_counts(Counter(samples))


def summarize_counts(counts: Mapping[int, int]) -> Summary:
    """The summary of a multiset given as value -> count (what histograms hold)."""
    items = sorted((v, c) for v, c in counts.items() if c)
    if not items:
        return Summary(0, 0, 0, 0.0, 0.0, 0, 0, 0)
    n = sum(c for _, c in items)
    total = sum(v * c for v, c in items)
    squares = sum(v * v * c for v, c in items)
    mean = total / n
    variance = max(0, n * squares - total * total) / (n * n)
    ranks = [_rank(q, n) for q in QUANTILES]
    found: list[int] = []
    seen = 0
    for value, count in items:
        seen += count
        while len(found) < len(ranks) and seen >= ranks[len(found)]:
            found.append(value)
    return Summary(n, items[0][0], items[-1][0], round(mean, 6), round(math.sqrt(variance), 6), *found)
