"""Campaign benchmark: RPMsg round trips per second with one and with two processes.

Both runs measure the same campaign (so their histograms must be identical, which
is checked); the ratio shows how the batches scale over the host's cores. Each process
first boots Linux and takes the base snapshot (~1 s): a short campaign's overall rate is
mostly that, so the rate in batches is shown apart, and the estimate for the reference
study's 4,000,000 samples is that start-up plus 4,000,000 round trips at the batch rate.
"""

from __future__ import annotations

import tempfile
from typing import Any

from bench.scenarios.campaign import CampaignOptions, run_campaign

REFERENCE_SAMPLES = 4_000_000


def batch_rates(document: dict[str, Any]) -> dict[str, float]:
    """Overall and in-batch round trips per second, and the start-up time, of one campaign run."""
    throughput = document["throughput"]
    records = document["batch_records"].values()
    busy_s = sum(record["wall_s"] for record in records) / throughput["jobs"]  # (the processes run side by side)
    round_trips = sum(record["count"] for record in records)
    in_batches = round(round_trips / busy_s, 1) if busy_s > 0 else throughput["round_trips_per_s"]
    return {"overall": throughput["round_trips_per_s"], "in_batches": in_batches,
            "start_s": round(max(0.0, throughput["wall_s"] - busy_s), 2)}


def run_campaign_perf(platform: str, samples: int) -> dict[str, Any]:
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for jobs in (1, 2):
            options = CampaignOptions(platform=platform, samples=samples, batch=max(1, samples // 4), jobs=jobs,
                                      out=f"{tmp}/jobs{jobs}", progress=False)
            results[jobs] = run_campaign(options)
    if results[1]["histograms"] != results[2]["histograms"]:
        raise RuntimeError("one and two processes gave different histograms: the campaign is not deterministic")
    rates = {jobs: batch_rates(document) for jobs, document in results.items()}
    estimate_s = rates[2]["start_s"] + REFERENCE_SAMPLES / rates[2]["in_batches"]
    document = {
        "samples": samples, "size": 496,
        "round_trips_per_s": {f"jobs_{jobs}": rate["overall"] for jobs, rate in rates.items()},
        "round_trips_per_s_in_batches": {f"jobs_{jobs}": rate["in_batches"] for jobs, rate in rates.items()},
        "start_s": {f"jobs_{jobs}": rate["start_s"] for jobs, rate in rates.items()},
        "scaling_2_over_1": round(rates[2]["in_batches"] / rates[1]["in_batches"], 2),
        "reference_run_estimate_s": round(estimate_s, 1),
    }
    print(f"Latency campaign, {samples} round trips of 496 bytes:")
    for jobs, rate in rates.items():
        print(f"  {jobs} process(es)  {rate['in_batches']:8.1f} round trips/s in batches, {rate['overall']:8.1f} "
              f"overall (boot and base snapshot: {rate['start_s']:.1f} s)")
    print(f"  scaling 2/1 in batches: {document['scaling_2_over_1']}x; identical histograms: yes")
    print(f"  4,000,000 round trips at the batch rate, plus the start-up: {estimate_s / 60:.1f} min")
    return document
