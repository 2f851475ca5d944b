"""LPC43xx SCU (0x40086000): pin multiplexing and pin electrical settings.

The emulator has no pins, so what matters is that software reads back what it
configured (mainline pinctrl-lpc18xx.c does read-modify-write on the SFS
registers). Reset value of the pin configuration registers: 0 (function 0).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bench.emu.peripheral import Peripheral

if TYPE_CHECKING:
    from bench.emu.cortexm import CortexM


class Lpc43xxScu(Peripheral):
    def __init__(self) -> None:
        self.regs: dict[int, int] = {}

    def read(self, core: CortexM, offset: int, size: int) -> int:
        return self.regs.get(offset & ~3, 0)

    def write(self, core: CortexM, offset: int, size: int, value: int) -> None:
        self.regs[offset & ~3] = value
