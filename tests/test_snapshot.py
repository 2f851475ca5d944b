"""Boot once, test many: a restored machine continues exactly as the original did."""

from __future__ import annotations

from bench.emu.snapshot import restore, take
from bench.scenarios.remoteproc import LinuxOptions, booted_linux

COMMANDS = [
    "cat /proc/uptime",
    "write /sys/class/remoteproc/remoteproc0/state start",
    "rpmsg-echo /dev/rpmsg0 1,496 3",
    "cat /sys/class/remoteproc/remoteproc0/state",
    "cat /proc/interrupts",
]


def run_all(linux) -> tuple[list[str], str, list[int]]:
    outputs = [linux.agent.run(command, timeout=2.0) for command in COMMANDS]
    machine = linux.session.machine
    return outputs, machine.trace.digest, [core.cycles for core in machine.cores]


def test_restore_replays_bit_for_bit(tmp_path, platform):
    with booted_linux(LinuxOptions(platform, artifacts=str(tmp_path))) as linux:
        snapshot = take(linux.session.machine)
        first = run_all(linux)
        assert "messages 6 mismatches 0" in first[0][2]
        for _ in range(2):
            seconds = restore(linux.session.machine, snapshot)
            linux.agent.console.buffer = b""
            assert run_all(linux) == first
            assert seconds < 1.0  # generous: the benchmark reports the real figure
