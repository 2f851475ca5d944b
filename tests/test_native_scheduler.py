"""The scheduler's native iterations (bench/emu/native/scheduler.c) give the engine loop's result.

bench_machine_run does the iterations of Machine.run that need no engine (lone runs, lockstep
episodes, SEV deliveries) and hands over to the engine's loop where it would do anything
else; AMP_BENCH_NATIVE_LOOP=off runs every iteration in Python, the reference. Same trace,
cycle for cycle, with timed events of the engine's (the background UART load) in between.
"""

from __future__ import annotations

import pytest

from bench.emu.machine import Machine
from bench.scenarios.remoteproc import echo
from tests.modes import ipi_in_modes


@pytest.mark.parametrize("load", [0, 1])
def test_ipi_ping_pong_with_the_native_loop_equals_the_engine_loop(tmp_path, platform, monkeypatch, load):
    results = ipi_in_modes(tmp_path, monkeypatch, "AMP_BENCH_NATIVE_LOOP", ("off", "on"), platform, 80, load, 11)
    assert results["on"]["passed"], results["on"]
    assert results["on"]["directions"] == results["off"]["directions"]
    assert results["on"]["trace_digest"] == results["off"]["trace_digest"]


def test_linux_rpmsg_with_the_native_loop_equals_the_engine_loop(linux, linux_booted, monkeypatch):
    """Linux on the M4 and the echo firmware on the M0: the same trace, and the lockstep
    episodes and lone runs of each message run in C, not in the engine's loop."""
    machine = linux.session.machine
    _, snapshot = linux_booted
    digests, engine_episodes = {}, {}
    python_lockstep = Machine._run_lockstep

    def counted(self: Machine, runnable: list, horizon: int) -> None:
        engine_episodes[self.native_loop] = engine_episodes.get(self.native_loop, 0) + 1
        python_lockstep(self, runnable, horizon)
    monkeypatch.setattr(Machine, "_run_lockstep", counted)
    try:
        for native_loop in (False, True):
            machine.native_loop = native_loop
            linux.restore(snapshot)
            result: dict = {}
            echo(linux, result, sizes=[1, 496], count=4)
            assert result["passed"] and result["mismatches"] == 0, result
            digests[native_loop] = machine.trace.digest
    finally:
        machine.native_loop = True
    assert engine_episodes[False] > 20 and engine_episodes.get(True, 0) * 5 < engine_episodes[False], engine_episodes
    assert digests[True] == digests[False]
