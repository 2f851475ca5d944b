"""Latency histograms that merge exactly.

Why exact counts: a campaign is split into batches, shards and machines, and the
merged result must equal the unsplit one bit for bit. Latencies are integer
cycles with few distinct values, so a value -> count table is small, merges by
addition and gives exact quantiles. For viewers and tools of the field the same
data is also exported as an HdrHistogram (base64, the standard encoding), whose
merges are exact too.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from hdrh.histogram import HdrHistogram

from bench.measure.stats import Summary, summarize_counts

HDR_LOWEST, HDR_HIGHEST, HDR_DIGITS = 1, 1 << 40, 3


class LatencyHistogram:
    """A multiset of latencies in cycles."""

    def __init__(self, counts: dict[int, int] | None = None) -> None:
        self.counts: Counter[int] = Counter(counts or {})

    def add(self, value: int, count: int = 1) -> None:
        self.counts[value] += count

    def extend(self, values: Iterable[int]) -> None:
        self.counts.update(values)

    def merge(self, other: LatencyHistogram) -> None:
        self.counts.update(other.counts)

    @property
    def count(self) -> int:
        return sum(self.counts.values())

    def summary(self) -> Summary:
        return summarize_counts(self.counts)

    def to_json(self) -> list[list[int]]:
        """[[value, count], ...] in value order: the exact, mergeable form."""
        return [[value, self.counts[value]] for value in sorted(self.counts)]

    @classmethod
    def from_json(cls, pairs: Iterable[Iterable[int]]) -> LatencyHistogram:
        histogram = cls()
        for value, count in pairs:
            histogram.counts[int(value)] += int(count)
        return histogram

    def to_hdr(self) -> str:
        """The HdrHistogram encoding (3 significant digits) for HdrHistogram tools."""
        hdr = HdrHistogram(HDR_LOWEST, HDR_HIGHEST, HDR_DIGITS)
        for value in sorted(self.counts):
            hdr.record_value(max(HDR_LOWEST, value), self.counts[value])
        return hdr.encode().decode()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LatencyHistogram) and +self.counts == +other.counts
