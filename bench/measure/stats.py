"""Latency statistics as real-time engineers read them.

Computed exactly from integer samples (cycles), so two runs with the same
samples give the same figures bit for bit: sums are integers, the mean and
standard deviation are derived from them once, quantiles are nearest-rank
(the smallest sample with at least q of the samples at or below it).
"""

from __future__ import annotations

import math
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


def quantile(ordered: list[int], q: float) -> int:
    """Nearest-rank quantile of sorted samples."""
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[rank - 1]


def summarize(samples: list[int]) -> Summary:
    if not samples:
        return Summary(0, 0, 0, 0.0, 0.0, 0, 0, 0)
    ordered = sorted(samples)
    n = len(ordered)
    total = sum(ordered)
    squares = sum(x * x for x in ordered)
    mean = total / n
    variance = max(0, n * squares - total * total) / (n * n)
    return Summary(n, ordered[0], ordered[-1], round(mean, 6), round(math.sqrt(variance), 6),
                   quantile(ordered, 0.50), quantile(ordered, 0.99), quantile(ordered, 0.999))
