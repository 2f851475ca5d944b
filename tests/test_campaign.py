"""Latency campaigns: the plan, exact merging of shards, the reports, and bad options."""

from __future__ import annotations

import json

import pytest

from bench.cli import main
from bench.errors import BenchError
from bench.measure.campaign_perf import batch_rates
from bench.measure.report import merge_documents
from bench.scenarios.campaign import CampaignOptions, parse_shard, plan, shard_of


def test_plan_and_shards_partition_the_campaign():
    batches = plan(CampaignOptions(sizes=[16, 496], samples=25, batch=10))
    assert [(b.size, b.count) for b in batches] == [(16, 10), (16, 10), (16, 5), (496, 10), (496, 10), (496, 5)]
    assert len({b.seed for b in batches}) == len(batches)
    for n in (1, 2, 4, 6):
        slices = [shard_of(batches, (k, n)) for k in range(1, n + 1)]
        assert [b for s in slices for b in s] == batches
    assert parse_shard("2/3") == (2, 3)
    for bad in ("0/2", "3/2", "1", "a/b"):
        with pytest.raises(BenchError, match="--shard"):
            parse_shard(bad)


def test_campaign_benchmark_tells_the_batch_rate_from_the_start_up():
    """Two processes ran two batches each side by side in 1.5 s of batches, after 0.5 s of boot."""
    document = {"throughput": {"jobs": 2, "wall_s": 2.0, "round_trips_per_s": 2000.0},
                "batch_records": {str(i): {"count": 1000, "wall_s": 0.75} for i in range(4)}}
    assert batch_rates(document) == {"overall": 2000.0, "in_batches": 2666.7, "start_s": 0.5}


def test_merge_refuses_other_campaigns_and_repeated_shards():
    def doc(batches, seed=1):
        return {"kind": "amp-bench latency campaign", "version": 1, "identity": {"seed": seed, "batches": 2},
                "probes": {}, "batch_records": {str(b): {} for b in batches}, "histograms": {}, "worst": {},
                "first": None}
    with pytest.raises(BenchError, match="differs in seed"):
        merge_documents([("a.json", doc([0])), ("b.json", doc([1], seed=2))])
    with pytest.raises(BenchError, match="given twice"):
        merge_documents([("a.json", doc([0])), ("b.json", doc([0]))])


def _campaign(tmp_path, name, *extra):
    out = tmp_path / name
    code = main(["campaign", "--size", "496", "--samples", "6", "--batch", "3", "--no-progress",
                 "--out", str(out), "--json", str(tmp_path / f"{name}.json"), *extra])
    return code, json.loads((tmp_path / f"{name}.json").read_text())


def test_campaign_shards_merge_into_the_unsharded_result(tmp_path, capsys, monkeypatch):
    code, full = _campaign(tmp_path, "full", "--jobs", "2")
    assert code == 0 and full["passed"], full.get("error")
    sections = full["sections"]
    assert set(sections) >= {"tty_write", "ipi_to_remote", "remote_processing", "ipi_to_host", "tty_read",
                             "round_trip"}
    for entry in sections.values():
        assert entry["count"] == 6
        assert entry["min"] <= entry["p50"] <= entry["p999"] <= entry["max"]
    parts = sum(sections[s]["mean"] for s in ("tty_write", "ipi_to_remote", "remote_processing", "ipi_to_host",
                                              "tty_read"))
    assert parts == pytest.approx(sections["round_trip"]["mean"])  # the breakdown covers the round trip
    assert sections["ipi_to_remote"]["min"] >= full["model"]["cores"]["cpu_m0"]["irq_entry_cycles"]
    reports = full["reports"]
    table = (tmp_path / "full" / "paper_table.md").read_text()
    assert "| TTY-write | TTY-read | IPI to remote | IPI to host | Remote processing |" in table
    trace = json.loads((tmp_path / "full" / "trace.json").read_text())
    assert any(e.get("name") == "TTY-read" and e["ph"] == "X" for e in trace["traceEvents"])
    assert reports["html"].endswith("report.html") and len(reports["png"]) == 2

    assert _campaign(tmp_path, "s1", "--shard", "1/2", "--jobs", "1")[0] == 0
    assert _campaign(tmp_path, "s2", "--shard", "2/2", "--jobs", "1")[0] == 0
    merged_json = tmp_path / "merged.json"
    assert main(["merge", str(tmp_path / "s1.json"), str(tmp_path / "s2.json"), "--out", str(tmp_path / "m"),
                 "--json", str(merged_json)]) == 0
    merged = json.loads(merged_json.read_text())
    for key in ("sections", "histograms", "by_size", "hdr", "trace_digest", "samples"):
        assert merged[key] == full[key], key
    assert "round trips/s" in capsys.readouterr().out

    # Interrupted after its first batch (before any timed checkpoint), a run keeps that batch;
    # --resume runs only the other.
    import bench.scenarios.campaign as campaign

    fold_batch = campaign.fold_batch
    folded = []

    def interrupted_after_the_first_batch(document, payload):
        if folded:
            raise KeyboardInterrupt
        folded.append(payload["index"])
        fold_batch(document, payload)

    monkeypatch.setattr(campaign, "fold_batch", interrupted_after_the_first_batch)
    monkeypatch.setattr(campaign, "CHECKPOINT_EVERY_S", 1e9)
    assert main(["campaign", "--size", "496", "--samples", "6", "--batch", "3", "--no-progress", "--jobs", "1",
                 "--out", str(tmp_path / "cut")]) == 130
    monkeypatch.undo()
    partial = tmp_path / "cut" / "campaign.partial.json"
    assert list(json.loads(partial.read_text())["batch_records"]) == ["0"]
    code, resumed = _campaign(tmp_path, "resumed", "--jobs", "1", "--resume", str(partial))
    assert code == 0 and resumed["throughput"]["round_trips"] == 3  # only the missing batch ran
    for key in ("sections", "histograms", "by_size", "hdr", "trace_digest", "samples"):
        assert resumed[key] == full[key], key
    assert not (tmp_path / "resumed" / "campaign.partial.json").exists()  # a finished run leaves none
    assert main(["campaign", "--size", "496", "--samples", "9", "--batch", "3", "--no-progress", "--jobs", "1",
                 "--out", str(tmp_path / "other"), "--resume", str(partial)]) == 2
    assert "a different campaign (differs in batches, samples_per_size)" in capsys.readouterr().err


@pytest.mark.parametrize("args, message", [
    (["--size", "497"], "payload size 497"),
    (["--shard", "3/2"], "--shard"),
    (["--probes", "nowhere.toml"], "nowhere.toml"),
])
def test_bad_campaign_options_are_clear_errors(tmp_path, capsys, args, message):
    code = main(["campaign", "--samples", "1", "--no-progress", "--out", str(tmp_path), *args])
    assert code == 2
    assert message in capsys.readouterr().err


def test_background_load_runs_and_interrupts_reach_linux(tmp_path):
    """--load busy and --irq-load: a spinning task and UART receive interrupts during the round trips."""
    import re

    from bench.measure.probes import load_spec
    from bench.scenarios.campaign import Batch, BatchRunner, _inputs
    from bench.scenarios.load import LoadOptions

    options = CampaignOptions(load=LoadOptions(busy=True, irq_rate_hz=20_000), out=str(tmp_path))
    runner = BatchRunner(options, load_spec(options.probes), _inputs(options), tmp_path / "w")
    try:
        result = runner.run(Batch(index=0, size=64, count=10, seed=3))
        interrupts = runner.linux.agent.run("cat /proc/interrupts")
        pids = [p for p in runner.linux.agent.run("ls /proc").split() if p.isdigit()]
        commands = [runner.linux.agent.run(f"cat /proc/{pid}/cmdline").replace("\x00", " ") for pid in pids]
    finally:
        runner.close()
    assert result["messages"] == 10 and result["mismatches"] == 0
    assert sum(c for _, c in result["histograms"]["round_trip"]) == 10
    uart = re.search(r"(\d+)\s+nvic_irq\s+27\s+Edge\s+ttyS1", interrupts)
    assert uart is not None and int(uart.group(1)) > 0, interrupts  # bytes fed on USART3 were taken by Linux
    assert any("/init busy" in c for c in commands) and any("/init uart /dev/ttyS1" in c for c in commands)


def test_preemption_requested_in_the_interrupt_exit_path_makes_progress(tmp_path):
    """A busy task and UART interrupts: Linux's IRQ exit writes ICSR.PENDSVSET in a block that ends
    by unmasking interrupts. The engine once retried that store forever (its replay stopped before
    it for the block's end); now the batch completes."""
    from bench.measure.probes import load_spec
    from bench.scenarios.campaign import Batch, BatchRunner, _inputs
    from bench.scenarios.load import LoadOptions

    options = CampaignOptions(load=LoadOptions(busy=True, irq_rate_hz=3_000), out=str(tmp_path))
    runner = BatchRunner(options, load_spec(options.probes), _inputs(options), tmp_path / "w")
    try:
        result = runner.run(Batch(index=0, size=496, count=24, seed=1))
    finally:
        runner.close()
    assert result["messages"] == 24 and result["mismatches"] == 0
