"""Boot once, test many: a restored machine continues exactly as the original did."""

from __future__ import annotations

from unicorn import arm_const as A

from bench.emu.snapshot import restore, take
from bench.scenarios.remoteproc import LinuxOptions, booted_linux
from tests.guest.build import assemble, machine
from tests.test_code_writes import WRITE_ROUTINE

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


# The routine is written, the snapshot taken (first WFE), then the routine rewritten and run:
# restoring puts the first form back under code translated from the second.
REWRITTEN_AFTER_SNAPSHOT = WRITE_ROUTINE + """
    wfe
    blx r5
    mov r6, r0
    ldr r0, =0x2002             @ movs r0, #2
    strh r0, [r4]
    blx r5
    mov r7, r0
    wfe
    b .
    .ltorg
"""


def run_to_wfe(built, core) -> tuple[int, int]:
    core.signal_event()
    built.machine.run(core.cycles + 2000)
    assert core.sleep == "wfe"
    return core.reg(A.UC_ARM_REG_R6), core.reg(A.UC_ARM_REG_R7)


def test_restore_drops_code_translated_from_what_it_undoes(tmp_path):
    """A restore copies back only the pages that differ and keeps translated code unless one of
    them holds code (bench_code_changed): here one does."""
    built = machine(tmp_path, assemble(tmp_path, REWRITTEN_AFTER_SNAPSHOT))
    core = built.core("cpu")
    built.machine.run(2000)
    snapshot = take(built.machine)
    assert run_to_wfe(built, core) == (1, 2)
    restore(built.machine, snapshot)
    assert run_to_wfe(built, core) == (1, 2)
