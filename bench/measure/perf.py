"""Throughput benchmark: the engine next to bare Unicorn on the same compute-bound code.

Both run firmware/lpc4337/m4_compute from its reset vector to `compute_done`
(no MMIO on the way), in the same process and run, so the ratio is meaningful
on a noisy shared machine. Bare Unicorn has no hook at all, so it cannot count
instructions: the count is the engine's exact one for the same path.
"""

from __future__ import annotations

import ctypes
import struct
import tempfile
import time
from typing import Any

from unicorn import UC_ARCH_ARM, UC_MODE_THUMB, Uc
from unicorn import arm_const as A

from bench.emu.cortexm import BREAKPOINT
from bench.emu.elf import read_elf
from bench.emu.machine import NEVER
from bench.session import Session, firmware


def _engine(platform: str, rounds: int, quantum: int) -> tuple[int, float]:
    with tempfile.TemporaryDirectory() as tmp, Session(platform, tmp, quantum) as session:
        image = session.load("cpu_m4", firmware("m4_compute"))
        session.patch_params(image, rounds=rounds)
        stop_at = image.symbol("compute_done") & ~1
        core = session.built.core("cpu_m4")
        session.power_on("cpu_m4")
        machine = session.machine
        start = time.perf_counter()
        while True:
            machine.running = core
            outcome = core.run(NEVER, until=stop_at, pause=core.cycles + quantum)
            machine.running = None
            if outcome == BREAKPOINT:
                break
            if core.halted_error is not None:
                raise core.halted_error
        return core.instructions, time.perf_counter() - start


def _bare(rounds: int) -> float:
    image = read_elf(firmware("m4_compute"))
    uc = Uc(UC_ARCH_ARM, UC_MODE_THUMB)
    uc.ctl_set_cpu_model(A.UC_CPU_ARM_CORTEX_M4)
    buffers = []
    for base, size in ((0x1A000000, 0x80000), (0x10000000, 0x8000)):
        buf = (ctypes.c_ubyte * size)()
        buffers.append(buf)
        uc.mem_map_ptr(base, size, 7, ctypes.addressof(buf))
    for segment in image.segments:
        uc.mem_write(segment.address, segment.data)
    params = image.symbol("bench_params")
    uc.mem_write(params + 4, struct.pack("<I", rounds))
    sp, pc = struct.unpack("<II", uc.mem_read(0x1A000000, 8))
    uc.reg_write(A.UC_ARM_REG_MSP, sp)
    start = time.perf_counter()
    uc.emu_start(pc | 1, image.symbol("compute_done") & ~1)
    return time.perf_counter() - start


def run_perf(platform: str, rounds: int, repeat: int) -> dict[str, Any]:
    """Print and return MIPS figures: bare Unicorn, the engine at a few quanta, and ratios."""
    bare = min(_bare(rounds) for _ in range(repeat))
    rows = {}
    instructions = 0
    for quantum in (100_000, 10_000, 1_000):
        best = None
        for _ in range(repeat):
            instructions, wall = _engine(platform, rounds, quantum)
            best = wall if best is None else min(best, wall)
        rows[quantum] = best
    bare_mips = instructions / bare / 1e6
    print(f"m4_compute, {rounds} rounds = {instructions} instructions (best of {repeat})")
    print(f"  bare Unicorn (no hooks)          {bare:7.3f} s  {bare_mips:7.1f} MIPS")
    document: dict[str, Any] = {"instructions": instructions, "bare_unicorn": {"wall_s": bare, "mips": bare_mips},
                                "engine": {}}
    for quantum, wall in rows.items():
        mips = instructions / wall / 1e6
        print(f"  engine, quantum {quantum:>7}         {wall:7.3f} s  {mips:7.1f} MIPS  "
              f"({mips / bare_mips:.0%} of bare Unicorn)")
        document["engine"][str(quantum)] = {"wall_s": wall, "mips": mips, "ratio_to_bare": mips / bare_mips}
    return document
