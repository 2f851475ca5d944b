"""Campaign benchmark: RPMsg round trips per second with one and with two processes.

Both runs measure the same campaign (so their histograms must be identical, which
is checked); the ratio shows how the batches scale over the host's cores, and the
figures extrapolate to the reference study's 4,000,000 samples.
"""

from __future__ import annotations

import tempfile
from typing import Any

from bench.scenarios.campaign import CampaignOptions, run_campaign

REFERENCE_SAMPLES = 4_000_000


def run_campaign_perf(platform: str, samples: int) -> dict[str, Any]:
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for jobs in (1, 2):
            options = CampaignOptions(platform=platform, samples=samples, batch=max(1, samples // 4), jobs=jobs,
                                      out=f"{tmp}/jobs{jobs}", progress=False)
            results[jobs] = run_campaign(options)
    if results[1]["histograms"] != results[2]["histograms"]:
        raise RuntimeError("one and two processes gave different histograms: the campaign is not deterministic")
    rates = {jobs: r["throughput"]["round_trips_per_s"] for jobs, r in results.items()}
    document = {
        "samples": samples, "size": 496,
        "round_trips_per_s": {f"jobs_{jobs}": rate for jobs, rate in rates.items()},
        "scaling_2_over_1": round(rates[2] / rates[1], 2),
        "reference_run_estimate_s": round(REFERENCE_SAMPLES / rates[2], 1),
    }
    print(f"Latency campaign, {samples} round trips of 496 bytes (boot and base snapshot included):")
    for jobs, rate in rates.items():
        print(f"  {jobs} process(es)  {rate:8.1f} round trips/s")
    print(f"  scaling 2/1: {document['scaling_2_over_1']}x; identical histograms: yes")
    print(f"  4,000,000 round trips at this rate: {document['reference_run_estimate_s'] / 60:.1f} min")
    return document
