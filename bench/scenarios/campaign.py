"""Latency campaigns: many RPMsg round trips, the reference study's breakdown, exact and mergeable.

How a campaign is cut up, and why it merges exactly: the samples of each payload
size are split into fixed batches. Every batch starts from the same machine state
(Linux booted, the M0 running its firmware, the background load started: the
*base snapshot*) and runs its round trips with a payload seed of its own. A batch's
result therefore depends only on the campaign's inputs and its index, never on
which process, shard or machine ran it, nor in which order. `--jobs` spreads the
batches over processes (one per host core), `--shard k/N` runs the k-th slice for
a CI matrix job, and `bench merge` adds the slices' exact histograms back into the
very result of the unsplit campaign.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import queue
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.emu.snapshot import take
from bench.errors import BenchError, GuestError, read_json
from bench.measure.histogram import LatencyHistogram
from bench.measure.probes import ProbeRecorder, ProbeSpec, load_spec
from bench.measure.report import fold_batch, merge_documents, new_document, write_reports
from bench.scenarios.boot import linux_inputs
from bench.scenarios.load import LOAD_UART, LoadOptions, UartFeeder
from bench.scenarios.remoteproc import LinuxOptions, booted_linux, check_sizes
from bench.session import REPO_ROOT, firmware

DEFAULT_PROBES = REPO_ROOT / "probes" / "lpc4337-rpmsg-tty.toml"
DEFAULT_DEVICE = "/dev/ttyRPMSG0"
FIRST_SAMPLES_KEPT = 200  # chains of the campaign's first batch kept for the trace export
LOAD_SETTLE_S = 0.02  # emulated time for background tasks to start before the base snapshot


@dataclass
class CampaignOptions:
    platform: str = "platforms/lpc4337.repl"
    sizes: list[int] = field(default_factory=lambda: [496])
    samples: int = 20_000  # round trips per payload size
    batch: int = 1_000
    warmup: int = 1  # unmeasured round trips at the start of each batch (the tty's first use after the snapshot)
    seed: int = 1
    load: LoadOptions = field(default_factory=LoadOptions)
    shard: tuple[int, int] = (1, 1)
    jobs: int = 0  # 0: one per host core, at most 2
    probes: str = str(DEFAULT_PROBES)
    device: str = DEFAULT_DEVICE
    kernel: str | None = None
    dtb: str | None = None
    init: str | None = None
    m0_firmware: str | None = None
    quantum: int = 100_000
    out: str = "artifacts/campaign"
    progress: bool = True
    resume: str | None = None  # an interrupted run's document: its finished batches are kept


@dataclass(frozen=True)
class Batch:
    index: int  # position in the whole campaign
    size: int
    count: int
    seed: int  # the payload stream's seed, from the campaign seed, the size and the batch number


def _batch_seed(seed: int, size: int, number: int) -> int:
    digest = hashlib.sha256(f"amp-bench campaign {seed} {size} {number}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


def plan(options: CampaignOptions) -> list[Batch]:
    """Every batch of the whole campaign, in order: sizes in the given order, batches within."""
    batches = []
    for size in options.sizes:
        for number, start in enumerate(range(0, options.samples, options.batch)):
            count = min(options.batch, options.samples - start)
            batches.append(Batch(len(batches), size, count, _batch_seed(options.seed, size, number)))
    return batches


def shard_of(batches: list[Batch], shard: tuple[int, int]) -> list[Batch]:
    """The k-th of N contiguous slices (k from 1)."""
    k, n = shard
    return batches[(k - 1) * len(batches) // n: k * len(batches) // n]


def parse_shard(text: str) -> tuple[int, int]:
    found = re.fullmatch(r"(\d+)/(\d+)", text.strip())
    if not found or not 1 <= int(found.group(1)) <= int(found.group(2)):
        raise BenchError(f"--shard {text!r}: expected k/N with 1 <= k <= N (e.g. 1/2)")
    return int(found.group(1)), int(found.group(2))


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _inputs(options: CampaignOptions) -> dict[str, Path]:
    kernel, dtb, init = linux_inputs(options.kernel, options.dtb, options.init)
    m0 = Path(options.m0_firmware) if options.m0_firmware else firmware("m0_rpmsg")
    if not m0.exists():
        raise BenchError(f"{m0}: M0 firmware not found")
    platform = Path(options.platform)
    if not platform.exists():
        raise BenchError(f"{platform}: platform file not found")
    return {"platform": platform, "kernel": kernel, "dtb": dtb, "init": init, "m0-firmware": m0,
            "probes": Path(options.probes)}


def identity(options: CampaignOptions, inputs: dict[str, Path]) -> dict[str, Any]:
    """Everything a batch's result depends on: shards merge only when these agree."""
    return {
        "inputs": {name: _sha256(path) for name, path in inputs.items()},
        "sizes": list(options.sizes), "samples_per_size": options.samples, "batch": options.batch,
        "warmup": options.warmup, "seed": options.seed, "load": options.load.describe(), "device": options.device,
        "batches": len(plan(options)),
    }


# ------------------------------------------------------------------ running batches
class BatchRunner:
    """One booted machine at the base snapshot, running batches on request."""

    def __init__(self, options: CampaignOptions, spec: ProbeSpec, inputs: dict[str, Path], artifacts: Path) -> None:
        self.options = options
        self.spec = spec
        linux_options = LinuxOptions(options.platform, str(inputs["kernel"]), str(inputs["dtb"]),
                                     str(inputs["init"]), str(inputs["m0-firmware"]), options.quantum,
                                     str(artifacts))
        self._context = booted_linux(linux_options)
        self.linux = self._context.__enter__()
        try:
            self.machine = self.linux.session.machine
            self.linux.start_m0()
            commands = options.load.agent_commands()
            for command in commands:
                out = self.linux.agent.run(command)
                if "error" in out:
                    raise GuestError(f"starting the background load `{command}` failed: {out.strip()}")
            if commands:  # let the new tasks start (exec, open their tty) before the base snapshot
                self.machine.run_for(self.machine.cycles_for(LOAD_SETTLE_S))
            self.machine.trace.keep = False  # the digest still covers every event
            self.machine.trace.records.clear()
            self.recorder = ProbeRecorder(self.machine, spec, probe_images(self.linux, inputs))
            self.base = take(self.machine)
        except BaseException:
            self.close()
            raise

    def model(self) -> dict[str, Any]:
        """The timing model's parameters, as the report shows them."""
        cores = {core.name: {"model": core.config.model, "irq_entry_cycles": core.config.irq_entry_cycles,
                             "tail_chain_cycles": core.config.tail_chain_cycles}
                 for core in self.machine.cores}
        return {"clock_hz": self.machine.frequency_hz, "cores": cores,
                "cycle_cost": "one cycle per instruction, plus exception entry and tail-chaining cycles"}

    def run(self, batch: Batch) -> dict[str, Any]:
        wall = time.perf_counter()
        machine = self.machine
        self.linux.restore(self.base)
        start_cycle = machine.now()
        instructions = sum(core.instructions for core in machine.cores)
        feeder = None
        if self.options.load.irq_rate_hz:
            feeder = UartFeeder(machine, self.linux.session.built.uart(LOAD_UART), self.options.load.irq_rate_hz,
                                batch.seed)
        try:
            round_trips = round_trips_measured(self.linux, self.recorder, self.options.device, batch.size,
                                               batch.count, batch.seed, self.options.warmup)
        except GuestError as exc:
            raise GuestError(f"batch {batch.index}: {exc}") from None
        finally:
            if feeder is not None:
                feeder.stop()
        chains, messages, mismatches, splits = round_trips
        histograms, worst = {}, {}
        by_section = section_values(self.spec, chains)
        for section in self.spec.sections:
            values = by_section[section.name]
            histogram = LatencyHistogram()
            histogram.extend(values)
            histograms[section.name] = histogram.to_json()
            top = max(range(len(values)), key=lambda i: (values[i], -i))
            worst[section.name] = {"value": values[top], "batch": batch.index, "sample": top,
                                   "chain": list(chains[top])}
        return {
            "index": batch.index, "size": batch.size, "count": batch.count, "seed": batch.seed,
            "messages": messages, "mismatches": mismatches, "splits": splits,
            "histograms": histograms, "worst": worst, "first_chains": [list(c) for c in chains[:FIRST_SAMPLES_KEPT]],
            "digest": machine.trace.digest,
            "instructions": sum(core.instructions for core in machine.cores) - instructions,
            "emulated_cycles": machine.now() - start_cycle,
            "wall_s": time.perf_counter() - wall,
        }

    def close(self) -> None:
        self._context.__exit__(None, None, None)


def probe_images(linux: Any, inputs: dict[str, Path]) -> dict[str, Path | tuple[Path, int]]:
    """The ELF images probe points may name: the kernel, the M0 firmware, and the init where it runs."""
    images: dict[str, Path | tuple[Path, int]] = {"kernel": inputs["kernel"], "m0-firmware": inputs["m0-firmware"]}
    if linux.init is not None and linux.init_offset is not None:
        images["init"] = (linux.init, linux.init_offset)
    return images


def round_trips_measured(linux: Any, recorder: ProbeRecorder, device: str, size: int, count: int, seed: int,
                         warmup: int = 1) -> tuple[list[tuple[int, ...]], int, int, int]:
    """Run `count` measured round trips (after `warmup` unmeasured ones) on a booted machine whose
    M0 runs the echo firmware; returns the probe chains and the agent's messages, mismatches, splits."""
    recorder.clear()
    total = count + warmup
    messages, mismatches, splits = linux.rpmsg_lat(device, size, total, seed)
    chains = recorder.samples()
    if len(chains) != total:
        raise GuestError(f"the probe chain matched {len(chains)} samples for {total} round trips; check the "
                         f"probe file {recorder.spec.path}")
    return chains[warmup:], messages - warmup, mismatches, splits


def section_values(spec: ProbeSpec, chains: list[tuple[int, ...]]) -> dict[str, list[int]]:
    """Each section's latency in cycles, per sample."""
    index = {name: i for i, name in enumerate(spec.chain)}
    return {s.name: [chain[index[s.end]] - chain[index[s.start]] for chain in chains] for s in spec.sections}


def _worker(options: CampaignOptions, batches: list[Batch], worker: int, results: Any) -> None:
    """A process of its own: boot once, run the given batches, report each result."""
    try:
        spec = load_spec(options.probes)
        inputs = _inputs(options)
        runner = BatchRunner(options, spec, inputs, Path(options.out) / f"worker-{worker}")
        try:
            results.put(("model", worker, runner.model()))
            for batch in batches:
                results.put(("batch", worker, runner.run(batch)))
        finally:
            runner.close()
        results.put(("done", worker, None))
    except KeyboardInterrupt:
        results.put(("error", worker, ("interrupted", 130)))
    except BenchError as exc:
        results.put(("error", worker, (str(exc), exc.exit_code)))
    except Exception as exc:
        results.put(("error", worker, (f"internal error in worker {worker}: {type(exc).__name__}: {exc}", 70)))


def _error(message: str, code: int) -> BenchError:
    """A worker's failure, raised in the parent with the worker's exit code."""
    error = GuestError(message) if code == GuestError.exit_code else BenchError(message)
    error.exit_code = code
    return error


def _run_in_processes(options: CampaignOptions, batches: list[Batch], jobs: int,
                      on_result: Callable[[str, Any], None]) -> None:
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    shares = [batches[j::jobs] for j in range(jobs)]
    workers = [context.Process(target=_worker, args=(options, share, j, results), daemon=True)
               for j, share in enumerate(shares)]
    for process in workers:
        process.start()
    running = set(range(jobs))
    try:
        while running:
            try:
                kind, worker, payload = results.get(timeout=1.0)
            except queue.Empty:
                for j in list(running):
                    if not workers[j].is_alive() and workers[j].exitcode not in (0, None):
                        raise _error(f"campaign worker {j} died (exit code {workers[j].exitcode}); "
                                     f"logs in {Path(options.out) / f'worker-{j}'}", 70) from None
                continue
            if kind == "done":
                running.discard(worker)
            elif kind == "error":
                message, code = payload
                if code == 130:
                    raise KeyboardInterrupt
                raise _error(message, code)
            else:
                on_result(kind, payload)
    finally:
        for process in workers:
            if process.is_alive():
                process.terminate()
            process.join(timeout=5)


def _run_here(options: CampaignOptions, spec: ProbeSpec, inputs: dict[str, Path], batches: list[Batch],
              on_result: Callable[[str, Any], None]) -> None:
    runner = BatchRunner(options, spec, inputs, Path(options.out) / "worker-0")
    try:
        on_result("model", runner.model())
        for batch in batches:
            on_result("batch", runner.run(batch))
    finally:
        runner.close()


@contextmanager
def _progress(enabled: bool, total: int, description: str) -> Iterator[Callable[[int], None]]:
    if not enabled:
        yield lambda advance: None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("round trips"),
               TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns, transient=False) as progress:
        task = progress.add_task(description, total=total)
        yield lambda advance: progress.advance(task, advance)


def run_campaign(options: CampaignOptions) -> dict[str, Any]:
    """Run this shard's batches (all of them without --shard); returns the campaign document."""
    check_sizes(options.sizes)
    if options.batch < 1 or options.samples < 1:
        raise BenchError("--samples and --batch must be at least 1")
    spec = load_spec(options.probes)
    inputs = _inputs(options)
    batches = shard_of(plan(options), options.shard)
    out = Path(options.out)
    out.mkdir(parents=True, exist_ok=True)
    document = new_document(identity(options, inputs), spec, f"{options.shard[0]}/{options.shard[1]}")
    expected = [batch.index for batch in batches]
    if options.resume:
        done = resume_from(document, Path(options.resume), set(expected))
        batches = [batch for batch in batches if batch.index not in done]
    jobs = options.jobs or min(2, os.cpu_count() or 1)
    jobs = max(1, min(jobs, len(batches)))
    checkpoint = out / PARTIAL_NAME
    last_checkpoint = time.monotonic()
    results: list[dict[str, Any]] = []
    total = sum(batch.count for batch in batches)
    wall = time.perf_counter()
    error: BaseException | None = None
    with _progress(options.progress, total,
                                   f"campaign {options.shard[0]}/{options.shard[1]}, {jobs} job(s)") as advance:
        def on_result(kind: str, payload: Any) -> None:
            nonlocal last_checkpoint
            if kind == "model":
                document["model"] = payload
            else:
                results.append(payload)
                fold_batch(document, payload)
                if time.monotonic() - last_checkpoint >= CHECKPOINT_EVERY_S:
                    write_checkpoint(document, checkpoint)
                    last_checkpoint = time.monotonic()
                advance(payload["count"])
        try:
            if jobs == 1:
                _run_here(options, spec, inputs, batches, on_result)
            else:
                _run_in_processes(options, batches, jobs, on_result)
        except (BenchError, KeyboardInterrupt) as exc:
            error = exc
            write_checkpoint(document, checkpoint)  # every batch that finished
    wall_s = time.perf_counter() - wall
    document["throughput"] = {"jobs": jobs, "wall_s": round(wall_s, 3),
                              "round_trips": sum(r["count"] for r in results),
                              "round_trips_per_s": round(sum(r["count"] for r in results) / wall_s, 1)}
    document["run_options"] = {"jobs": jobs, "quantum": options.quantum, "out": str(out),
                               "load": asdict(options.load)}
    if error is not None:
        document["error"] = str(error) or type(error).__name__
        document["resume"] = f"bench campaign ... --resume {checkpoint}"
    write_reports(document, spec, out, expected_batches=expected)
    if error is None:
        checkpoint.unlink(missing_ok=True)
    if isinstance(error, BenchError):
        error.result = document
        raise error
    if error is not None:
        raise error
    return document


PARTIAL_NAME = "campaign.partial.json"
# Host seconds between checkpoints while a campaign runs. Each rewrites the whole document,
# which grows with every batch: after every batch, 4,000 batches wrote 2 GB and took the
# workers' CPU (~40 s of JSON encoding).
CHECKPOINT_EVERY_S = 5.0


def write_checkpoint(document: dict[str, Any], path: Path) -> None:
    """The document as it stands, replaced atomically: an interrupted run loses at most the
    batches in flight (a killed one, the last CHECKPOINT_EVERY_S seconds' worth), and
    `--resume` continues from here."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(document, sort_keys=True))
    os.replace(tmp, path)


def resume_from(document: dict[str, Any], path: Path, expected: set[int]) -> set[int]:
    """Fold an interrupted run's finished batches into `document`; returns their indices."""
    prior = read_json(path, "campaign document")
    if prior.get("kind") != document["kind"]:
        raise BenchError(f"{path}: not a campaign document (written by `bench campaign`)")
    if prior.get("identity") != document["identity"]:
        differing = sorted(k for k in document["identity"]
                           if prior.get("identity", {}).get(k) != document["identity"][k])
        raise BenchError(f"{path}: a different campaign (differs in {', '.join(differing)}); resume with the "
                         "same inputs and options")
    done = {int(index) for index in prior["batch_records"]}
    if not done <= expected:
        raise BenchError(f"{path}: holds batches outside this run's --shard; resume with the same --shard")
    for key in ("batch_records", "histograms", "worst", "first"):
        document[key] = prior[key]
    document["model"] = prior.get("model")
    return done


def merge_files(paths: list[str], out: str) -> dict[str, Any]:
    """`bench merge`: read shard documents, add them exactly, write the reports of the whole."""
    documents = [(path, read_json(Path(path), "campaign document")) for path in paths]
    merged = merge_documents(documents)
    spec_file = probe_file_of(merged)
    spec = load_spec(spec_file)
    if _sha256(spec_file) != merged["identity"]["inputs"]["probes"]:
        raise BenchError(f"{spec_file}: the probe file changed since the shards ran; sections could differ")
    write_reports(merged, spec, Path(out), expected_batches=list(range(merged["identity"]["batches"])))
    return merged


def probe_file_of(document: dict[str, Any]) -> Path:
    """The probe file a campaign document was measured with, found again on this machine (shards
    may come from CI jobs with other paths): as recorded, else by name in the bench's probes/."""
    recorded = Path(document["probes"]["file"])
    for candidate in (recorded, REPO_ROOT / "probes" / recorded.name):
        if candidate.exists():
            return candidate
    raise BenchError(f"{recorded}: the campaign's probe file is not on this machine (nor in {REPO_ROOT / 'probes'})")

