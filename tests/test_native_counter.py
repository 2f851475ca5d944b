"""A timer's counter read by guest code: the value at the reading instruction's exact cycle.

Why this needs a test: at device-access sites the fast instance reads TIMER0's TC natively,
from a mirror of the timer model (native/mmio.c), and Linux's clocksource depends on it. The
first read of the loop below is aborted and replayed by the engine (Python); the others are
sites, answered natively. Every value must be the count at its own cycle.
"""

from __future__ import annotations

import struct

from bench.emu.elf import load_image, read_elf
from bench.platforms.builder import load_platform
from bench.platforms.lpc43xx.timer import Lpc43xxTimer
from tests.guest.build import REPL, assemble

TIMER = """
timer: Timers.LPC43xx_Timer @ sysbus <0x40084000, +0x1000>
    -> nvic@3
"""

READS = 64
PROGRAM = f"""
    .thumb_func
    .global reset
reset:
    ldr r0, =0x40084000
    movs r1, #2
    str r1, [r0, #0x0C]         @ PR = 2: one count every 3 cycles
    str r1, [r0, #0x04]         @ TCR: reset
    movs r1, #1
    str r1, [r0, #0x04]         @ TCR: count
    ldr r2, =0x20001000
    movs r3, #0
loop:                           @ 7 instructions: the reads are 7 cycles apart
    nop
    nop
    ldr r1, [r0, #0x08]         @ TC, inside the block
    str r1, [r2, r3, lsl #2]
    adds r3, r3, #1
    cmp r3, #{READS}
    bne loop
    sev
    b .
    .ltorg
"""


def _run(tmp_path, elf):
    repl = tmp_path / "timer.repl"
    repl.write_text(REPL.format(model="cortex-m4", mask="0xE0", entry=12) + TIMER)
    built = load_platform(repl, quantum=100_000)
    timer = built.peripherals["timer"]
    python_reads = []
    model_read = timer.read

    def read(core, offset, size):
        python_reads.append(offset)
        return model_read(core, offset, size)

    timer.read = read
    load_image(built, read_elf(elf))
    built.core("cpu").release_from_reset(0)
    built.machine.run(5_000)
    assert [kind for _c, _core, kind, _f in built.machine.trace.records].count("sev") == 1
    memory = built.memory_at(0x20001000, 4 * READS)
    return struct.unpack(f"<{READS}I", memory.read(0x20001000, 4 * READS)), python_reads.count(0x08)


def test_counter_reads_follow_the_cycle_exactly(tmp_path, monkeypatch):
    elf = assemble(tmp_path, PROGRAM)
    values, in_python = _run(tmp_path, elf)
    assert in_python < READS // 2  # most reads were answered natively
    # One start cycle explains every value: read i happens 7 * i cycles after the first.
    starts = [t for t in range(3 * values[0], 3 * values[0] + 3)
              if all(values[i] == (t + 7 * i) // 3 for i in range(READS))]
    assert len(starts) == 1, values
    # And the model itself, asked at every read, gives the same values.
    monkeypatch.setattr(Lpc43xxTimer, "native_counter", lambda self: None)
    reference, in_python = _run(tmp_path, elf)
    assert in_python == READS
    assert values == reference
