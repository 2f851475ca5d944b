"""LPC43xx CREG (0x40043000): shadow memory maps and the inter-core event latches.

Facts (LPC43xx user manual, mainline drivers): M4MEMMAP +0x100 and
M0APPMEMMAP +0x404 select what each core sees at address 0 (4 KiB aligned);
M4TXEVENT +0x130 latches the M4's SEV (TXEV) and drives the M0's IRQ 1 until
software writes 0; M0TXEVENT +0x400 does the same from the M0 to the M4's IRQ 1.
Other registers are kept as plain storage.
"""

from __future__ import annotations

import ctypes
from typing import TYPE_CHECKING

from bench.emu import native
from bench.emu.memory import PAGE
from bench.emu.peripheral import IrqLine, Peripheral

if TYPE_CHECKING:
    from bench.emu.cortexm import CortexM
    from bench.emu.machine import Machine
    from bench.emu.memory import Memory

M4MEMMAP, M4TXEVENT, M0TXEVENT, M0APPMEMMAP = 0x100, 0x130, 0x400, 0x404


def _output(offset: int, doc: str) -> property:
    """An interrupt output of a latch, which the .repl wiring sets (an IrqLine)."""
    def get(creg: Lpc43xxCreg) -> IrqLine | None:
        return creg._line(offset)

    def wire(creg: Lpc43xxCreg, line: IrqLine) -> None:
        creg._wire(offset, line)
    return property(get, wire, doc=doc)


class Lpc43xxCreg(Peripheral):
    """The CREG block of an LPC43xx with an M0APP coprocessor."""

    def __init__(self, machine: Machine, m4: CortexM, m0: CortexM, memories: list[Memory],
                 m4_memmap: int = 0x1A000000) -> None:
        self.machine = machine
        self.m4, self.m0 = m4, m0
        self.memories = memories
        self.regs: dict[int, int] = {M4MEMMAP: m4_memmap, M0APPMEMMAP: 0x20000000}
        # M4TXEVENT and M0TXEVENT: their values live in native latches, so that the core an event
        # interrupts clears it, and its interrupt line, without Python (native/mmio.c).
        self.latches = (native.Latch * 2)(native.Latch(offset=M4TXEVENT), native.Latch(offset=M0TXEVENT))
        # By latch, wired by the .repl (a tuple: a snapshot keeps it as it is, lines and all).
        self._lines: tuple[IrqLine | None, IrqLine | None] = (None, None)
        self._shadow: dict[str, tuple[int, int, int]] = {}  # core name: (base, size, host address)
        machine.wire_sev_latch(m4, self.latches[0], None)  # an M4 SEV sets M4TXEVENT, ...
        machine.wire_sev_latch(m0, self.latches[1], None)  # ... an M0 SEV M0TXEVENT
        self._map_shadow(m4, m4_memmap)
        self._map_shadow(m0, self.regs[M0APPMEMMAP])

    to_m0 = _output(M4TXEVENT, "M4TXEVENT's output, wired to the M0's IRQ 1 by the .repl.")
    to_m4 = _output(M0TXEVENT, "M0TXEVENT's output, wired to the M4's IRQ 1.")

    def _wire(self, offset: int, line: IrqLine) -> None:
        index = self._index(offset)
        self._lines = (line, self._lines[1]) if index == 0 else (self._lines[0], line)
        latch = self.latches[index]
        latch.irq, latch.wire = line.irq, ctypes.pointer(line.wire)
        latch.target = ctypes.pointer(line.core.state)
        self.machine.wire_sev_latch(self.m4 if index == 0 else self.m0, latch, line)

    @staticmethod
    def _index(offset: int) -> int:
        return 0 if offset == M4TXEVENT else 1

    def _latch(self, offset: int) -> native.Latch:
        return self.latches[self._index(offset)]

    def _line(self, offset: int) -> IrqLine | None:
        return self._lines[self._index(offset)]

    def native_latches(self) -> ctypes.Array[native.Latch]:
        return self.latches

    def ipi_routes(self) -> list[tuple[CortexM, CortexM, int]]:
        """(sender, receiver, IRQ) for each SEV-driven inter-core interrupt (for probes)."""
        routes = []
        if self.to_m0 is not None:
            routes.append((self.m4, self.m0, self.to_m0.irq))
        if self.to_m4 is not None:
            routes.append((self.m0, self.m4, self.to_m4.irq))
        return routes

    def _map_shadow(self, core: CortexM, base: int) -> None:
        """Alias `base`.. at address 0 for `core` (the rest of the memory block that holds it)."""
        memory = next((m for m in self.memories if m.contains(base)), None)
        size = (memory.end - base) // PAGE * PAGE if memory is not None else 0
        alias = (0, size, memory.host_address(base)) if memory is not None and size else None
        if self._shadow.get(core.name) == alias:
            return  # (a snapshot restore puts back the alias the core has: its code stays valid)
        if core.name in self._shadow:
            core.unmap_ram(*self._shadow.pop(core.name)[:2])
        if memory is not None and alias is not None:
            core.map_ram(0, size, alias[2], memory.writable)
            self._shadow[core.name] = alias
            core.flush_code_cache()
        # A shadow pointing at no memory: accesses at 0 fault, as on the chip.

    def after_restore(self) -> None:
        """A snapshot restored the registers: make each core's address 0 match them again."""
        self._map_shadow(self.m4, self.regs[M4MEMMAP])
        self._map_shadow(self.m0, self.regs[M0APPMEMMAP])

    def read(self, core: CortexM, offset: int, size: int) -> int:
        offset &= ~3
        if offset in (M4TXEVENT, M0TXEVENT):
            return self._latch(offset).value
        return self.regs.get(offset, 0)

    def write(self, core: CortexM, offset: int, size: int, value: int) -> None:
        offset &= ~3
        if offset in (M4MEMMAP, M0APPMEMMAP):
            value &= ~(PAGE - 1)
            self.regs[offset] = value
            target = self.m4 if offset == M4MEMMAP else self.m0
            if target is core:
                self._map_shadow(target, value)
            else:
                self.machine.post(lambda: self._map_shadow(target, value))
            return
        if offset not in (M4TXEVENT, M0TXEVENT):
            self.regs[offset] = value
            return
        self._latch(offset).value = value
        line = self._line(offset)
        if not value & 1 and line is not None:
            line.set(False)

