"""Boot mainline Linux on the emulated LPC4337's Cortex-M4.

The bench acts as the board's boot loader: it writes the kernel (vmlinux, by its
load addresses) and the device tree to memory and hands over per the ARM boot
protocol (r0 = 0, r1 = ~0 for a device-tree machine, r2 = DTB address), with
the console UART already usable, as the kernel expects.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pexpect

from bench.console import ConsoleFailure
from bench.errors import BenchError, GuestError
from bench.linux.loader import boot_linux
from bench.session import REPO_ROOT, Session

M4, CONSOLE = "cpu_m4", "usart2"
PROMPT = "amp-bench# "
KERNEL_FAILURES = ("Kernel panic", "Unable to handle kernel", "Oops", "BUG:")


def linux_dir() -> Path:
    """Where `make` links the cached kernel build (AMP_BENCH_LINUX overrides)."""
    return Path(os.environ.get("AMP_BENCH_LINUX", REPO_ROOT / "build" / "linux"))


def init_path() -> Path:
    """The bench's init/agent built by `make` (AMP_BENCH_INIT overrides)."""
    return Path(os.environ.get("AMP_BENCH_INIT", REPO_ROOT / "build" / "linux-init" / "init.elf"))


@dataclass
class BootOptions:
    platform: str
    kernel: str | None = None
    dtb: str | None = None
    init: str | None = None
    expect: str = PROMPT
    timeout_s: float = 5.0
    quantum: int = 100_000
    artifacts: str = "artifacts/boot"


def linux_inputs(kernel: str | None, dtb: str | None, init: str | None) -> tuple[Path, Path, Path]:
    """The kernel, device tree and init to boot: given ones, else the cached build's; all must exist."""
    paths = (Path(kernel) if kernel else linux_dir() / "vmlinux",
             Path(dtb) if dtb else linux_dir() / "lpc4337-ciaa-bench.dtb",
             Path(init) if init else init_path())
    for path, what in zip(paths, ("kernel (vmlinux)", "device tree blob", "init"), strict=True):
        if not path.exists():
            raise BenchError(f"{path}: {what} not found; build it with `make linux` (or `make demo`)")
    return paths


def run_boot(options: BootOptions) -> dict[str, Any]:
    kernel, dtb, init = linux_inputs(options.kernel, options.dtb, options.init)
    wall_start = time.perf_counter()
    with Session(options.platform, options.artifacts, options.quantum) as session:
        console = session.console(CONSOLE, failures=KERNEL_FAILURES)
        boot_linux(session, M4, kernel, dtb, init)
        core = session.built.core(M4)
        error = None
        try:
            console.expect(options.expect, timeout=options.timeout_s)
        except pexpect.TIMEOUT:
            error = GuestError(f"hang: {options.expect!r} did not appear within {options.timeout_s} s of emulated "
                               f"time; {session.machine.describe_cores()}")
        except (pexpect.EOF, ConsoleFailure, GuestError) as exc:
            error = GuestError(str(exc))
        wall = time.perf_counter() - wall_start
        result: dict[str, Any] = {
            "passed": error is None,
            "boot_instructions": core.instructions,
            "boot_cycles": core.cycles,
            "boot_emulated_s": session.machine.seconds(core.cycles),
            "boot_wall_s": round(wall, 3),
            "mips": round(core.instructions / wall / 1e6, 2) if wall else 0.0,
            "trace_digest": session.machine.trace.digest,
        }
    paths = session.close()
    result["console_log"] = paths.get(f"console_{CONSOLE}", "")
    result["artifacts"] = {"dir": options.artifacts, **paths}
    if error is not None:
        result["error"] = f"{error}; console log: {result['console_log']}"
        raise GuestError(result["error"], result)
    return result
