"""What a peripheral model is, and how interrupt lines reach a core's NVIC."""

from __future__ import annotations

import ctypes
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bench.emu.cortexm import CortexM
    from bench.emu.machine import Machine
    from bench.emu.native import CycleCounter, Latch


class Peripheral:
    """A memory-mapped device. Accesses carry the core that made them (cores share devices)."""

    size = 0x1000

    def read(self, core: CortexM, offset: int, size: int) -> int:
        return 0

    def write(self, core: CortexM, offset: int, size: int, value: int) -> None:
        pass

    def exact(self, offset: int, is_write: bool) -> bool:
        """Whether this access must happen at its exact cycle (see CortexM.map_mmio).

        A read may say no only if it has no side effect and its value cannot change
        between two scheduler steps, other than through this core's own exact accesses.
        """
        return True

    def native_counter(self) -> CycleCounter | None:
        """A register whose value follows the cycle, mirrored natively so that the fast instance
        reads it without calling into Python (native/mmio.c); the model keeps the mirror equal
        to its own state. None: no such register."""
        return None

    def native_latches(self) -> ctypes.Array[Latch] | None:
        """Event latches whose target core clears them, and its own interrupt line with them,
        without calling into Python (native/mmio.c): the model keeps their values there.
        None: none."""
        return None


class IrqLine:
    """A level-sensitive wire from a device output to one IRQ input of one core's NVIC.

    A change made by the core that owns the NVIC applies at once (its own
    instruction stream must see it); a change made while another core runs is an
    effect on another core, so it is queued for the next cycle (Machine.post).
    """

    def __init__(self, machine: Machine, core: CortexM, irq: int) -> None:
        self.machine = machine
        self.core = core
        self.irq = irq
        self.wire = ctypes.c_uint32(0)  # the level, where native code lowering the line sees it

    @property
    def level(self) -> bool:
        return bool(self.wire.value)

    @level.setter
    def level(self, level: bool) -> None:
        self.wire.value = int(level)

    def set(self, level: bool) -> None:
        if level == self.level:
            return
        self.level = level
        running = self.machine.running
        if running is None or running is self.core:
            self._apply(level)
        else:
            self.machine.post(lambda: self._apply(level))

    def _apply(self, level: bool) -> None:
        self.core.nvic.set_line(self.irq, level)
        self.core.interrupts_changed()
