"""IT blocks on the precise (lockstep) instance: the same instructions, counts and results
as on the fast instance, however the run is cut.

Regression: Unicorn stores the IT state into the CPU when a store inside an IT block meets a
write hook, and nothing cleared it after the block: the next translated block then ran as if
still inside the IT block, and its first instruction was skipped (seen in the kernel's memset
tail, where it sent Linux down another path when both cores ran in lockstep).
"""

from __future__ import annotations

import pytest
from unicorn import arm_const as A

from tests.guest.build import assemble, machine

PROGRAM = """
    .thumb_func
    .global reset
reset:
    ldr r4, =0x20001000
    movs r5, #0
    movs r6, #0
loop:
    mov r0, r4
    movs r1, #0xAA
    and r2, r5, #7          @ lengths 0..7: every combination of the IT blocks below
    bl set
    ands.w r3, r5, #1       @ the first instruction after the return
    adds r6, r6, r3
    adds r6, r6, r0
    adds r5, r5, #1
    cmp r5, #40
    bne loop
    sev
    b .

    .thumb_func
set:                        @ memset's tail: stores inside IT blocks, then return
    tst.w r2, #4
    itt ne
    strne.w r1, [r0], #4
    strne.w r1, [r0], #4
    tst.w r2, #2
    it ne
    strhne.w r1, [r0], #2
    tst.w r2, #1
    it ne
    strbne.w r1, [r0], #1
    bx lr
    .ltorg
"""


def _finish(built) -> tuple[int, int, int, int]:
    core = built.core("cpu")
    sev = [c for c, _core, kind, _f in built.machine.trace.records if kind == "sev"]
    return core.reg(A.UC_ARM_REG_R5), core.reg(A.UC_ARM_REG_R6), sev[0], core.cycles


def test_precise_runs_match_the_fast_instance_whatever_the_cuts(tmp_path):
    elf = assemble(tmp_path, PROGRAM)
    fast = machine(tmp_path, elf)
    fast.machine.run(2000)
    reference = _finish(fast)
    assert reference[0] == 40

    whole = machine(tmp_path, elf)  # one long run on the precise instance
    core = whole.core("cpu")
    whole.machine.running = core
    core.run(2000, precise=True)
    whole.machine.running = None
    assert _finish(whole)[:3] == reference[:3]

    stepped = machine(tmp_path, elf)  # cut at every cycle, as lockstep does
    core = stepped.core("cpu")
    stepped.machine.running = core
    while core.cycles < 2000:
        core.run(core.cycles + 1, precise=True)
    stepped.machine.running = None
    assert _finish(stepped)[:3] == reference[:3]


DEVICE_IN_IT = """
    .thumb_func
    .global reset
reset:
    ldr r4, =0x40000000     @ the UART's transmit register
    movs r5, #0
    movs r6, #0
loop:
    adds r0, r5, #0x41      @ 'A' + i
    tst r5, #1
    itte eq
    streq r0, [r4]          @ even i: the letter, then counted, inside the IT block
    addeq r6, r6, #1
    strne r0, [r4]          @ odd i: the letter, the IT block's last instruction
    adds r5, r5, #1
    cmp r5, #8
    bne loop
    sev
    b .
    .ltorg
"""


def test_device_writes_inside_an_it_block_happen_once_in_order(tmp_path):
    """A device access inside an IT block takes effect once, at its instruction, on either
    instance: the engine stops the fast instance at such an access to replay it alone (its
    cycle must be exact), and the IT block's other instructions run exactly once around it."""
    elf = assemble(tmp_path, DEVICE_IN_IT)
    fast = machine(tmp_path, elf)
    if not fast.core("cpu").state.exit_on_slow_path:
        pytest.skip("needs the bench's Unicorn build (third_party/unicorn, patch 0003): the plain wheel "
                    "looks for the engine's stop only after the IT block, and the write is lost")
    fast.machine.run(2000)
    core = fast.core("cpu")
    assert fast.uart("uart").output == b"ABCDEFGH"
    assert (core.reg(A.UC_ARM_REG_R5), core.reg(A.UC_ARM_REG_R6)) == (8, 4)
    reference = _finish(fast)

    stepped = machine(tmp_path, elf)  # the precise instance, cut at every cycle
    core = stepped.core("cpu")
    stepped.machine.running = core
    while core.cycles < 2000:
        core.run(core.cycles + 1, precise=True)
    stepped.machine.running = None
    assert stepped.uart("uart").output == b"ABCDEFGH"
    assert _finish(stepped)[:3] == reference[:3]
