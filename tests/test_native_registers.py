"""Device registers the engine answers natively (native/mmio.c): a timer's counter and the NVIC's
ICSR, which Linux's clocksource and interrupt entry depend on, the NVIC's enable and pending bits,
and the CREG event latches of the inter-core interrupts.

In each loop below the first read is aborted and replayed by the engine (Python); the later
ones are sites, answered natively. Each value must be the one the model gives at that cycle.
"""

from __future__ import annotations

import struct

from bench.emu.elf import load_image, read_elf
from bench.platforms.builder import load_platform
from tests.guest.build import REPL, assemble, machine

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
    monkeypatch.setattr("bench.emu.cortexm.NATIVE_MMIO", False)
    reference, in_python = _run(tmp_path, elf)
    assert in_python == READS
    assert values == reference


ICSR_PROGRAM = """
    .thumb_func
    .global reset
reset:
    ldr r4, =0x20001000         @ thread-mode reads
    ldr r5, =0xE000ED04         @ ICSR
    movs r6, #0
    cpsid i
    ldr r0, =0x10000000
    str r0, [r5]                @ PendSV pending (masked)
    ldr r0, =0xE000E100
    movs r1, #1
    str r1, [r0]                @ IRQ0 enabled
    ldr r0, =0xE000E200
    str r1, [r0]                @ IRQ0 pending (masked)
loop:
    ldr r1, [r5]
    str r1, [r4, r6, lsl #2]
    adds r6, r6, #1
    cmp r6, #8
    bne loop
    cpsie i                     @ IRQ0, then PendSV: each reads ICSR in its handler
    nop
    nop
    sev
    b .

    .thumb_func
irq0:
    ldr r0, =0x20001100
    b handler
    .thumb_func
pendsv:
    ldr r0, =0x20001104
handler:
    movs r2, #4
1:  ldr r1, [r5]
    subs r2, r2, #1
    bne 1b
    str r1, [r0]
    bx lr
    .ltorg
"""


def _ran(tmp_path, elf):
    """The one-core test machine after it ran the program to its final SEV."""
    built = machine(tmp_path, elf)
    built.machine.run(5_000)
    assert [kind for _c, _core, kind, _f in built.machine.trace.records].count("sev") == 1
    return built


def _icsr_values(tmp_path, elf):
    memory = _ran(tmp_path, elf).memory_at(0x20001000, 0x108)
    thread = struct.unpack("<8I", memory.read(0x20001000, 32))
    return thread, struct.unpack("<2I", memory.read(0x20001100, 8))


def test_icsr_reads_match_the_model(tmp_path, monkeypatch):
    elf = assemble(tmp_path, ICSR_PROGRAM)
    thread, handlers = _icsr_values(tmp_path, elf)
    assert thread[-1] == 0x10000000 | 14 << 12 | 1 << 11  # PENDSVSET, PendSV first (lower number), RETTOBASE
    assert handlers[0] & 0x1FF == 16 and handlers[1] & 0x1FF == 14  # VECTACTIVE in each handler
    monkeypatch.setattr("bench.emu.cortexm.NATIVE_MMIO", False)  # every read by the model (scs.py)
    assert _icsr_values(tmp_path, elf) == (thread, handlers)


NVIC_PROGRAM = """
    .thumb_func
    .global reset
reset:
    ldr r5, =0xE000E100         @ ISER; ICER +0x80, ISPR +0x100, ICPR +0x180
    movs r1, #1
    movs r6, #0
loop:
    str r1, [r5, #0x80]         @ IRQ0 disabled
    str r1, [r5, #0x100]        @ pending
    str r1, [r5, #0x180]        @ not pending
    str r1, [r5, #0x100]        @ pending again
    nop
    str r1, [r5]                @ enabled: taken right after this store
    adds r6, r6, #1
    cmp r6, #6
    bne loop
    sev
    b .

    .thumb_func
irq0:
    ldr r0, =0x20001000
    ldr r2, [r0]
    adds r2, r2, #1
    str r2, [r0]
    bx lr
    .ltorg
"""


def _nvic_run(tmp_path, elf):
    built = _ran(tmp_path, elf)
    taken = struct.unpack("<I", built.memory_at(0x20001000, 4).read(0x20001000, 4))[0]
    return taken, built.machine.trace.records


def test_nvic_writes_take_effect_at_their_cycle(tmp_path, monkeypatch):
    elf = assemble(tmp_path, NVIC_PROGRAM)
    taken, records = _nvic_run(tmp_path, elf)
    assert taken == 6
    monkeypatch.setattr("bench.emu.cortexm.NATIVE_MMIO", False)  # every write by the model (scs.py)
    assert _nvic_run(tmp_path, elf) == (taken, records)


def test_event_latches_match_the_model(tmp_path, monkeypatch, platform):
    """The CREG event latches: each core clears its own (M4TXEVENT on the M0, M0TXEVENT on the M4)
    natively, at sites and in lockstep; the IPI ping-pong must give the model's trace exactly."""
    from bench.scenarios.ipi import IpiOptions, run_ipi

    results = {}
    for native_mmio in (True, False):
        monkeypatch.setattr("bench.emu.cortexm.NATIVE_MMIO", native_mmio)
        results[native_mmio] = run_ipi(IpiOptions(platform=platform, rounds=60, load=1, seed=3,
                                                  artifacts=str(tmp_path / str(native_mmio))))
    assert results[True]["passed"], results[True]
    assert results[True]["directions"] == results[False]["directions"]
    assert results[True]["trace_digest"] == results[False]["trace_digest"]
