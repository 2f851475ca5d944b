"""Run any firmware: load ELFs onto cores, boot one, watch a UART.

What a developer does at the desk with a board: flash the images, reset,
watch the console, wait for a line (or a failure string). Everything runs in
emulated time, so the same images give the same console and trace every time.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pexpect

from bench.console import ConsoleFailure
from bench.errors import BenchError, GuestError
from bench.session import Session


@dataclass
class FirmwareOptions:
    platform: str
    images: dict[str, str]          # core name -> ELF path
    boot: str | None = None         # the core released at power-on (default: the first CPU)
    uart: str | None = None         # the console (default: every UART, merged)
    expect: str | None = None       # regex that ends the run successfully
    failures: list[str] = field(default_factory=list)
    timeout_s: float = 1.0          # emulated seconds
    quantum: int = 100_000
    echo: bool = True               # stream the console to stdout as it arrives
    artifacts: str = "artifacts/firmware"


def parse_loads(items: list[str]) -> dict[str, str]:
    """`CORE=PATH` pairs from the command line."""
    images: dict[str, str] = {}
    for item in items:
        core, sep, path = item.partition("=")
        if not sep or not core or not path:
            raise BenchError(f"--load {item!r}: expected CORE=PATH, e.g. cpu_m4=firmware.elf")
        images[core] = path
    return images


def run_firmware(options: FirmwareOptions) -> dict[str, Any]:
    if not options.images:
        raise BenchError("nothing to run: give at least one --load CORE=PATH")
    wall_start = time.perf_counter()
    with Session(options.platform, options.artifacts, options.quantum) as session:
        for core, path in options.images.items():
            session.load(core, path)
        built = session.built
        boot = options.boot or next(iter(built.cores))
        if not built.uarts:
            raise BenchError(f"{options.platform}: the platform has no UART to watch")
        names = [options.uart] if options.uart else list(built.uarts)
        console = session.console(names, failures=tuple(options.failures))
        uart = console.name
        if options.echo:
            for name in names:
                built.uart(name).listeners.append(lambda data: (sys.stdout.buffer.write(data), sys.stdout.flush()))
        session.power_on(boot)
        outcome, error = "ran", None
        try:
            if options.expect is not None:
                console.expect(options.expect, timeout=options.timeout_s)
                outcome = "matched"
            elif session.machine.run_for(session.machine.cycles_for(options.timeout_s)) == "idle":
                outcome = "idle"  # every core asleep or halted with nothing pending: nothing more can happen
        except pexpect.TIMEOUT:
            error = GuestError(f"hang: {options.expect!r} did not appear on {uart} within {options.timeout_s} s of "
                               f"emulated time; {session.machine.describe_cores()}")
        except (pexpect.EOF, ConsoleFailure, GuestError) as exc:
            error = GuestError(str(exc))
        machine = session.machine
        wall = time.perf_counter() - wall_start
        result: dict[str, Any] = {
            "passed": error is None,
            "outcome": outcome if error is None else "failed",
            "boot": boot,
            "uart": uart,
            "emulated_cycles": {c.name: c.cycles for c in machine.cores},
            "emulated_s": machine.seconds(max(c.cycles for c in machine.cores)),
            "instructions": sum(c.instructions for c in machine.cores),
            "wall_s": round(wall, 3),
            "trace_digest": machine.trace.digest,
            "images": {core: {"path": str(img.path), "sha256": img.sha256} for core, img in session.images.items()},
        }
    result["artifacts"] = {"dir": str(Path(options.artifacts)), **session.close()}
    if error is not None:
        result["error"] = f"{error}; console log: {result['artifacts'].get('console', '')}"
        raise GuestError(result["error"], result)
    return result
