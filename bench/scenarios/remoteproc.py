"""remoteproc and RPMsg on the emulated LPC4337: Linux on the M4 drives the M0.

Every step goes through the real kernel interfaces, driven by the bench's agent
over the console: sysfs `state`/`firmware` for the lifecycle, `/dev/rpmsgN`
(rpmsg_char) for messages. The kernel's own messages (remoteproc, virtio_rpmsg_bus)
are what the checks wait for.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pexpect

from bench.console import ConsoleFailure
from bench.emu.elf import read_elf
from bench.errors import BenchError, GuestError
from bench.linux.agent import Agent
from bench.linux.loader import boot_linux
from bench.scenarios.boot import KERNEL_FAILURES, PROMPT, linux_inputs
from bench.session import Session, firmware

M4, CONSOLE = "cpu_m4", "usart2"
RPROC = "/sys/class/remoteproc/remoteproc0"
M0_FIRMWARE_NAME = "lpc4337-m0.elf"  # the device tree's firmware-name
SWAP_FIRMWARE_NAME = "lpc4337-m0-swap.elf"  # a second name, to exercise a firmware swap through sysfs
LAT_LINE = re.compile(r"rpmsg-lat: messages (\d+) mismatches (\d+) splits (\d+)")


@dataclass
class LinuxOptions:
    platform: str
    kernel: str | None = None
    dtb: str | None = None
    init: str | None = None
    m0_firmware: str | None = None
    quantum: int = 100_000
    artifacts: str = "artifacts/linux"


@dataclass
class Linux:
    """A booted machine and the agent that drives it."""

    session: Session
    agent: Agent
    init: Path | None = None
    init_offset: int | None = None  # where the kernel loaded the init, minus its link address

    def start_m0(self) -> str:
        """Start the M0 and wait for its RPMsg channels; returns the console text seen."""
        seen = self.agent.write(f"{RPROC}/state", "start")
        seen += self.expect_line(r"remote processor \S+ is now up", seen)
        seen += self.expect_line(r"creating channel rpmsg-raw addr 0x400", seen)
        return seen

    def stop_m0(self) -> str:
        seen = self.agent.write(f"{RPROC}/state", "stop")
        return seen + self.expect_line(r"stopped remote processor \S+", seen)

    def expect_line(self, pattern: str, seen: str, timeout: float = 0.5) -> str:
        """A kernel line may already be in what the last command printed, or still to come."""
        if re.search(pattern, seen):
            return ""
        self.agent.wait_for(pattern, timeout=timeout)
        return self.agent.console.match.group(0).decode(errors="replace")  # type: ignore[union-attr]

    def state(self) -> str:
        return self.agent.read(f"{RPROC}/state").split("\n")[-1].strip()

    def crash_m0_and_wait_for_recovery(self) -> str:
        """Make the M0 firmware fault (payload "M0CRASH!") and wait until Linux has restarted it."""
        seen = self.agent.write("/dev/ttyRPMSG0", "M0CRASH!")  # one message, as the tty writes it
        seen += self.expect_line(r"crash detected in \S+", seen)
        seen += self.expect_line(r"remote processor \S+ is now up", seen, timeout=1.0)
        seen += self.expect_line(r"creating channel rpmsg-raw addr 0x400", seen, timeout=1.0)
        return seen

    def rpmsg_lat(self, device: str, size: int, count: int, seed: int) -> tuple[int, int, int]:
        """The agent's `rpmsg-lat`: `count` round trips checked word for word; returns
        (messages, mismatches, splits). Guest trouble is a GuestError."""
        try:
            out = self.agent.run(f"rpmsg-lat {device} {size} {count} {seed}", timeout=1.0 + count * 0.002)
        except pexpect.TIMEOUT as exc:
            raise GuestError(f"timeout: {exc}") from None
        except (pexpect.EOF, ConsoleFailure) as exc:
            raise GuestError(str(exc)) from None
        found = LAT_LINE.search(out)
        if found is None:
            raise GuestError(f"the agent did not report the round trips: {out.strip()[-300:]!r}")
        messages, mismatches, splits = (int(g) for g in found.groups())
        return messages, mismatches, splits

    def restore(self, snapshot: Any) -> None:
        """Back to a snapshot of this machine, the console forgetting what it saw since."""
        from bench.emu.snapshot import restore

        restore(self.session.machine, snapshot)
        self.agent.console.reset()


@contextmanager
def booted_linux(options: LinuxOptions, extra_firmware: dict[str, Path] | None = None) -> Iterator[Linux]:
    """Boot the M4 to the agent's prompt with the M0 firmware (and any extra files) in /lib/firmware."""
    kernel, dtb, init = linux_inputs(options.kernel, options.dtb, options.init)
    m0 = Path(options.m0_firmware) if options.m0_firmware else firmware("m0_rpmsg")
    if not m0.exists():
        raise BenchError(f"{m0}: M0 firmware not found; build it with `make firmware` (or `make demo`)")
    with Session(options.platform, options.artifacts, options.quantum) as session:
        console = session.console(CONSOLE, failures=KERNEL_FAILURES)
        # Under remoteproc an M0 crash is part of the system: its own handler reports it to
        # Linux, which recovers. The M4 keeps the engine's fault report.
        session.built.core("cpu_m0").fault_policy = "deliver"
        files = {M0_FIRMWARE_NAME: m0, SWAP_FIRMWARE_NAME: m0, **(extra_firmware or {})}
        boot_linux(session, M4, kernel, dtb, init, firmware=files)
        console.expect_exact(PROMPT, timeout=5.0)
        yield Linux(session, Agent(console), init, _init_offset(console.before, init))


def _init_offset(boot_output: bytes, init: Path) -> int | None:
    """The init announces where it runs; with its ELF that gives the offset of all its symbols."""
    found = re.search(rb"init ready \(_start at 0x([0-9a-f]+)\)", boot_output)
    if found is None:
        return None
    return (int(found.group(1), 16) & ~1) - (read_elf(init).symbol("_start") & ~1)


def _guarded(options: LinuxOptions, body: Any) -> dict[str, Any]:
    """Run `body(linux, result)`; turn guest problems into a failed result with the logs named."""
    wall = time.perf_counter()
    result: dict[str, Any] = {"passed": False}
    error: GuestError | None = None
    with booted_linux(options) as linux:
        try:
            body(linux, result)
        except pexpect.TIMEOUT as exc:
            error = GuestError(f"timeout: {exc}")
        except (pexpect.EOF, ConsoleFailure, GuestError) as exc:
            error = GuestError(str(exc))
        machine = linux.session.machine
        result["instructions"] = sum(c.instructions for c in machine.cores)
        result["emulated_s"] = machine.seconds(max(c.cycles for c in machine.cores))
        result["trace_digest"] = machine.trace.digest
    result["wall_s"] = round(time.perf_counter() - wall, 3)
    paths = linux.session.close()
    result["console_log"] = paths.get(f"console_{CONSOLE}", "")
    result["artifacts"] = {"dir": options.artifacts, **paths}
    if error is not None:
        result["passed"] = False
        result["error"] = f"{error}; console log: {result['console_log']}"
        raise GuestError(result["error"], result)
    return result


def lifecycle(linux: Linux, result: dict[str, Any], cycles: int, recovery: bool = True) -> None:
    """offline -> start -> running -> stop -> offline, `cycles` times; a firmware swap; a crash
    and its recovery. Fills `result` (cycles, failures, firmware_swapped, recovered, passed)."""
    failures = 0
    for _ in range(cycles):
        if linux.state() != "offline":
            failures += 1
        linux.start_m0()
        if linux.state() != "running":
            failures += 1
        linux.stop_m0()
    # Firmware swap through sysfs: the kernel must boot the newly named image.
    linux.agent.write(f"{RPROC}/firmware", SWAP_FIRMWARE_NAME)
    seen = linux.start_m0()
    swapped = f"Booting fw image {SWAP_FIRMWARE_NAME}" in seen
    linux.stop_m0()
    linux.agent.write(f"{RPROC}/firmware", M0_FIRMWARE_NAME)
    result.update(cycles=cycles, failures=failures, firmware_swapped=swapped)
    failures += 0 if swapped else 1
    if recovery:
        linux.start_m0()
        linux.crash_m0_and_wait_for_recovery()
        result["recovered"] = linux.state() == "running"
    result["passed"] = failures == 0 and result.get("recovered", True)


ECHO_LINE = re.compile(r"rpmsg-echo2?: messages (\d+) mismatches (\d+)")


def check_sizes(sizes: list[int]) -> None:
    for size in sizes:
        if not 1 <= size <= 496:
            raise BenchError(f"payload size {size}: RPMsg carries 1..496 bytes (512-byte buffers, 16-byte header)")


def echo(linux: Linux, result: dict[str, Any], sizes: list[int], count: int, two_endpoints: bool = False) -> None:
    """Send `count` messages of each size through /dev/rpmsg0 (and, with `two_endpoints`, the same
    through /dev/ttyRPMSG0 with both in flight at once); the M0 echoes; compare byte for byte."""
    check_sizes(sizes)
    linux.start_m0()
    sizes_text = ",".join(str(size) for size in sizes)
    command = (f"rpmsg-echo2 /dev/rpmsg0 /dev/ttyRPMSG0 {sizes_text} {count}" if two_endpoints
               else f"rpmsg-echo /dev/rpmsg0 {sizes_text} {count}")
    out = linux.agent.run(command, timeout=20.0)
    found = ECHO_LINE.search(out)
    if found is None:
        raise GuestError(f"the agent did not report the echo: {out.strip()[-300:]!r}")
    messages, mismatches = int(found.group(1)), int(found.group(2))
    expected = len(sizes) * count * (2 if two_endpoints else 1)
    result.update(sizes=sizes, count=count, endpoints=2 if two_endpoints else 1, messages=messages,
                  mismatches=mismatches, passed=mismatches == 0 and messages == expected)


def run_lifecycle(options: LinuxOptions, cycles: int, recovery: bool = True) -> dict[str, Any]:
    return _guarded(options, lambda linux, result: lifecycle(linux, result, cycles, recovery))


def run_echo(options: LinuxOptions, sizes: list[int], count: int, two_endpoints: bool = False) -> dict[str, Any]:
    check_sizes(sizes)  # before paying for a boot
    return _guarded(options, lambda linux, result: echo(linux, result, sizes, count, two_endpoints))
