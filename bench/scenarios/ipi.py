"""IPI ping-pong latency on the LPC4337: the M4 and the M0 interrupt each other N times.

The firmware (firmware/lpc4337/m4_ipi, m0_ipi) does the ping-pong; the engine
measures it (bench.measure.ipi_probe): for each direction, the cycles from the
sender's SEV to the first instruction of the receiver's ISR.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pexpect

from bench.console import ConsoleFailure
from bench.errors import GuestError
from bench.measure.ipi_probe import IpiProbe
from bench.measure.stats import summarize
from bench.session import Session, firmware

M4, M0, CONSOLE = "cpu_m4", "cpu_m0", "usart2"


@dataclass
class IpiOptions:
    platform: str
    rounds: int = 1000
    quantum: int = 100_000
    seed: int = 1
    load: int = 1
    fault: int = 0
    m4_image: str | None = None
    m0_image: str | None = None
    artifacts: str = "artifacts/ipi"
    timeout_s: float = 10.0  # emulated seconds before the run counts as hung


def run_ipi(options: IpiOptions) -> dict[str, Any]:
    """Run the ping-pong and return the result document (see `bench run ipi --help`)."""
    wall_start = time.perf_counter()
    with Session(options.platform, options.artifacts, options.quantum) as session:
        m4 = session.load(M4, options.m4_image or firmware("m4_ipi"))
        session.load(M0, options.m0_image or firmware("m0_ipi"))
        session.patch_params(m4, rounds=options.rounds, seed=options.seed, load=options.load, fault=options.fault)
        creg = session.built.peripherals["creg"]
        probe = IpiProbe(session.machine, creg.ipi_routes())  # type: ignore[attr-defined]
        console = session.console(CONSOLE, failures=("HARDFAULT",))
        session.power_on(M4)
        error = None
        verdict = ""
        try:
            index = console.expect([rb"IPI-TEST (PASS|FAIL[^\r\n]*)\r?\n"], timeout=options.timeout_s)
            verdict = console.match.group(1).decode() if index == 0 else ""  # type: ignore[union-attr]
        except pexpect.TIMEOUT:
            error = GuestError(f"hang: no IPI-TEST verdict on {CONSOLE} within {options.timeout_s} s of emulated "
                               f"time; {session.machine.describe_cores()}; console log: "
                               f"{session.artifacts / (CONSOLE + '.log')}")
        except (pexpect.EOF, ConsoleFailure) as exc:
            error = GuestError(f"{exc}; console log: {session.artifacts / (CONSOLE + '.log')}")
        except GuestError as exc:
            error = GuestError(f"{exc}; console log: {session.artifacts / (CONSOLE + '.log')}, "
                               f"trace: {session.artifacts / 'trace.jsonl'}")
        wall = time.perf_counter() - wall_start
        machine = session.machine
        instructions = sum(core.instructions for core in machine.cores)
        directions = {}
        for name, route in probe.by_name().items():
            summary = summarize(route.samples)
            directions[name] = {**summary.as_dict(), "ns": summary.in_ns(machine.frequency_hz)}
        result: dict[str, Any] = {
            "passed": error is None and verdict == "PASS" and all(
                d["count"] == options.rounds for d in directions.values()),
            "verdict": verdict,
            "rounds": options.rounds,
            "quantum": options.quantum,
            "seed": options.seed,
            "load": options.load,
            "directions": directions,
            "cycle": "one cycle of the 204 MHz core clock; each instruction costs 1 cycle, interrupt entry "
                     + ", ".join(f"{c.name} {c.config.irq_entry_cycles}" for c in machine.cores)
                     + " cycles; latency = cycles from the sender's SEV to the receiver's first ISR instruction",
            "frequency_hz": machine.frequency_hz,
            "emulated_cycles": {c.name: c.cycles for c in machine.cores},
            "instructions": instructions,
            "wall_s": round(wall, 3),
            "mips": round(instructions / wall / 1e6, 3) if wall > 0 else 0.0,
            "trace_digest": machine.trace.digest,
            "trace_events": machine.trace.count,
            "images": {core: {"path": str(img.path), "sha256": img.sha256} for core, img in session.images.items()},
        }
        if error is not None:
            result["error"] = str(error)
    result["artifacts"] = {"dir": str(Path(options.artifacts)), **session.close()}
    if error is not None:
        raise GuestError(str(error), result)
    return result
