"""Linux remoteproc + RPMsg with the M0 on the emulated LPC4337 (real kernel, driver and firmware)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.cli import main
from bench.errors import BenchError
from bench.scenarios.remoteproc import LinuxOptions, booted_linux, echo, lifecycle, run_echo
from bench.session import firmware


def test_lifecycle_and_crash_recovery(linux):
    result: dict = {}
    lifecycle(linux, result, cycles=2)
    assert result["passed"] and result["failures"] == 0 and result["recovered"] and result["firmware_swapped"]
    log = linux.agent.console.log_path.read_text()
    for line in ("remote processor 10080000.remoteproc is now up", "creating channel rpmsg-raw addr 0x400",
                 "stopped remote processor", "crash detected in 10080000.remoteproc", "recovering"):
        assert line in log


def test_echo_every_size_byte_for_byte(linux):
    result: dict = {}
    echo(linux, result, sizes=[1, 17, 64, 255, 496], count=4)
    assert result["passed"], result
    assert (result["messages"], result["mismatches"]) == (20, 0)


def test_two_endpoints_at_once(linux):
    result: dict = {}
    echo(linux, result, sizes=[1, 100, 496], count=2, two_endpoints=True)
    assert result["passed"], result
    assert (result["endpoints"], result["messages"], result["mismatches"]) == (2, 12, 0)


def test_payload_over_496_bytes_is_refused_before_booting(tmp_path, platform):
    with pytest.raises(BenchError, match=r"1\.\.496"):
        run_echo(LinuxOptions(platform, artifacts=str(tmp_path)), sizes=[497], count=1)


def test_echo_after_restore_matches_a_fresh_boot(linux, tmp_path, platform):
    """The shared, restored machine behaves exactly like a freshly booted one."""
    restored: dict = {}
    echo(linux, restored, sizes=[64], count=3)
    fresh = run_echo(LinuxOptions(platform, artifacts=str(tmp_path)), sizes=[64], count=3)
    assert restored["messages"] == fresh["messages"] == 3 and restored["mismatches"] == 0
    assert linux.session.machine.trace.digest == fresh["trace_digest"]  # the same events, cycle for cycle


def test_firmware_linux_cannot_load_is_reported_and_linux_keeps_running(tmp_path, platform):
    # m0_ipi is linked to load from flash B: not in the M0 memory remoteproc may write.
    options = LinuxOptions(platform, m0_firmware=str(firmware("m0_ipi")), artifacts=str(tmp_path))
    with booted_linux(options) as linux:
        out = linux.agent.write("/sys/class/remoteproc/remoteproc0/state", "start")
        assert "error:" in out  # the agent reports the failed write
        assert "Boot failed" in out or "bad phdr" in out
        assert linux.state() == "offline"
        assert linux.agent.run("echo still alive") == "still alive\n"


def test_linux_rejects_bad_images_and_oversized_messages_and_keeps_running(tmp_path, platform):
    wrong_arch = tmp_path / "host.elf"
    wrong_arch.write_bytes(Path("/bin/true").read_bytes())  # a 64-bit host executable
    options = LinuxOptions(platform, artifacts=str(tmp_path / "a"))
    with booted_linux(options, extra_firmware={"host.elf": wrong_arch}) as linux:
        linux.agent.write("/sys/class/remoteproc/remoteproc0/firmware", "host.elf")
        out = linux.agent.write("/sys/class/remoteproc/remoteproc0/state", "start")
        assert "Boot failed: -22" in out and "errno 22" in out, out  # remoteproc refuses the ELF
        assert linux.state() == "offline"
        linux.agent.write("/sys/class/remoteproc/remoteproc0/firmware", "lpc4337-m0.elf")
        linux.start_m0()
        out = linux.agent.run("rpmsg-echo /dev/rpmsg0 497 1")
        assert "errno 90" in out  # EMSGSIZE from the RPMsg core: 496 bytes at most
        assert "rpmsg-echo: messages 1 mismatches 1" in out
        assert "messages 2 mismatches 0" in linux.agent.run("rpmsg-echo /dev/rpmsg0 496 2")


def test_cli_documents(tmp_path, capsys, platform):
    out = tmp_path / "l.json"
    assert main(["run", "rproc-lifecycle", "--platform", platform, "--cycles", "1", "--no-recovery",
                 "--artifacts", str(tmp_path / "a"), "--json", str(out)]) == 0
    document = json.loads(out.read_text())
    assert document["passed"] and document["cycles"] == 1 and document["failures"] == 0
    assert "is now up" in (tmp_path / "a" / "usart2.log").read_text()
