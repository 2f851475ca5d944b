"""Code a core writes and then runs: each instance must run the new code, not a stale block.

Why this needs a test: Unicorn keeps no dirty-page bookkeeping, so both instances give data
accesses to pages they never ran code from a TLB entry without execute permission, which
Unicorn then lets stores through without looking for translated code (bench_tlb_fill_fast,
bench_tlb_fill). Privileged and unprivileged accesses have separate TLB entries; in both
programs the routine is rewritten through an unprivileged entry after privileged code ran it.
"""

from __future__ import annotations

import pytest
from unicorn import arm_const as A

from tests.guest.build import assemble, machine

# Unprivileged, with r4 = the routine and r5 = its address | 1: a store beside the code, the
# rewrite, back to privileged (SVC), and the routine run again.
REWRITE = """
    str r0, [r4, #0x100]        @ a store beside the code first
    ldr r0, =0x2002             @ movs r0, #2
    strh r0, [r4]               @ then rewrite the routine
    svc #0                      @ back to privileged
    blx r5                      @ must run `movs r0, #2`
    mov r7, r0
    sev
    b .

    .thumb_func
svc:
    movs r0, #0
    msr control, r0
    bx lr
    .ltorg
"""

# The program's start: r4 = a routine `movs r0, #1; bx lr` it writes, r5 = its address | 1.
WRITE_ROUTINE = """
    .thumb_func
    .global reset
reset:
    ldr r4, =0x20001000         @ the routine, alone in its 1 KiB page
    orr r5, r4, #1
    ldr r0, =0x2001             @ movs r0, #1
    strh r0, [r4]
    ldr r0, =0x4770             @ bx lr
    strh r0, [r4, #2]
"""

# Privileged code writes the routine and runs it; the unprivileged entry is new after that.
RUN_FIRST = WRITE_ROUTINE + """
    blx r5                      @ privileged: runs `movs r0, #1`
    mov r6, r0
    movs r0, #1
    msr control, r0             @ unprivileged: its own TLB entries
    isb
""" + REWRITE

# The routine is written through the unprivileged entry before privileged code first runs it.
# Translating it marks that entry "not dirty" again, but a data-only entry is made fast by its
# next store (the one beside the code): unless the page turning code dropped the entry, the
# rewrite after it would go through unchecked.
WRITTEN_FIRST = """
    .thumb_func
    .global reset
reset:
    ldr r4, =0x20001000
    orr r5, r4, #1
    movs r0, #1
    msr control, r0             @ unprivileged
    isb
    ldr r0, =0x2001             @ movs r0, #1
    strh r0, [r4]
    ldr r0, =0x4770             @ bx lr
    strh r0, [r4, #2]
    svc #0                      @ privileged
    blx r5                      @ runs `movs r0, #1`
    mov r6, r0
    movs r0, #1
    msr control, r0             @ unprivileged again: the same entry as the first writes
    isb
""" + REWRITE


def _run(built, precise: bool, cycles: int = 2000) -> None:
    """Run the one core `cycles` on its fast instance (the engine's loop) or its precise one
    (the per-instruction instance, as in lockstep)."""
    if precise:
        core = built.core("cpu")
        built.machine.running = core
        core.run(cycles, precise=True)
        built.machine.running = None
    else:
        built.machine.run(cycles)


@pytest.mark.parametrize("program", [RUN_FIRST, WRITTEN_FIRST], ids=["run-first", "written-first"])
@pytest.mark.parametrize("precise", [False, True], ids=["fast", "precise"])
def test_rewritten_code_runs_in_its_new_form(tmp_path, program, precise):
    built = machine(tmp_path, assemble(tmp_path, program))
    core = built.core("cpu")
    _run(built, precise)
    assert [kind for _c, _core, kind, _f in built.machine.trace.records].count("sev") == 1
    assert core.reg(A.UC_ARM_REG_R6) == 1
    assert core.reg(A.UC_ARM_REG_R7) == 2


# The fast instance runs the routine, the precise one rewrites it (as a core in lockstep
# does), and the fast one must then run the new code: switching back drops its blocks on
# the pages the precise instance wrote (bench_drop_written). Each WFE ends a phase.
ACROSS_INSTANCES = WRITE_ROUTINE + """
    blx r5                      @ fast: runs `movs r0, #1`
    mov r6, r0
    wfe
    ldr r0, =0x2002             @ movs r0, #2
    strh r0, [r4]               @ precise: the rewrite
    wfe
    blx r5                      @ fast again: must run `movs r0, #2`
    mov r7, r0
    sev
    b .
    .ltorg
"""


def test_code_the_precise_instance_rewrote_runs_new_on_the_fast_one(tmp_path):
    built = machine(tmp_path, assemble(tmp_path, ACROSS_INSTANCES))
    core = built.core("cpu")
    assert built.machine.run(2000) == "idle" and core.sleep == "wfe"
    core.signal_event()
    built.machine.running = core
    core.run(core.cycles + 2000, precise=True)
    built.machine.running = None
    assert core.sleep == "wfe" and core.precise
    core.signal_event()
    built.machine.run(core.cycles + 2000)
    assert not core.precise
    assert [kind for _c, _core, kind, _f in built.machine.trace.records].count("sev") == 1
    assert core.reg(A.UC_ARM_REG_R6) == 1
    assert core.reg(A.UC_ARM_REG_R7) == 2


# A routine rewritten in place by the core that runs it, with the same size in bytes but one
# instruction more: its block has the same address and size, and must count its new length
# (bench_hook_block keeps what it learnt of a block only for the code it learnt it from).
SAME_SIZE_REWRITE = """
    .thumb_func
    .global reset
reset:
    ldr r4, =0x20001000         @ the routine, alone in its 1 KiB page
    orr r5, r4, #1
    ldr r0, =0xF04F             @ mov.w r0, #1 (two halfwords) ...
    strh r0, [r4]
    movs r0, #1
    strh r0, [r4, #2]
    ldr r0, =0x4770             @ ... bx lr: six bytes, two instructions
    strh r0, [r4, #4]
    blx r5
    blx r5
    ldr r0, =0x2002             @ movs r0, #2; movs r1, #2; bx lr: six bytes, three instructions
    strh r0, [r4]
    ldr r0, =0x2102
    strh r0, [r4, #2]
    blx r5
    blx r5
    sev
    b .
    .ltorg
"""


def test_code_rewritten_to_the_same_size_counts_its_new_instructions(tmp_path):
    sev_cycles = {}
    elf = assemble(tmp_path, SAME_SIZE_REWRITE)
    for precise in (False, True):
        built = machine(tmp_path, elf)
        core = built.core("cpu")
        _run(built, precise)  # the precise instance counts instruction by instruction: the reference
        assert core.reg(A.UC_ARM_REG_R0) == 2 and core.reg(A.UC_ARM_REG_R1) == 2
        sev_cycles[precise] = [c for c, _core, kind, _f in built.machine.trace.records if kind == "sev"]
    assert len(sev_cycles[True]) == 1
    assert sev_cycles[False] == sev_cycles[True]


# A direct call into another 1 KiB page, made by one instruction four times: its jump is linked
# to the routine's block once both are translated (with the bench's Unicorn, across pages too).
# Before the last call the routine is rewritten: the link must go with the old block.
CALL_ACROSS_PAGES = """
    .thumb_func
    .global reset
reset:
    movs r6, #0
    movs r5, #4
again:
    cmp r5, #1
    bne call
    ldr r4, =far
    bic r4, r4, #1              @ (a Thumb function's symbol has bit 0 set)
    ldr r0, =0x2005             @ movs r0, #5
    strh r0, [r4]               @ rewrite the routine's first instruction
call:
    bl far                      @ the same call every time, into the next page
    add r6, r6, r0
    subs r5, r5, #1
    bne again
    sev
    b .
    .ltorg
    .balign 1024
    .thumb_func
far:
    movs r0, #1
    bx lr
"""


@pytest.mark.parametrize("precise", [False, True], ids=["fast", "precise"])
def test_a_routine_rewritten_after_direct_calls_from_another_page_runs_new(tmp_path, precise):
    built = machine(tmp_path, assemble(tmp_path, CALL_ACROSS_PAGES))
    core = built.core("cpu")
    _run(built, precise)
    assert [kind for _c, _core, kind, _f in built.machine.trace.records].count("sev") == 1
    assert core.reg(A.UC_ARM_REG_R6) == 1 + 1 + 1 + 5


# The precise instance drops the code of pages it has not run for a while (bench_exec_age), so
# that the check at every switch covers what it runs now. Its code of such a page must go with
# the page, links into it included: the precise instance runs 50 pages of routines and a call
# to `target` (the call's block is then linked to the target's), 80 rounds without either on
# alternating instances (one round per wake), the fast instance rewrites the target, and the
# precise instance makes the same call again.
def _aging_program() -> str:
    calls = "".join(f"    bl routine{k}\n" for k in range(1, 51))
    routines = "".join(f"    .balign 1024\n    .thumb_func\nroutine{k}:\n    bx lr\n" for k in range(1, 51))
    return f"""
    .thumb_func
    .global reset
reset:
{calls}    movs r3, #1                 @ call the target this round
    movs r5, #80                @ rounds without the call, then the rewrite
loop:
    cbz r3, nocall
call:
    bl target                   @ a block of its own, linked to the target's
    cbz r5, last
    mov r6, r0                  @ the first call's result
    movs r3, #0
nocall:
    wfe                         @ one round per wake
    subs r5, r5, #1
    bne loop
    ldr r4, =target
    bic r4, r4, #1
    ldr r0, =0x2002             @ movs r0, #2
    strh r0, [r4]               @ the rewrite
    movs r3, #1
    wfe
    b loop                      @ the same call again
last:
    mov r7, r0
    sev
    b .
    .ltorg
{routines}    .balign 1024
    .thumb_func
target:
    movs r0, #1
    bx lr
"""


def test_code_of_a_page_the_precise_instance_stopped_running_goes_with_it(tmp_path):
    built = machine(tmp_path, assemble(tmp_path, _aging_program()))
    core = built.core("cpu")
    core.state.exec_age = 16  # (episodes; the engine's default is thousands)

    _run(built, True, core.cycles + 5000)  # the routines, the first call
    assert core.sleep == "wfe" and core.precise and core.state.executed.n >= 48
    for wake in range(1, 82):  # the rewrite on wake 80 (fast), the last call on wake 81 (precise)
        core.signal_event()
        _run(built, wake % 2 == 1, core.cycles + 5000)
        assert core.precise == (wake % 2 == 1)
        if wake == 79:
            assert core.state.executed.n < 8  # the routines' and the target's pages were dropped
    assert [kind for _c, _core, kind, _f in built.machine.trace.records].count("sev") == 1
    assert (core.reg(A.UC_ARM_REG_R6), core.reg(A.UC_ARM_REG_R7)) == (1, 2)
