"""Probe events in the Chrome trace event format (Perfetto, chrome://tracing, Speedscope).

Why: tails are found by looking at the worst samples in a timeline. The export holds
the first round trips of the campaign's first batch, then, for every section, the
sample where that section was worst, each as its own process: one track per
section (a span from its start point to its end point) and one for the points.
Timestamps are emulated microseconds at the modelled clock.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.measure.probes import ProbeSpec


def _sample_events(spec: ProbeSpec, index: dict[str, int], chain: list[int], pid: int, scale: float,
                   sample: int) -> list[dict[str, Any]]:
    events = []
    for tid, section in enumerate(spec.sections, start=1):
        start, end = chain[index[section.start]], chain[index[section.end]]
        events.append({"name": section.label, "cat": "section", "ph": "X", "pid": pid, "tid": tid,
                       "ts": round(start * scale, 4), "dur": round((end - start) * scale, 4),
                       "args": {"cycles": end - start, "sample": sample}})
    points_tid = len(spec.sections) + 1
    for name, cycle in zip(spec.chain, chain, strict=True):
        point = spec.points[name]
        events.append({"name": name, "cat": "point", "ph": "i", "s": "t", "pid": pid, "tid": points_tid,
                       "ts": round(cycle * scale, 4), "args": {"cycle": cycle, "core": point.core,
                                                               "event": point.event}})
    return events


def _process(pid: int, name: str, spec: ProbeSpec) -> list[dict[str, Any]]:
    meta = [{"name": "process_name", "ph": "M", "pid": pid, "args": {"name": name}},
            {"name": "process_sort_index", "ph": "M", "pid": pid, "args": {"sort_index": pid}}]
    for tid, section in enumerate(spec.sections, start=1):
        meta.append({"name": "thread_name", "ph": "M", "pid": pid, "tid": tid, "args": {"name": section.label}})
    meta.append({"name": "thread_name", "ph": "M", "pid": pid, "tid": len(spec.sections) + 1,
                 "args": {"name": "probe points"}})
    return meta


def write_chrome_trace(document: dict[str, Any], spec: ProbeSpec, path: Path) -> None:
    clock = (document.get("model") or {}).get("clock_hz") or 1
    scale = 1e6 / clock
    events: list[dict[str, Any]] = []
    index = {name: i for i, name in enumerate(spec.chain)}
    first = document.get("first")
    if first and first["chains"]:
        events += _process(1, f"batch {first['batch']}: first {len(first['chains'])} round trips", spec)
        for sample, chain in enumerate(first["chains"]):
            events += _sample_events(spec, index, chain, 1, scale, sample)
    for pid, section in enumerate(spec.sections, start=2):
        worst = document["worst"].get(section.name)
        if worst is None:
            continue
        events += _process(pid, f"worst {section.label}: {worst['value']} cycles (batch {worst['batch']}, "
                                f"sample {worst['sample']})", spec)
        events += _sample_events(spec, index, worst["chain"], pid, scale, worst["sample"])
    path.write_text(json.dumps({"traceEvents": events, "displayTimeUnit": "ns",
                                "otherData": {"source": "amp-bench campaign", "clock_hz": clock,
                                              "probes": str(spec.path)}}) + "\n")
