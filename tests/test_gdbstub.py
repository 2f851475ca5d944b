"""The GDB stub: gdb-multiarch attaches to a core of a running machine, and to a failed run."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from bench.session import firmware

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(shutil.which("gdb-multiarch") is None,
                                reason="gdb-multiarch missing: `make test` installs it")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _bench(*args: str) -> subprocess.Popen[str]:
    process = subprocess.Popen([sys.executable, "-m", "bench.cli", *args], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    line = process.stderr.readline()  # the stub announces itself once it listens
    assert "GDB stub" in line and "127.0.0.1" in line, line
    return process


def _gdb(port: int, *commands: str, elf: Path | None = None) -> str:
    argv = ["gdb-multiarch", "-batch", "-nx"]
    if elf is not None:
        argv += ["-ex", f"file {elf}"]
    argv += ["-ex", "set architecture arm", "-ex", f"target remote 127.0.0.1:{port}"]
    for command in commands:
        argv += ["-ex", command]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False).stdout


def test_gdb_attaches_to_the_m0_of_a_running_machine(tmp_path):
    port = _free_port()
    run = _bench("run", "ipi", "--rounds", "1000000", "--gdb", f"cpu_m0:{port}", "--artifacts", str(tmp_path))
    try:
        out = _gdb(port, "break M4CORE_IRQHandler", "continue", "info registers pc sp xpsr", "stepi",
                   "info registers pc", "delete", "detach", elf=firmware("m0_ipi"))
    finally:
        run.kill()
        run.wait()
    assert "Breakpoint 1, M4CORE_IRQHandler" in out
    assert "pc             0x100800c0" in out and "pc             0x100800c2" in out  # stopped before, then one step
    assert "sp             0x1008" in out  # the M0's stack in SRAM1


def test_a_failed_run_waits_for_gdb_at_the_failing_moment(tmp_path, platform):
    port = _free_port()
    run = _bench("run", "boot", "--platform", platform, "--expect", "never printed", "--timeout", "0.02",
                 "--gdb", f"cpu_m4:{port}", "--artifacts", str(tmp_path))
    try:
        out = _gdb(port, "info registers pc", "x/2x 0x28008000", "detach")
        code = run.wait(timeout=120)
    finally:
        run.kill()
    assert code == 3  # the run's own failure, once GDB has detached
    assert "pc             0x28" in out  # the kernel, where the hang left it
    assert "0x28008000:" in out
