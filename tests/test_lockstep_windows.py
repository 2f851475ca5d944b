"""Lockstep windows: awake cores run one after the other, and the result is the reference order's.

The reference (AMP_BENCH_LOCKSTEP=reference) steps the cores instruction by instruction.
Windows must give the same trace, cycle for cycle, including where they undo a core: a
leader that ran past the other core's engine stop (re-run) and pages both cores used
(conflict: both undone, the stretch stepped).
"""

from __future__ import annotations

import pytest

from bench.scenarios.remoteproc import echo
from tests.modes import ipi_in_modes


@pytest.mark.parametrize("load", [0, 1])
def test_ipi_ping_pong_in_windows_equals_the_reference(tmp_path, platform, monkeypatch, load):
    results = ipi_in_modes(tmp_path, monkeypatch, "AMP_BENCH_LOCKSTEP", ("reference", "windows"), platform, 60,
                           load, 3)
    assert results["windows"]["passed"], results["windows"]
    assert results["windows"]["directions"] == results["reference"]["directions"]
    assert results["windows"]["trace_digest"] == results["reference"]["trace_digest"]


def test_linux_and_m0_in_windows_equal_the_reference(linux, linux_booted):
    """M0 start (the M0 runs code the M4 just wrote: conflicts) and RPMsg echo (re-runs)."""
    machine = linux.session.machine
    _, snapshot = linux_booted
    digests, stats = {}, {}
    for windows in (False, True):
        linux.restore(snapshot)
        machine.lockstep_windows = windows
        before = machine.lockstep_stats()
        result: dict = {}
        echo(linux, result, sizes=[1, 496], count=3)  # starts the M0 first
        assert result["passed"] and result["mismatches"] == 0, result
        digests[windows] = machine.trace.digest
        stats[windows] = {k: v - before[k] for k, v in machine.lockstep_stats().items()}
    machine.lockstep_windows = True
    assert digests[True] == digests[False]
    assert stats[False]["windows"] == 0 and stats[False]["reference_steps"] > 1000
    assert stats[True]["windows"] > 0 and stats[True]["reference_steps"] < stats[False]["reference_steps"] / 3
    assert stats[True]["conflicts"] > 0 and stats[True]["reruns"] > 0  # both ways of undoing were exercised


@pytest.mark.parametrize(("busy", "irq_rate_hz", "count"), [(True, 20_000, 6), (False, 100_000, 40)])
def test_campaign_under_background_load_in_windows_equals_the_reference(tmp_path, busy, irq_rate_hz, count):
    """A spinning task and UART interrupts on Linux: the M4 leads long windows, reads UART status
    registers live, and is undone where the M0 needs the engine first. At 100 kHz a UART
    interrupt falls due while the M0's exception entry stalls it past that cycle: the M4 must
    still stop there (it ran 3 cycles too far once)."""
    from bench.measure.probes import load_spec
    from bench.scenarios.campaign import Batch, BatchRunner, CampaignOptions, _inputs
    from bench.scenarios.load import LoadOptions

    options = CampaignOptions(load=LoadOptions(busy=busy, irq_rate_hz=irq_rate_hz), out=str(tmp_path))
    runner = BatchRunner(options, load_spec(options.probes), _inputs(options), tmp_path / "w")
    try:
        results = {}
        for windows in (False, True):
            runner.machine.lockstep_windows = windows
            results[windows] = runner.run(Batch(index=0, size=496, count=count, seed=5))
    finally:
        runner.close()
    assert results[True]["mismatches"] == 0
    assert results[True]["histograms"] == results[False]["histograms"]
    assert results[True]["digest"] == results[False]["digest"]


def test_sites_give_the_replays_result(linux, linux_booted):
    """Device accesses, hints and probes inside blocks take effect in place at their sites
    (bench_hook_site); the trace must be the one of aborting and replaying each access and
    splitting each block (AMP_BENCH_SITES=off), cycle for cycle."""
    machine = linux.session.machine
    _, snapshot = linux_booted
    digests, learned = {}, {}
    for use_sites in (False, True):
        for core in machine.cores:
            core.use_sites = use_sites
            core.sites_learned = 0
        linux.restore(snapshot)
        for core in machine.cores:
            core.flush_code_cache()  # forgets the sites it knew (a restore keeps unchanged code's)
        result: dict = {}
        echo(linux, result, sizes=[1, 496], count=3)
        assert result["passed"] and result["mismatches"] == 0, result
        digests[use_sites] = machine.trace.digest
        learned[use_sites] = sum(core.sites_learned for core in machine.cores)
    assert learned[False] == 0 and learned[True] > 5
    assert digests[True] == digests[False]


# cpu0 leads the first window (the first lead is core 0's): it reads ICSR, then pends its IRQ 0
# (masked: not taken) ahead of cpu1, which needs the engine before that (SEV): cpu0 is undone
# to cpu1's place and runs again up to it, reading ICSR again. The NVIC write it did ahead must
# be undone with it, or the second read sees IRQ 0 pending.
NVIC_WRITE_AHEAD = """
    .thumb_func
    .global reset
reset:
    b .

    .thumb_func
    .global leader
leader:
    cpsid i                     @ IRQ 0 may pend but is not taken
    ldr r2, =0xE000E100         @ ISER0
    movs r3, #1
    str r3, [r2]                @ enable IRQ 0
    ldr r1, =0xE000ED04         @ ICSR
    ldr r6, [r1]                @ r6: no interrupt pending
    ldr r2, =0xE000E200         @ ISPR0
    movs r3, #1
    .rept 8
    nop
    .endr
    str r3, [r2]                @ pend IRQ 0, after cpu1's SEV
    ldr r7, [r1]                @ r7: IRQ 0 pending
    b .

    .thumb_func
    .global follower
follower:
    .rept 10
    nop
    .endr
    sev
    wfi
    b .
    .ltorg
"""


@pytest.mark.parametrize("mode", ["windows", "reference"])
def test_nvic_write_ahead_is_undone_with_its_core(tmp_path, monkeypatch, mode):
    from unicorn import arm_const as A

    from tests.guest.build import assemble, two_cores

    monkeypatch.setenv("AMP_BENCH_LOCKSTEP", mode)
    built = two_cores(tmp_path, assemble(tmp_path, NVIC_WRITE_AHEAD),
                      {"cpu0": ("leader", 0x20008000), "cpu1": ("follower", 0x2000C000)})
    built.machine.run(200)
    cpu0 = built.core("cpu0")
    assert cpu0.reg(A.UC_ARM_REG_R6) >> 12 & 0x1FF == 0  # VECTPENDING: none
    assert cpu0.reg(A.UC_ARM_REG_R7) >> 12 & 0x1FF == 16  # IRQ 0
    if mode == "windows":
        assert built.machine.lockstep_stats()["reruns"] >= 1
