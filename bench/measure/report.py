"""Campaign documents and their reports: JSON, CSV, the study's table, PNG, HTML, trace.

A campaign document is the exact, mergeable record of a campaign or of a shard of it:
its identity (input hashes and options), per-batch records (digest, counts), and
per-size, per-section histograms of exact cycle counts. Everything a report shows
is computed from it, so a merged document yields the same report as the unsplit run.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import html
import json
from pathlib import Path
from typing import Any

from bench.errors import BenchError
from bench.measure.chrome_trace import write_chrome_trace
from bench.measure.histogram import LatencyHistogram
from bench.measure.probes import ProbeSpec

KIND = "amp-bench latency campaign"
VERSION = 1
ROWS = (("max", "Max"), ("min", "Min"), ("mean", "Mean"), ("std", "Std"), ("p999", "99.9%"))


# ----------------------------------------------------------------- the document
def new_document(identity: dict[str, Any], spec: ProbeSpec, shard: str) -> dict[str, Any]:
    return {"kind": KIND, "version": VERSION, "identity": identity, "probes": spec.as_dict(), "shard": shard,
            "batch_records": {}, "histograms": {}, "worst": {}, "first": None, "model": None}


def _add_pairs(document: dict[str, Any], size: int, section: str, pairs: list[list[int]]) -> None:
    by_size = document["histograms"].setdefault(str(size), {})
    histogram = LatencyHistogram.from_json(by_size.get(section, []))
    histogram.merge(LatencyHistogram.from_json(pairs))
    by_size[section] = histogram.to_json()


def _keep_worst(document: dict[str, Any], section: str, candidate: dict[str, Any]) -> None:
    current = document["worst"].get(section)
    if current is None or (candidate["value"], -candidate["batch"]) > (current["value"], -current["batch"]):
        document["worst"][section] = candidate


def _keep_first(document: dict[str, Any], first: dict[str, Any] | None) -> None:
    if first is not None and (document["first"] is None or first["batch"] < document["first"]["batch"]):
        document["first"] = first


def fold_batch(document: dict[str, Any], result: dict[str, Any]) -> None:
    """Add one batch's result (histograms add exactly)."""
    record = {k: result[k] for k in ("size", "count", "seed", "messages", "mismatches", "splits", "digest",
                                     "instructions", "emulated_cycles")}
    record["wall_s"] = round(result["wall_s"], 3)
    document["batch_records"][str(result["index"])] = record
    for section, pairs in result["histograms"].items():
        _add_pairs(document, result["size"], section, pairs)
    for section, worst in result["worst"].items():
        _keep_worst(document, section, worst)
    _keep_first(document, {"batch": result["index"], "chains": result["first_chains"]})


def merge_documents(documents: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """Combine shards of one campaign exactly; they must share the identity and not overlap."""
    if not documents:
        raise BenchError("bench merge: name at least one campaign JSON file")
    name0, first = documents[0]
    merged = {k: first[k] for k in ("kind", "version", "identity", "probes")}
    merged.update(shard="merged", batch_records={}, histograms={}, worst={}, first=None, model=first.get("model"),
                  merged_from=[name for name, _ in documents])
    for name, document in documents:
        if document.get("kind") != KIND:
            raise BenchError(f"{name}: not a campaign document (written by `bench campaign --json`)")
        if document["identity"] != first["identity"]:
            differing = sorted(k for k in first["identity"] if document["identity"].get(k) != first["identity"][k])
            raise BenchError(f"{name}: a different campaign than {name0} (differs in {', '.join(differing)}); "
                             "only shards of one campaign merge")
        overlap = set(document["batch_records"]) & set(merged["batch_records"])
        if overlap:
            raise BenchError(f"{name}: batches {', '.join(sorted(overlap, key=int)[:5])} are already in another "
                             "file: the same shard was given twice")
        merged["batch_records"].update(document["batch_records"])
        for size, sections in document["histograms"].items():
            for section, pairs in sections.items():
                _add_pairs(merged, int(size), section, pairs)
        for section, worst in document["worst"].items():
            _keep_worst(merged, section, worst)
        _keep_first(merged, document.get("first"))
        if document.get("error"):
            merged.setdefault("errors", []).append(f"{name}: {document['error']}")
    return merged


def finalize(document: dict[str, Any], spec: ProbeSpec, expected_batches: list[int]) -> None:
    """Derive the figures: sections (all sizes), by size, totals, digest, completeness, verdict."""
    clock = (document.get("model") or {}).get("clock_hz")
    records = document["batch_records"]
    order = sorted(records, key=int)
    document["samples"] = sum(records[i]["count"] for i in order)
    for key in ("messages", "mismatches", "splits", "instructions"):
        document[key] = sum(records[i][key] for i in order)
    document["trace_digest"] = hashlib.sha256("".join(records[i]["digest"] for i in order).encode()).hexdigest()
    document["batches_done"] = len(order)
    missing = sorted(set(expected_batches) - {int(i) for i in order})
    document["complete"] = not missing
    document["campaign_complete"] = len(order) == document["identity"]["batches"]
    labels = {s.name: s.label for s in spec.sections}

    def figures(histogram: LatencyHistogram, name: str) -> dict[str, Any]:
        summary = histogram.summary()
        entry: dict[str, Any] = {"label": labels.get(name, name), **summary.as_dict()}
        if clock:
            entry["us"] = summary.in_us(clock)
        return entry

    totals: dict[str, LatencyHistogram] = {}
    document["by_size"] = {}
    document["hdr"] = {}
    for size in sorted(document["histograms"], key=int):
        sections = document["histograms"][size]
        document["by_size"][size] = {}
        document["hdr"][size] = {}
        for section in spec.sections:
            histogram = LatencyHistogram.from_json(sections.get(section.name, []))
            document["by_size"][size][section.name] = figures(histogram, section.name)
            document["hdr"][size][section.name] = histogram.to_hdr()
            totals.setdefault(section.name, LatencyHistogram()).merge(histogram)
    document["sections"] = {s.name: figures(totals.get(s.name, LatencyHistogram()), s.name) for s in spec.sections}
    counts_ok = all(entry["count"] == document["samples"] for entry in document["sections"].values())
    document["passed"] = (not document.get("error") and not document.get("errors") and document["complete"]
                          and document["mismatches"] == 0 and document["messages"] == document["samples"]
                          and counts_ok and document["samples"] > 0)
    if missing:
        document["missing_batches"] = missing[:20]


# ------------------------------------------------------------------ the reports
def paper_table(document: dict[str, Any], spec: ProbeSpec, size: str, unit: str = "us") -> str:
    """The reference study's table for one payload size: sections as columns, statistics as rows."""
    columns = list(spec.paper_columns) or [s.name for s in spec.sections]
    sections = document["by_size"][size]
    head = f"| {size} B, {'µs' if unit == 'us' else 'cycles'} | " + " | ".join(
        sections[c]["label"] for c in columns) + " |"
    lines = [head, "|" + "---|" * (len(columns) + 1)]
    for key, row in ROWS:
        cells = []
        for c in columns:
            value = sections[c]["us"][key] if unit == "us" and "us" in sections[c] else sections[c][key]
            cells.append(f"{value:.3f}" if unit == "us" else (f"{value:.2f}" if isinstance(value, float)
                                                               else str(value)))
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _csv(document: dict[str, Any], spec: ProbeSpec, path: Path) -> None:
    keys = ("count", "min", "max", "mean", "std", "p50", "p99", "p999")
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["size", "section", "label", *keys, *(f"{k}_us" for k in keys[1:])])
        for size, sections in document["by_size"].items():
            for section in spec.sections:
                entry = sections[section.name]
                us = entry.get("us", {})
                writer.writerow([size, section.name, entry["label"], *(entry[k] for k in keys),
                                 *(us.get(k, "") for k in keys[1:])])


def _plots(document: dict[str, Any], spec: ProbeSpec, out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    clock = (document.get("model") or {}).get("clock_hz") or 1
    scale = 1e6 / clock
    paths = []
    for size, sections in document["histograms"].items():
        names = [s for s in spec.sections if sections.get(s.name)]
        if not names:
            continue
        cols = 3
        rows = (len(names) + cols - 1) // cols
        fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.0 * rows), squeeze=False)
        for ax, section in zip(axes.flat, names, strict=False):
            pairs = sections[section.name]
            xs, counts = [v * scale for v, _ in pairs], [c for _, c in pairs]
            # Stems from below 1 on a log axis: single samples (the tails) stay visible.
            ax.vlines(xs, 0.7, counts, color="#2b6cb0", linewidth=1)
            ax.plot(xs, counts, "o", color="#2b6cb0", markersize=2.5)
            ax.set_yscale("log")
            ax.set_ylim(0.7, max(counts) * 2)
            if xs[0] == xs[-1]:
                ax.set_xlim(xs[0] * 0.9 - scale, xs[0] * 1.1 + scale)
            else:
                ax.margins(x=0.05)
            ax.set_title(section.label, fontsize=10)
            ax.set_xlabel("µs")
            ax.set_ylabel("samples")
        for ax in list(axes.flat)[len(names):]:
            ax.axis("off")
        fig.suptitle(f"{spec.title}: {size}-byte payloads, {document['samples']} samples", fontsize=11)
        fig.tight_layout()
        path = out / f"histograms_{size}.png"
        fig.savefig(path, dpi=90, metadata={"Software": None})
        plt.close(fig)
        paths.append(path)
    sizes = sorted(document["by_size"], key=int)
    columns = list(spec.paper_columns) or [s.name for s in spec.sections]
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    for name in columns:
        label = document["sections"][name]["label"]
        means = [document["by_size"][s][name]["mean"] * scale for s in sizes]
        tails = [document["by_size"][s][name]["p999"] * scale for s in sizes]
        line = ax.plot([int(s) for s in sizes], means, marker="o", label=f"{label} mean")[0]
        ax.plot([int(s) for s in sizes], tails, marker="^", linestyle="--", color=line.get_color(),
                label=f"{label} 99.9%")
    ax.set_xlabel("payload size (bytes)")
    ax.set_ylabel("latency (µs)")
    ax.set_title("Latency versus payload size")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    path = out / "latency_vs_size.png"
    fig.savefig(path, dpi=90, metadata={"Software": None})
    plt.close(fig)
    paths.append(path)
    return paths


def _html(document: dict[str, Any], spec: ProbeSpec, images: list[Path], tables: str, path: Path) -> None:
    def table(rows: list[list[Any]], head: list[str]) -> str:
        cells = "".join(f"<th>{html.escape(str(h))}</th>" for h in head)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
        return f"<table><tr>{cells}</tr>{body}</table>"

    model = document.get("model") or {}
    parts = [f"<h1>{html.escape(spec.title)}</h1>",
             f"<p>{document['samples']} samples, {document['messages']} messages, {document['mismatches']} "
             f"mismatches; verdict: <b>{'PASSED' if document['passed'] else 'FAILED'}</b>; "
             f"trace digest <code>{document['trace_digest'][:16]}</code></p>",
             "<h2>Model</h2>",
             table([[name, c["model"], c["irq_entry_cycles"], c["tail_chain_cycles"]]
                    for name, c in model.get("cores", {}).items()],
                   ["core", "model", "interrupt entry (cycles)", "tail-chaining (cycles)"]),
             f"<p>clock {model.get('clock_hz', '?')} Hz; {html.escape(model.get('cycle_cost', ''))}</p>",
             "<h2>Campaign</h2>",
             table([[k, json.dumps(v)] for k, v in document["identity"].items() if k != "inputs"], ["option", "value"]),
             "<h2>The reference study's table</h2>", f"<pre>{html.escape(tables)}</pre>",
             "<h2>Every section (cycles)</h2>"]
    for size, sections in document["by_size"].items():
        parts.append(f"<h3>{size}-byte payloads</h3>")
        parts.append(table([[e["label"], e["count"], e["min"], e["max"], e["mean"], e["std"], e["p50"], e["p99"],
                             e["p999"]] for e in sections.values()],
                           ["section", "count", "min", "max", "mean", "std", "p50", "p99", "p99.9"]))
    parts.append("<h2>Sections</h2>")
    parts.append(table([[s.label, s.start, s.end, s.doc] for s in spec.sections], ["section", "from", "to", "what"]))
    for image in images:
        data = base64.b64encode(image.read_bytes()).decode()
        parts.append(f"<h2>{html.escape(image.stem.replace('_', ' '))}</h2>"
                     f"<img alt='{html.escape(image.name)}' src='data:image/png;base64,{data}'>")
    style = ("body{font-family:sans-serif;margin:2em;max-width:70em}table{border-collapse:collapse;margin:1em 0}"
             "td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}th{background:#f0f0f0}")
    path.write_text(f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(spec.title)}</title>"
                    f"<style>{style}</style></head><body>{''.join(parts)}</body></html>\n")


def write_reports(document: dict[str, Any], spec: ProbeSpec, out: Path, expected_batches: list[int]) -> None:
    """Finalize the document and write every report next to it; the document names them."""
    out.mkdir(parents=True, exist_ok=True)
    finalize(document, spec, expected_batches)
    reports: dict[str, Any] = {"json": str(out / "campaign.json"), "csv": str(out / "sections.csv")}
    if document["samples"]:
        tables = "\n\n".join(paper_table(document, spec, size) for size in document["by_size"]) + "\n\n" + \
            "\n\n".join(paper_table(document, spec, size, unit="cycles") for size in document["by_size"])
        (out / "paper_table.md").write_text(tables + "\n")
        images = _plots(document, spec, out)
        _html(document, spec, images, tables, out / "report.html")
        write_chrome_trace(document, spec, out / "trace.json")
        reports.update(paper_table=str(out / "paper_table.md"), png=[str(p) for p in images],
                       html=str(out / "report.html"), trace=str(out / "trace.json"))
    document["reports"] = reports
    _csv(document, spec, out / "sections.csv")
    (out / "campaign.json").write_text(json.dumps(document, indent=1, sort_keys=True) + "\n")
