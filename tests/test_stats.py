"""Statistics: exact figures from integer samples."""

from __future__ import annotations

import math

from bench.measure.stats import summarize


def test_summary_of_known_samples():
    s = summarize([5, 1, 3, 2, 4])
    assert (s.count, s.min, s.max, s.mean, s.p50) == (5, 1, 5, 3.0, 3)
    assert s.std == round(math.sqrt(2.0), 6)


def test_nearest_rank_quantiles():
    samples = list(range(1, 1001))
    s = summarize(samples)
    assert (s.p999, s.p99, s.p50) == (999, 990, 500)
    assert summarize([7]).p999 == 7
    s = summarize([*samples, 100_000])
    assert s.max == 100_000 and s.p999 == 1000


def test_empty_and_ns_conversion():
    assert summarize([]).count == 0
    ns = summarize([204, 408]).in_ns(204_000_000)
    assert ns["min"] == 1000.0 and ns["max"] == 2000.0
