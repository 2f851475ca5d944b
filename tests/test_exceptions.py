"""The exception model on tiny hand-written programs: every cycle is known.

Each program logs markers to RAM (a pointer at 0x20000000, entries after it)
so the order of thread code and handlers is visible; exact timing is read from
the engine's trace (a SEV just before the instruction of interest gives its cycle).
"""

from __future__ import annotations

from bench.errors import GuestError
from tests.guest.build import RAM, assemble, machine, word

MARK = """
    .macro mark val
    push {r0-r2}
    ldr r0, =0x20000000
    ldr r1, [r0]
    movs r2, #\\val
    str r2, [r0, r1]
    adds r1, r1, #4
    str r1, [r0]
    pop {r0-r2}
    .endm
    .macro log_init
    ldr r0, =0x20000000
    movs r1, #4
    str r1, [r0]
    .endm
"""


def log(built) -> list[int]:
    end = word(built, RAM)
    return [word(built, RAM + offset) for offset in range(4, end, 4)]


def entries(built, exc: int) -> list[tuple[int, dict]]:
    return [(c, f) for c, core, kind, f in built.machine.trace.records if kind == "exc-entry" and f["exc"] == exc]


def sev_cycles(built) -> list[int]:
    return [c for c, core, kind, f in built.machine.trace.records if kind == "sev"]


def test_svc_then_pendsv_tail_chains(tmp_path):
    elf = assemble(tmp_path, MARK + """
    .thumb_func
    .global reset
reset:
    log_init
    ldr r0, =0xE000ED1C
    ldr r1, =0x80000000
    str r1, [r0]            @ SVCall priority 0x80
    ldr r0, =0xE000ED20
    ldr r1, =0x00E00000
    str r1, [r0]            @ PendSV priority 0xE0 (lowest)
    mark 1
    svc #0
    mark 4
    b .
    .thumb_func
svc:
    mark 2
    ldr r0, =0xE000ED04
    ldr r1, =0x10000000
    str r1, [r0]            @ PENDSVSET: lower priority, must wait for SVC to return
    bx lr
    .thumb_func
pendsv:
    mark 3
    bx lr
    .ltorg
""")
    built = machine(tmp_path, elf)
    built.machine.run(2000)
    assert log(built) == [1, 2, 3, 4]
    (_, pendsv), = entries(built, 14)
    assert pendsv.get("tail") == 1  # taken without unstacking


def test_priorities_preempt_and_equal_priority_waits(tmp_path):
    elf = assemble(tmp_path, MARK + """
    .thumb_func
    .global reset
reset:
    log_init
    ldr r0, =0xE000E400
    ldr r1, =0x00804080     @ IRQ0 0x80, IRQ1 0x40, IRQ2 0x80
    str r1, [r0]
    ldr r0, =0xE000E100
    movs r1, #7
    str r1, [r0]            @ enable IRQ0-2
    mark 1
    ldr r0, =0xE000E200
    movs r1, #1
    str r1, [r0]            @ pend IRQ0
    mark 6
    b .
    .thumb_func
irq0:
    mark 2
    ldr r0, =0xE000E200
    movs r1, #6
    str r1, [r0]            @ pend IRQ1 (preempts) and IRQ2 (same priority: waits)
    mark 4
    bx lr
    .thumb_func
irq1:
    mark 3
    bx lr
    .thumb_func
irq2:
    mark 5
    bx lr
    .ltorg
""")
    built = machine(tmp_path, elf)
    built.machine.run(3000)
    assert log(built) == [1, 2, 3, 4, 5, 6]


def _unmask_program(mask_insn: str, unmask_insn: str) -> str:
    return MARK + f"""
    .thumb_func
    .global reset
reset:
    log_init
    ldr r0, =0xE000E400
    movs r1, #0x80
    str r1, [r0]            @ IRQ0 priority 0x80
    movs r2, #0x80
    movs r3, #0
    {mask_insn}
    ldr r0, =0xE000E100
    movs r1, #1
    str r1, [r0]            @ enable IRQ0
    ldr r0, =0xE000E200
    str r1, [r0]            @ pend IRQ0: masked, must wait
    mark 1
    sev                     @ cycle t
    {unmask_insn}           @ cycle t+1: the IRQ is taken right after it
    mark 3
    b .
    .thumb_func
irq0:
    mark 2
    bx lr
    .ltorg
"""


def test_primask_holds_an_interrupt_until_the_exact_cpsie(tmp_path):
    for model, entry in (("cortex-m4", 12), ("cortex-m0", 16)):
        elf = assemble(tmp_path, _unmask_program("cpsid i", "cpsie i"), model)
        built = machine(tmp_path, elf, model, entry_cycles=entry)
        built.machine.run(3000)
        assert log(built) == [1, 2, 3], model
        (sev,), ((irq_cycle, _),) = sev_cycles(built), entries(built, 16)
        assert irq_cycle == sev + 2 + entry, model


def test_basepri_masks_by_priority_and_msr_unmasks_exactly(tmp_path):
    elf = assemble(tmp_path, _unmask_program("msr basepri, r2", "msr basepri, r3"))
    built = machine(tmp_path, elf)
    built.machine.run(3000)
    assert log(built) == [1, 2, 3]
    (sev,), ((irq_cycle, _),) = sev_cycles(built), entries(built, 16)
    assert irq_cycle == sev + 2 + 12


def test_systick_period_and_wfi_wakeup_are_exact(tmp_path):
    elf = assemble(tmp_path, """
    .thumb_func
    .global reset
reset:
    ldr r0, =0xE000E010
    ldr r1, =999
    str r1, [r0, #4]        @ RVR: period 1000 cycles
    movs r1, #0
    str r1, [r0, #8]        @ CVR
    movs r1, #7
    str r1, [r0]            @ enable, interrupt, core clock
    sev                     @ marks the cycle the counter started
1:  wfi
    b 1b
    .thumb_func
systick:
    ldr r0, =0x20000100
    ldr r1, [r0]
    adds r1, r1, #1
    str r1, [r0]
    bx lr
    .ltorg
""")
    built = machine(tmp_path, elf)
    (start,) = sev_cycles(built) or (None,)
    built.machine.run(10_600)
    (start,) = sev_cycles(built)
    ticks = [cycle for cycle, _ in entries(built, 15)]
    assert ticks == [start + 1000 * k + 12 for k in range(1, len(ticks) + 1)]
    assert len(ticks) == (10_600 - start - 12) // 1000
    assert word(built, 0x20000100) == len(ticks)


def test_faults_escalate_to_hardfault_with_status(tmp_path):
    elf = assemble(tmp_path, """
    .thumb_func
    .global reset
reset:
    nop
faulting:
    udf #1
    b .
    .thumb_func
hardfault:
    ldr r0, =0xE000ED2C
    ldr r1, [r0]            @ HFSR
    ldr r0, =0xE000ED28
    ldr r2, [r0]            @ CFSR
    ldr r3, [sp, #24]       @ stacked PC
    ldr r0, =0x20000100
    str r1, [r0]
    str r2, [r0, #4]
    str r3, [r0, #8]
    b .
    .ltorg
""")
    built = machine(tmp_path, elf)
    built.core("cpu").fault_policy = "deliver"
    built.machine.run(500)
    from tests.guest.build import symbol

    assert word(built, 0x20000100) & (1 << 30)  # HFSR.FORCED
    assert word(built, 0x20000104) & (1 << 16)  # CFSR.UNDEFINSTR
    assert word(built, 0x20000108) == symbol(elf, "faulting")


def test_m0_rejects_armv7m_instructions(tmp_path):
    elf = assemble(tmp_path, """
    .thumb_func
    .global reset
reset:
    nop
    .inst.w 0xFBB0F0F1      @ udiv r0, r0, r1: ARMv7-M only
    b .
""", "cortex-m0")
    built = machine(tmp_path, elf, "cortex-m0", entry_cycles=16)
    try:
        built.machine.run(500)
    except GuestError as exc:
        assert "HardFault" in str(exc) and "0xfbb0f0f1" in str(exc) and "cpu" in str(exc)
    else:
        raise AssertionError("the Cortex-M0 executed a Cortex-M4 instruction")


def test_thread_on_psp_and_stack_alignment(tmp_path):
    elf = assemble(tmp_path, """
    .thumb_func
    .global reset
reset:
    ldr r0, =0x20004004     @ 4 mod 8: the frame needs the alignment word
    msr psp, r0
    movs r0, #2
    msr control, r0         @ thread mode now uses PSP
    isb
    mov r4, sp
    svc #0
    mov r5, sp
    ldr r0, =0x20000100
    str r4, [r0]
    str r5, [r0, #4]
    b .
    .thumb_func
svc:
    mrs r1, psp
    ldr r2, [r1, #28]       @ stacked xPSR
    ldr r0, =0x20000100
    str lr, [r0, #8]
    str r1, [r0, #12]
    str r2, [r0, #16]
    bx lr
    .ltorg
""")
    built = machine(tmp_path, elf)
    built.machine.run(500)
    assert word(built, 0x20000100) == 0x20004004
    assert word(built, 0x20000104) == 0x20004004  # restored, alignment word removed
    assert word(built, 0x20000108) == 0xFFFFFFFD  # return to thread mode on PSP
    assert word(built, 0x2000010C) == (0x20004004 - 0x20) & ~7
    assert word(built, 0x20000110) & (1 << 9)  # stacked xPSR records the realignment


def test_dwt_cycle_counter_reads_exact_cycles(tmp_path):
    elf = assemble(tmp_path, """
    .thumb_func
    .global reset
reset:
    ldr r0, =0xE000EDFC
    ldr r1, =0x01000000
    str r1, [r0]            @ DEMCR.TRCENA
    ldr r0, =0xE0001000
    movs r1, #1
    str r1, [r0]            @ DWT_CTRL.CYCCNTENA
    ldr r1, [r0, #4]
    nop
    nop
    nop
    nop
    nop
    ldr r2, [r0, #4]
    subs r2, r2, r1
    ldr r0, =0x20000100
    str r2, [r0]
    b .
    .ltorg
""")
    built = machine(tmp_path, elf)
    built.machine.run(300)
    assert word(built, 0x20000100) == 6  # five NOPs and the second load


def test_wfe_consumes_a_pending_event_then_sleeps_until_an_interrupt(tmp_path):
    elf = assemble(tmp_path, MARK + """
    .thumb_func
    .global reset
reset:
    log_init
    sev                     @ sets this core's event register
    wfe                     @ consumes it: no sleep
    mark 1
    ldr r0, =0xE000E010
    ldr r1, =299
    str r1, [r0, #4]
    movs r1, #0
    str r1, [r0, #8]
    movs r1, #7
    str r1, [r0]            @ SysTick in 300 cycles
    wfe                     @ sleeps: no event pending
    mark 3
    b .
    .thumb_func
systick:
    mark 2
    movs r1, #0
    ldr r0, =0xE000E010
    str r1, [r0]
    bx lr
    .ltorg
""")
    built = machine(tmp_path, elf)
    built.machine.run(2000)
    assert log(built) == [1, 2, 3]
    sleeps = [c for c, core, kind, f in built.machine.trace.records if kind == "sleep"]
    assert len(sleeps) == 1  # only the second WFE slept


def test_registers_survive_switching_instances_in_unprivileged_thread_mode(tmp_path):
    """Lockstep moves a core to its precise instance; Unicorn hides banked SPs when unprivileged."""
    from unicorn import arm_const as A

    from bench.emu.cortexm import _save_registers

    elf = assemble(tmp_path, """
    .thumb_func
    .global reset
reset:
    ldr r0, =0x20004000
    msr psp, r0
    movs r0, #3
    msr control, r0         @ unprivileged, on PSP
    isb
    movs r7, #77
    adds r7, r7, #0         @ sets flags: Z=0, N=0
    svc #0                  @ the handler returns to unprivileged thread mode
    push {r7}
    b .
    .thumb_func
svc:
    mrs r6, msp
    bx lr
    .ltorg
""")
    built = machine(tmp_path, elf)
    core = built.core("cpu")
    built.machine.run(40)  # well past the SVC: parked in `b .`, unprivileged on PSP
    before = _save_registers(core.regs, True)
    assert before[A.UC_ARM_REG_CONTROL] == 3 and before[A.UC_ARM_REG_PSP] == 0x20004000 - 4
    assert before[A.UC_ARM_REG_MSP] != 0  # read through the privileged detour
    core.select_precise()
    assert _save_registers(core.regs, True) == before
    core.run(core.cycles + 1)  # back to the fast instance
    assert _save_registers(core.regs, True) == before
    assert word(built, 0x20004000 - 4) == 77
