"""The `bench` command line.

Exit codes: 0 passed; 1 the scenario ran and failed its checks; 2 bad input
(platform file, image, options); 3 the guest faulted, hung or locked up;
70 an internal error of the bench (details saved to a file);
130 interrupted. Errors are one clear message, never a traceback; with
--json the result document is written in every case.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.errors import BenchError


def _positive(text: str) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


# CLI fields that are not scenario options
_NOT_OPTIONS = ("command", "scenario", "json_path", "junit_path", "argv", "gdb")


def _outputs(parser: argparse.ArgumentParser) -> None:
    """--json and --junit: every run writes them, whether it passes or fails."""
    parser.add_argument("--json", dest="json_path", help="write the result document here")
    parser.add_argument("--junit", dest="junit_path", metavar="FILE",
                        help="write a JUnit XML report here (console output attached to a failure)")


def _debug(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--gdb", metavar="CORE:PORT",
                        help="serve a GDB remote stub for CORE on 127.0.0.1:PORT during the run, and at the failing "
                             "moment if it fails (gdb-multiarch: target remote 127.0.0.1:PORT)")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bench", description="amp-bench: emulated AMP test bench")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run a scenario")
    scenarios = run.add_subparsers(dest="scenario", required=True)

    ipi = scenarios.add_parser("ipi", help="IPI ping-pong latency between the M4 and the M0",
                               description="Both cores interrupt each other --rounds times; the engine measures "
                                           "SEV-to-ISR latency per direction in cycles.")
    ipi.add_argument("--platform", default="platforms/lpc4337.repl", help="platform description (.repl)")
    ipi.add_argument("--rounds", type=_positive, default=1000)
    ipi.add_argument("--quantum", type=_positive, default=100_000,
                     help="cycles a lone core runs between scheduler decisions (results do not depend on it)")
    ipi.add_argument("--seed", type=int, default=1, help="seed of the firmware's pseudo-random load")
    ipi.add_argument("--load", type=int, choices=(0, 1), default=1,
                     help="1: both cores busy with critical sections (latency varies); 0: receivers wait in WFI")
    ipi.add_argument("--fault", type=int, default=0, help=argparse.SUPPRESS)
    ipi.add_argument("--m4", dest="m4_image", help="M4 firmware ELF (default: the built m4_ipi)")
    ipi.add_argument("--m0", dest="m0_image", help="M0 firmware ELF (default: the built m0_ipi)")
    ipi.add_argument("--timeout", dest="timeout_s", type=float, default=10.0,
                     help="emulated seconds before the run counts as hung")
    ipi.add_argument("--artifacts", default="artifacts/ipi", help="directory for console logs and the trace")
    _outputs(ipi)
    _debug(ipi)

    fw = scenarios.add_parser("firmware", help="load ELFs onto cores, boot, watch a UART",
                              description="Flash images by their physical addresses, release the boot core, "
                                          "stream the console, and wait (in emulated time) for --expect.")
    fw.add_argument("--platform", default="platforms/lpc4337.repl")
    fw.add_argument("--load", action="append", default=[], metavar="CORE=ELF", help="image for a core (repeatable)")
    fw.add_argument("--boot", help="core released at power-on (default: the first CPU of the platform)")
    fw.add_argument("--uart", help="UART to watch (default: the first one of the platform)")
    fw.add_argument("--expect", help="regex that ends the run successfully")
    fw.add_argument("--fail", dest="failures", action="append", default=[],
                    help="string that ends the run as a failure (repeatable)")
    fw.add_argument("--timeout", dest="timeout_s", type=float, default=1.0, help="emulated seconds")
    fw.add_argument("--quantum", type=_positive, default=100_000)
    fw.add_argument("--quiet", dest="echo", action="store_false", help="do not stream the console")
    fw.add_argument("--artifacts", default="artifacts/firmware")
    _outputs(fw)
    _debug(fw)

    boot = scenarios.add_parser("boot", help="boot mainline Linux on the M4 to user space",
                                description="Load vmlinux and the device tree, hand over per the ARM boot "
                                            "protocol, and wait for the kernel to start init.")
    boot.add_argument("--platform", default="platforms/lpc4337.repl")
    boot.add_argument("--kernel", help="vmlinux (default: the cached build linked at build/linux)")
    boot.add_argument("--dtb", help="device tree blob (default: build/linux/lpc4337-ciaa-bench.dtb)")
    boot.add_argument("--init", help="init ELF for the initramfs (default: build/linux-init/init.elf)")
    boot.add_argument("--expect", default="amp-bench# ", help="regex marking a finished boot (default: the prompt)")
    boot.add_argument("--timeout", dest="timeout_s", type=float, default=5.0, help="emulated seconds")
    boot.add_argument("--quantum", type=_positive, default=100_000)
    boot.add_argument("--artifacts", default="artifacts/boot")
    _outputs(boot)
    _debug(boot)

    def linux_inputs(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--platform", default="platforms/lpc4337.repl")
        parser.add_argument("--kernel", help="vmlinux (default: build/linux/vmlinux)")
        parser.add_argument("--dtb", help="device tree blob (default: build/linux/lpc4337-ciaa-bench.dtb)")
        parser.add_argument("--init", help="init ELF (default: build/linux-init/init.elf)")
        parser.add_argument("--m0-firmware", help="M0 firmware ELF with a resource table (default: m0_rpmsg)")
        parser.add_argument("--quantum", type=_positive, default=100_000)

    def linux_options(parser: argparse.ArgumentParser, artifacts: str) -> None:
        linux_inputs(parser)
        parser.add_argument("--artifacts", default=artifacts)
        _outputs(parser)
        _debug(parser)

    life = scenarios.add_parser("rproc-lifecycle", help="start/stop the M0 through Linux remoteproc, then a crash",
                                description="Cycle the M0 offline -> running -> offline through sysfs, then crash "
                                            "its firmware and check that Linux recovers it.")
    life.add_argument("--cycles", type=_positive, default=20)
    life.add_argument("--no-recovery", dest="recovery", action="store_false", help="skip the crash/recovery case")
    linux_options(life, "artifacts/rproc-lifecycle")

    echo = scenarios.add_parser("rpmsg-echo", help="RPMsg echo through /dev/rpmsg0, checked byte for byte",
                                description="Send COUNT messages of each size to the M0, which echoes them.")
    echo.add_argument("--sizes", default="1,17,64,255,496", help="comma-separated payload sizes (1..496)")
    echo.add_argument("--count", type=_positive, default=200)
    echo.add_argument("--two-endpoints", action="store_true",
                      help="also echo through /dev/ttyRPMSG0, both endpoints in flight at once")
    linux_options(echo, "artifacts/rpmsg-echo")

    camp = commands.add_parser(
        "campaign", help="latency campaign: RPMsg round trips, the reference study's breakdown",
        description="Run round trips of the given payload sizes between Linux on the M4 and the M0 echo "
                    "firmware; the probes (engine events and ELF symbols) split each into sections. Exact "
                    "histograms per section and size; JSON, CSV, HTML/PNG, the study's table and a Chrome trace "
                    "in --out. Batches start from one base snapshot, so --jobs and --shard never change results.")
    linux_inputs(camp)
    camp.add_argument("--size", dest="sizes", action="append", default=[],
                      help="payload size in bytes, 1..496 (repeatable or comma-separated; default 496)")
    camp.add_argument("--samples", type=_positive, default=20_000, help="round trips per payload size")
    camp.add_argument("--batch", type=_positive, default=1_000,
                      help="round trips per batch (part of the campaign's identity: shards must agree)")
    camp.add_argument("--warmup", type=int, default=1,
                      help="unmeasured round trips at the start of each batch (default 1: the first use of the "
                           "device after the base snapshot allocates its buffers)")
    camp.add_argument("--seed", type=int, default=1, help="seed of the payloads and of the interrupt-load jitter")
    camp.add_argument("--load", choices=("none", "busy"), default="none",
                      help="busy: a CPU-bound user task runs on Linux throughout")
    camp.add_argument("--irq-load", dest="irq_rate_hz", type=int, default=0, metavar="HZ",
                      help="UART receive interrupts on Linux at this mean rate (emulated time), read by a task")
    camp.add_argument("--shard", default="1/1", metavar="K/N", help="run only the K-th of N slices (CI matrix)")
    camp.add_argument("--resume", metavar="JSON",
                      help="continue an interrupted run of the same campaign: its finished batches are kept and "
                           "not run again (OUT/campaign.partial.json is written after every batch)")
    camp.add_argument("--jobs", type=int, default=0, help="processes (default: one per host core, at most 2)")
    camp.add_argument("--probes", default=None, help="probe file (default: probes/lpc4337-rpmsg-tty.toml)")
    camp.add_argument("--device", default="/dev/ttyRPMSG0",
                      help="the Linux device the round trips go through (an RPMsg tty or endpoint device)")
    camp.add_argument("--out", default="artifacts/campaign", help="directory for the reports")
    camp.add_argument("--no-progress", dest="progress", action="store_false")
    _outputs(camp)

    merge = commands.add_parser("merge", help="merge campaign shards exactly into one report",
                                description="Add the exact histograms of shards of one campaign (same inputs "
                                            "and options) and write the reports of the whole.")
    merge.add_argument("documents", nargs="+", help="campaign JSON files (from --json or OUT/campaign.json)")
    merge.add_argument("--out", default="artifacts/campaign-merged")
    _outputs(merge)

    repro = commands.add_parser("repro", help="pack a failed run into a bundle that replays it bit for bit",
                                description="From a failed run's --json document: its command, every input file "
                                            "(with SHA-256), the console inputs with their emulated timestamps, "
                                            "the failure and the trace digest.")
    repro.add_argument("result", help="the failed run's result document (--json)")
    repro.add_argument("--out", default="repro.tar.gz", help="bundle to write (default repro.tar.gz)")

    replay = commands.add_parser("replay", help="replay a repro bundle: the same failure and trace digest",
                                 description="Run the bundled command on the bundled files and check that the "
                                             "same failure happens with the same trace digest.")
    replay.add_argument("bundle")
    replay.add_argument("--out", default="artifacts/replay", help="where the replay unpacks and writes")

    perf = commands.add_parser("perf", help="throughput benchmark: the engine next to bare Unicorn")
    perf.add_argument("--platform", default="platforms/lpc4337.repl")
    perf.add_argument("--rounds", type=_positive, default=300,
                      help="compute kernel iterations (~43k instructions each)")
    perf.add_argument("--repeat", type=_positive, default=3, help="runs of each, best kept")
    perf.add_argument("--linux", action="store_true",
                      help="also time the Linux scenarios: boot, remoteproc cycles, RPMsg round trips")
    perf.add_argument("--campaign", type=_positive, metavar="N",
                      help="also time a latency campaign of N round trips with 1 and 2 processes")
    perf.add_argument("--json", dest="json_path", help="write the figures here")
    return parser


def _write_json(path: str | None, document: dict[str, Any]) -> None:
    if path:
        Path(path).write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")


def _print_ipi(result: dict[str, Any]) -> None:
    print(f"IPI ping-pong: {result['rounds']} rounds, quantum {result['quantum']}, load {result['load']}, "
          f"seed {result['seed']}  ->  {'PASSED' if result['passed'] else 'FAILED'}")
    print(f"  cycle = {result['cycle']}")
    header = f"  {'direction':<10} {'count':>7} {'min':>6} {'max':>6} {'mean':>9} {'std':>8} {'p99.9':>6}"
    print(header + "   (cycles)")
    for name, d in result["directions"].items():
        print(f"  {name:<10} {d['count']:>7} {d['min']:>6} {d['max']:>6} {d['mean']:>9.2f} {d['std']:>8.2f} "
              f"{d['p999']:>6}")
    for name, d in result["directions"].items():
        ns = d["ns"]
        print(f"  {name:<10} ns: min {ns['min']:.1f}  max {ns['max']:.1f}  mean {ns['mean']:.1f}  "
              f"p99.9 {ns['p999']:.1f}")
    print(f"  {result['instructions']} instructions in {result['wall_s']} s wall = {result['mips']} MIPS; "
          f"trace {result['trace_events']} events, digest {result['trace_digest'][:16]}")
    print(f"  artifacts: {result['artifacts']['dir']}")


def _replay(bundle: Path, out: Path) -> int:
    from bench.repro import compare, open_bundle, replay_command

    if out.exists():
        import shutil

        shutil.rmtree(out)
    out.mkdir(parents=True)
    manifest = open_bundle(bundle, out)
    argv = replay_command(manifest, out / "bundle", out)
    print(f"replaying: bench {' '.join(argv)}", file=sys.stderr)
    code = main(argv)
    result = json.loads((out / "result.json").read_text())
    print(f"replay: trace digest {result.get('trace_digest')}")
    differences = compare(manifest, result)
    if differences:
        print("replay: NOT reproduced: " + "; ".join(differences))
        return 1
    print(f"replay: reproduced bit for bit: the same failure ({manifest['expected']['failure']}) and trace digest")
    return code


def _campaign_options(args: argparse.Namespace) -> Any:
    from bench.scenarios.campaign import DEFAULT_PROBES, CampaignOptions, parse_shard
    from bench.scenarios.load import LoadOptions

    try:
        sizes = [int(size, 0) for text in (args.sizes or ["496"]) for size in text.split(",") if size]
    except ValueError:
        raise BenchError(f"--size {args.sizes!r}: expected integers") from None
    if args.irq_rate_hz < 0:
        raise BenchError("--irq-load must be 0 (off) or a positive rate in Hz")
    return CampaignOptions(
        platform=args.platform, sizes=sizes, samples=args.samples, batch=args.batch, warmup=max(0, args.warmup),
        seed=args.seed,
        load=LoadOptions(busy=args.load == "busy", irq_rate_hz=args.irq_rate_hz), shard=parse_shard(args.shard),
        jobs=max(0, args.jobs), probes=args.probes or str(DEFAULT_PROBES), device=args.device, kernel=args.kernel,
        dtb=args.dtb, init=args.init, m0_firmware=args.m0_firmware, quantum=args.quantum, out=args.out,
        progress=args.progress, resume=args.resume)


def _print_campaign(result: dict[str, Any]) -> None:
    from bench.measure.probes import load_spec
    from bench.measure.report import paper_table
    from bench.scenarios.campaign import probe_file_of

    spec = load_spec(probe_file_of(result))
    print(f"campaign {result['shard']}: {result['samples']} round trips, {result['mismatches']} mismatches, "
          f"trace digest {result['trace_digest'][:16]}  ->  {'PASSED' if result['passed'] else 'FAILED'}")
    for size in result["by_size"]:
        print()
        print(paper_table(result, spec, size))
    print(f"\n  {'section':<26} {'count':>8} {'min':>7} {'max':>7} {'mean':>10} {'std':>9} {'p99.9':>7}   (cycles)")
    for entry in result["sections"].values():
        print(f"  {entry['label']:<26} {entry['count']:>8} {entry['min']:>7} {entry['max']:>7} {entry['mean']:>10.2f} "
              f"{entry['std']:>9.2f} {entry['p999']:>7}")
    throughput = result.get("throughput")
    if throughput:
        print(f"\n  {throughput['round_trips']} round trips in {throughput['wall_s']} s wall with "
              f"{throughput['jobs']} job(s): {throughput['round_trips_per_s']} round trips/s")
    print(f"  reports: {result['reports'].get('html', result['reports']['json'])}")


def _run(args: argparse.Namespace, scenario: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run a scenario; its result document is written as --json (and --junit) whether it passes or fails."""
    from bench import gdbstub

    name = " ".join(part for part in (args.command, getattr(args, "scenario", None)) if part)
    if getattr(args, "gdb", None):
        gdbstub.request(*gdbstub.parse_gdb_option(args.gdb))
    try:
        result = scenario()
    except BenchError as exc:
        document = exc.result or {"passed": False, "error": str(exc)}
        document.setdefault("error", str(exc))
        document["command"] = args.argv
        _write_json(args.json_path, document)
        _write_junit(getattr(args, "junit_path", None), name, document)
        gdbstub.serve_failure(str(exc).split(";")[0])
        raise
    finally:
        gdbstub.close_all()
    result["command"] = args.argv
    _write_json(args.json_path, result)
    _write_junit(getattr(args, "junit_path", None), name, result)
    return result


def _write_junit(path: str | None, name: str, result: dict[str, Any]) -> None:
    if path:
        from bench.integrations.junit import write_junit

        write_junit(Path(path), name, result)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(argv)
    args.argv = argv  # recorded in result documents: what `bench repro` replays
    try:
        if args.command == "run" and args.scenario == "ipi":
            from bench.scenarios.ipi import IpiOptions, run_ipi

            fields = {k: v for k, v in vars(args).items() if k not in _NOT_OPTIONS}
            result = _run(args, lambda: run_ipi(IpiOptions(**fields)))
            _print_ipi(result)
            return 0 if result["passed"] else 1
        if args.command == "run" and args.scenario == "firmware":
            from bench.scenarios.firmware import FirmwareOptions, parse_loads, run_firmware

            fields = {k: v for k, v in vars(args).items() if k not in (*_NOT_OPTIONS, "load")}
            result = _run(args, lambda: run_firmware(FirmwareOptions(images=parse_loads(args.load),
                                                                               **fields)))
            print(f"\nbench: {result['outcome']} after {result['emulated_s']:.6f} s emulated "
                  f"({result['wall_s']} s wall); artifacts in {result['artifacts']['dir']}", file=sys.stderr)
            return 0
        if args.command == "run" and args.scenario == "boot":
            from bench.scenarios.boot import BootOptions, run_boot

            fields = {k: v for k, v in vars(args).items() if k not in _NOT_OPTIONS}
            result = _run(args, lambda: run_boot(BootOptions(**fields)))
            print(f"boot: {result['boot_instructions']} instructions, {result['boot_emulated_s']:.3f} s emulated, "
                  f"{result['boot_wall_s']} s wall ({result['mips']} MIPS); console: {result['console_log']}")
            return 0
        if args.command == "run" and args.scenario in ("rproc-lifecycle", "rpmsg-echo"):
            from bench.scenarios.remoteproc import LinuxOptions, run_echo, run_lifecycle

            options = LinuxOptions(platform=args.platform, kernel=args.kernel, dtb=args.dtb, init=args.init,
                                   m0_firmware=args.m0_firmware, quantum=args.quantum, artifacts=args.artifacts)
            if args.scenario == "rproc-lifecycle":
                result = _run(args, lambda: run_lifecycle(options, args.cycles, args.recovery))
            else:
                try:
                    sizes = [int(size, 0) for size in args.sizes.split(",") if size]
                except ValueError:
                    raise BenchError(f"--sizes {args.sizes!r}: expected comma-separated integers") from None
                result = _run(args, lambda: run_echo(options, sizes, args.count, args.two_endpoints))
            summary = {k: result[k] for k in ("cycles", "failures", "recovered", "messages", "mismatches")
                       if k in result}
            print(f"{args.scenario}: {'PASSED' if result['passed'] else 'FAILED'} {summary} "
                  f"({result['wall_s']} s wall); console: {result['console_log']}")
            return 0 if result["passed"] else 1
        if args.command == "campaign":
            from bench.scenarios.campaign import run_campaign

            result = _run(args, lambda: run_campaign(_campaign_options(args)))
            _print_campaign(result)
            return 0 if result["passed"] else 1
        if args.command == "merge":
            from bench.scenarios.campaign import merge_files

            result = _run(args, lambda: merge_files(args.documents, args.out))
            _print_campaign(result)
            return 0 if result["passed"] else 1
        if args.command == "repro":
            from bench.repro import write_bundle

            manifest = write_bundle(Path(args.result), Path(args.out))
            print(f"repro bundle {args.out}: `bench {' '.join(manifest['command'])}`, {len(manifest['files'])} "
                  f"files, {manifest['console_inputs']} console inputs; expected failure: "
                  f"{manifest['expected']['failure']}")
            return 0
        if args.command == "replay":
            return _replay(Path(args.bundle), Path(args.out))
        if args.command == "perf":
            from bench.measure.perf import run_perf

            document = run_perf(args.platform, args.rounds, args.repeat)
            if args.linux:
                from bench.measure.linux_perf import run_linux_perf

                document["linux"] = run_linux_perf(args.platform)
            if args.campaign:
                from bench.measure.campaign_perf import run_campaign_perf

                document["campaign"] = run_campaign_perf(args.platform, args.campaign)
            _write_json(args.json_path, document)
            return 0
    except BenchError as exc:
        print(f"bench: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("bench: interrupted; artifacts written", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader of our output went away (`| head`): not an error of the run
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # a bug in the bench itself: keep the details, show one line
        report = Path(tempfile.gettempdir()) / f"amp-bench-crash-{os.getpid()}.txt"
        report.write_text(traceback.format_exc())
        print(f"bench: internal error ({type(exc).__name__}: {exc}); details in {report}; "
              "please report it with that file", file=sys.stderr)
        return 70
    return 2


if __name__ == "__main__":
    sys.exit(main())
