"""LPC43xx clock blocks: CGU (0x40050000) and CCU1/CCU2 (0x40051000/0x40052000).

Facts (mainline clk-lpc18xx-cgu.c / clk-lpc18xx-ccu.c, UM10503): the boot
firmware of a board leaves PLL1 locked at 204 MHz (12 MHz crystal x 17,
direct mode: PLL1_CTRL 0x061008C0, PLL1_STAT bit 0 = lock) and the base clocks
on PLL1; Linux reads this state back to know its clock rates. CCU branch
clocks reset to RUN; a write of CFG is mirrored in STAT (CFG + 4), which the
driver reads to tell whether a gate is enabled.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bench.emu.peripheral import Peripheral

if TYPE_CHECKING:
    from bench.emu.cortexm import CortexM

PLL1_STAT, PLL1_CTRL = 0x040, 0x044
PLL1_204MHZ = 0x061008C0
BASE_FIRST, BASE_LAST = 0x05C, 0x0C4  # BASE_SAFE_CLK .. BASE_CGU_OUT1_CLK
BASE_ON_PLL1 = (0x09 << 24) | (1 << 11)  # clock source PLL1, AUTOBLOCK
BASE_ON_IRC = (0x01 << 24) | (1 << 11)


class Lpc43xxCgu(Peripheral):
    """Clock generation unit as a booted board leaves it: PLL1 locked, base clocks on PLL1."""

    def __init__(self) -> None:
        self.regs: dict[int, int] = {PLL1_STAT: 1, PLL1_CTRL: PLL1_204MHZ}
        for offset in range(BASE_FIRST, BASE_LAST + 4, 4):
            self.regs[offset] = BASE_ON_PLL1
        self.regs[BASE_FIRST] = BASE_ON_IRC  # BASE_SAFE_CLK always runs from the internal RC

    def read(self, core: CortexM, offset: int, size: int) -> int:
        return self.regs.get(offset & ~3, 0)

    def write(self, core: CortexM, offset: int, size: int, value: int) -> None:
        offset &= ~3
        if offset == PLL1_STAT:
            return  # read-only
        self.regs[offset] = value
        if offset == PLL1_CTRL:
            self.regs[PLL1_STAT] = 0 if value & 1 else 1  # powered down: no lock; else locks at once


class Lpc43xxCcu(Peripheral):
    """Clock control unit: branch clock CFG registers (RUN at reset) with STAT mirrors."""

    def __init__(self) -> None:
        self.cfg: dict[int, int] = {}

    def read(self, core: CortexM, offset: int, size: int) -> int:
        offset &= ~3
        if offset < 0x100:
            return self.cfg.get(offset, 0)  # PM / BASE_STAT: nothing powered down
        return self.cfg.get(offset & ~7, 1) & 0x7

    def write(self, core: CortexM, offset: int, size: int, value: int) -> None:
        offset &= ~3
        if offset >= 0x100 and offset & 4:
            return  # STAT is read-only
        self.cfg[offset] = value
