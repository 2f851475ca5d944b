"""LPC43xx RGU (0x40053000): the reset generation unit, as far as the M0APP goes.

Facts: RESET_CTRL1 +0x104 bit 24 holds the M0APP core in reset while it is 1
(LPCOpen's Chip_RGU_TriggerReset / ClearReset); RESET_ACTIVE_STATUS1 +0x154
reads 1 for a block that is NOT in reset. The M0APP is in reset at power-on.
Other resets are self-clearing and have no modelled effect.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bench.emu.peripheral import Peripheral

if TYPE_CHECKING:
    from bench.emu.cortexm import CortexM
    from bench.emu.machine import Machine

RESET_CTRL0, RESET_CTRL1 = 0x100, 0x104
RESET_ACTIVE_STATUS0, RESET_ACTIVE_STATUS1 = 0x150, 0x154
M0APP_BIT = 1 << 24


class Lpc43xxRgu(Peripheral):
    """Holds and releases the M0APP core."""

    def __init__(self, machine: Machine, m0: CortexM) -> None:
        self.machine = machine
        self.m0 = m0
        self.ctrl1 = M0APP_BIT
        self.regs: dict[int, int] = {}

    def read(self, core: CortexM, offset: int, size: int) -> int:
        offset &= ~3
        if offset == RESET_CTRL1:
            return self.ctrl1
        if offset == RESET_ACTIVE_STATUS0:
            return 0xFFFFFFFF
        if offset == RESET_ACTIVE_STATUS1:
            return 0xFFFFFFFF & ~(M0APP_BIT if self.m0.in_reset else 0)
        return self.regs.get(offset, 0)

    def write(self, core: CortexM, offset: int, size: int, value: int) -> None:
        offset &= ~3
        if offset != RESET_CTRL1:
            self.regs[offset] = value
            return
        held = bool(value & M0APP_BIT)
        self.ctrl1 = value & M0APP_BIT
        if held and not self.m0.in_reset:
            self.machine.post(self._hold)
        elif not held and self.m0.in_reset:
            self.machine.post(self._release)

    def _hold(self) -> None:
        self.m0.hold_in_reset()
        self.machine.trace.record(self.machine.now(), self.m0.name, "reset-hold")

    def _release(self) -> None:
        if self.m0.in_reset:
            self.m0.release_from_reset(self.machine.now())
