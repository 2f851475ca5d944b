"""Native exception steps (bench/emu/native/exceptions.c, hints.c) give the Python engine's result.

The native code takes pending exceptions, SVCs and exception returns (with tail-chaining),
and SEV/WFI/WFE with the SEV's delivery to the other core, itself, also inside lockstep;
the Python engine (AMP_BENCH_NATIVE_EXC=off) remains the reference. Same trace, cycle for
cycle and in the same order, including where two cores handle exceptions in the same cycle
(the IPI ping-pong under load does).
"""

from __future__ import annotations

import pytest

from bench.emu.cortexm import CortexM
from bench.measure.probes import ProbeRecorder, load_spec
from bench.scenarios.boot import linux_inputs
from bench.scenarios.campaign import DEFAULT_PROBES, probe_images
from bench.scenarios.remoteproc import echo
from bench.session import firmware
from tests.modes import ipi_in_modes


@pytest.mark.parametrize("load", [0, 1])
def test_ipi_ping_pong_natively_equals_the_python_engine(tmp_path, platform, monkeypatch, load):
    results = ipi_in_modes(tmp_path, monkeypatch, "AMP_BENCH_NATIVE_EXC", ("off", "on"), platform, 80, load, 7)
    assert results["on"]["passed"], results["on"]
    assert results["on"]["directions"] == results["off"]["directions"]
    assert results["on"]["trace_digest"] == results["off"]["trace_digest"]


def test_linux_rpmsg_natively_equals_the_python_engine(linux, linux_booted, monkeypatch):
    """Linux's SVCs, interrupts and PendSV tail-chains on the M4 and the M0's interrupts, with
    the M0 started through remoteproc and both cores in lockstep windows; the SEVs that kick
    each other and the WFI sleeps in between; the probes on them."""
    machine = linux.session.machine
    _, snapshot = linux_booted
    digests, steps, engine_hints, hits = {}, {}, {}, {}
    kernel, _, _ = linux_inputs(None, None, None)
    recorder = ProbeRecorder(machine, load_spec(DEFAULT_PROBES),
                             probe_images(linux, {"kernel": kernel, "m0-firmware": firmware("m0_rpmsg")}))
    python_hint = CortexM._hint

    def counted_hint(core: CortexM, kind: int, size: int) -> None:
        engine_hints[native_exc] = engine_hints.get(native_exc, 0) + 1
        python_hint(core, kind, size)
    monkeypatch.setattr(CortexM, "_hint", counted_hint)
    try:
        for native_exc in (0, 1):
            for core in machine.cores:
                core.state.native_exc = native_exc
            linux.restore(snapshot)
            recorder.clear()
            before = machine.native_steps
            result: dict = {}
            echo(linux, result, sizes=[1, 496], count=3)
            assert result["passed"] and result["mismatches"] == 0, result
            digests[native_exc] = machine.trace.digest
            steps[native_exc] = machine.native_steps - before
            hits[native_exc] = sorted(recorder.hits)
    finally:
        recorder.detach()
        for core in machine.cores:
            core.state.native_exc = 1
    assert steps[0] == 0 and steps[1] > 100
    # Each message is a SEV each way and a WFI on the M0: the engine saw them all, the native
    # code all but the first at a new place (before it is a site of the fast instance).
    assert engine_hints[0] > 20 and engine_hints.get(1, 0) * 5 < engine_hints[0], engine_hints
    assert digests[1] == digests[0]
    # The probe file's points on events (system calls and the thread that made them, SEVs,
    # interrupt entries) hit the same cycles whichever side took the steps.
    spec = recorder.spec
    events = {spec.points[name].event for name in {list(spec.points)[p] for _, _, p, _ in hits[0]}}
    assert {"syscall-entry", "syscall-return", "sev", "irq-entry"} <= events
    assert len(hits[0]) > 30 and hits[1] == hits[0]
