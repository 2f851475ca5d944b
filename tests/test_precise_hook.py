"""The precise (per-instruction) hook's short path for plain code it has looked at already.

The hook remembers that the straight line after an instruction holds nothing for it but
counting (no hint, mask change, IT block or probe); the next instructions there, in a line or
round a loop, only count. What it must still see there it sees: a hint, a CPSIE or an IT
block right after such a line, a probe in it, a branch into its middle, and runs cut
anywhere (what the hook remembers holds for one emulation start). Everything matches the
fast (block-counted) instance: registers, the cycle of every SEV and probe, the cycle count.
"""

from __future__ import annotations

import pytest
from unicorn import arm_const as A

from bench.emu import native
from bench.scenarios.remoteproc import echo
from tests.guest.build import assemble, machine, symbol

PROGRAM = """
    .thumb_func
    .global reset
reset:
    movs r5, #0
    movs r6, #0
    movs r7, #0
loop:
    adds r6, r6, r5         @ a plain line, known from the second round on
back:
    adds r5, r5, #1         @ ... also entered in its middle (bne back below)
    lsls r7, r5, #1
    .global target
target:
    adds r6, r6, r7         @ a probe inside the line
    cpsie i                 @ a mask change right after plain code
    cmp r5, #4
    ite lt                  @ an IT block right after plain code: one of the two is skipped
    addlt r6, r6, #3
    addge r6, r6, #5
    tst r5, #1
    it ne
    bne next                @ the IT block's last instruction branches (or is skipped)
    sev                     @ a hint after it, on even rounds
next:
    adds r7, r7, #1
    adds r6, r6, r7
    cmp r5, #12
    beq done
    tst r5, #2
    bne back                @ into the middle of the line
    b loop
done:
    sev
    b .
"""

CYCLES = 600


def _outcome(built, hits) -> tuple:
    core = built.core("cpu")
    core.drain_probes()
    sevs = [c for c, _core, kind, _f in built.machine.trace.records if kind == "sev"]
    regs = tuple(core.reg(r) for r in (A.UC_ARM_REG_R5, A.UC_ARM_REG_R6, A.UC_ARM_REG_R7))
    return regs, sevs, list(hits), core.cycles


def _run(tmp_path, elf, cut: int | None, bulk: bool = True) -> tuple:
    built = machine(tmp_path, elf)
    core = built.core("cpu")
    core.precise_bulk = bulk
    hits: list[tuple[int, int]] = []
    core.on_probe = lambda _core, probe, cycle: hits.append((probe, cycle))
    core.set_probes([symbol(elf, "target")])
    if cut is None:
        built.machine.run(CYCLES)
    else:
        built.machine.running = core
        while core.cycles < CYCLES:
            core.run(min(core.cycles + cut, CYCLES), precise=True)
        built.machine.running = None
    return _outcome(built, hits)


@pytest.mark.parametrize("bulk", [True, False], ids=["bulk", "per-instruction"])
@pytest.mark.parametrize("cut", [CYCLES, 7, 1], ids=["one-run", "cut-every-7", "cut-every-cycle"])
def test_precise_runs_of_known_plain_code_match_the_fast_instance(tmp_path, cut, bulk):
    elf = assemble(tmp_path, PROGRAM)
    reference = _run(tmp_path, elf, None)
    (r5, _r6, _r7), sevs, hits, _cycles = reference
    assert r5 == 12 and len(sevs) >= 6 and len(hits) >= 12  # the program ran through every path
    assert _run(tmp_path, elf, cut, bulk) == reference


def test_bulk_blocks_give_the_per_instruction_result(linux, linux_booted):
    """The precise instance runs plain blocks in bulk, each instruction counting itself inline
    (bench_hook_block_precise), with TLB fills, device accesses and exceptions in the middle of
    such blocks: Linux and the M0 echoing RPMsg in lockstep windows must leave the trace of the
    hook seeing every instruction (AMP_BENCH_PRECISE_BULK=off), cycle for cycle."""
    if not native.library().bench_has_insn_gate():
        pytest.skip("needs the bench's Unicorn build (third_party/unicorn, patch 0008)")
    machine = linux.session.machine
    _, snapshot = linux_booted
    digests, bulk_blocks = {}, {}
    try:
        for bulk in (False, True):
            linux.restore(snapshot)
            for core in machine.cores:
                core.precise_bulk = bulk
            before = sum(core.bulk_blocks for core in machine.cores)
            result: dict = {}
            echo(linux, result, sizes=[1, 496], count=3)
            assert result["passed"] and result["mismatches"] == 0, result
            digests[bulk] = machine.trace.digest
            bulk_blocks[bulk] = sum(core.bulk_blocks for core in machine.cores) - before
    finally:
        for core in machine.cores:
            core.precise_bulk = True
    assert bulk_blocks[False] == 0 and bulk_blocks[True] > 1000
    assert digests[True] == digests[False]
