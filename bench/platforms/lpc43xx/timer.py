"""LPC43xx TIMER0-3 (mainline: "nxp,lpc3220-timer"): a 32-bit counter with four match registers.

Registers (UM10503 / timer-lpc32xx.c): IR +0x00 (match flags, write 1 to clear),
TCR +0x04 (bit 0 enable, bit 1 reset), TC +0x08, PR +0x0C, PC +0x10, MCR +0x14
(per match: interrupt, reset, stop), MR0-3 +0x18..+0x24, CTCR +0x70 (0: timer).
The counter is evaluated lazily from virtual time and matches are timed events,
so reading TC costs nothing and interrupts arrive at the exact cycle. The timer
is clocked by its branch clock, which runs at the core clock on this platform.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bench.emu import native
from bench.emu.peripheral import IrqLine, Peripheral

if TYPE_CHECKING:
    from bench.emu.cortexm import CortexM
    from bench.emu.machine import Machine

IR, TCR, TC, PR, PC, MCR, MR0, CTCR = 0x00, 0x04, 0x08, 0x0C, 0x10, 0x14, 0x18, 0x70
TCR_CEN, TCR_CRST = 1, 2


class Lpc43xxTimer(Peripheral):
    def __init__(self, machine: Machine, name: str) -> None:
        self.machine = machine
        self.name = name
        self.ir = self.tcr = self.pr = self.mcr = self.ctcr = 0
        self.mr = [0, 0, 0, 0]
        self._ticks = 0   # prescaled ticks counted at _anchor (TC * (PR + 1) + PC)
        self._anchor = 0
        self._event: object | None = None
        self.irq: IrqLine | None = None
        self._native = native.CycleCounter(offset=TC)
        self._publish()

    def native_counter(self) -> native.CycleCounter:
        return self._native

    def _publish(self) -> None:
        """Bring the native mirror of TC (read at device-access sites by native/mmio.c) up to date."""
        mirror = self._native
        mirror.running, mirror.ticks, mirror.anchor = int(self._running()), self._ticks, self._anchor
        mirror.divisor = self.pr + 1

    def after_restore(self) -> None:
        self._publish()

    # ---------------------------------------------------------------- time
    def _running(self) -> bool:
        return bool(self.tcr & TCR_CEN) and not self.tcr & TCR_CRST

    def _now_ticks(self) -> int:
        """Clock ticks counted so far (TC * (PR + 1) + PC); a reset-on-match restarts at 0."""
        if not self._running():
            return self._ticks
        return max(0, self._ticks + self.machine.now() - self._anchor)

    def _freeze(self) -> None:
        self._ticks, self._anchor = self._now_ticks(), max(self.machine.now(), self._anchor)

    def counter(self) -> int:
        return (self._now_ticks() // (self.pr + 1)) & 0xFFFFFFFF

    def _reschedule(self) -> None:
        """Time the next match (any MR with an action in MCR) as an event."""
        if self._event is not None:
            self.machine.cancel(self._event)
            self._event = None
        if not self._running():
            return
        prescale, now_ticks = self.pr + 1, self._now_ticks()
        targets = []
        for n in range(4):
            if self.mcr >> (3 * n) & 7:
                target = self.mr[n] * prescale
                if target <= now_ticks:
                    target += (1 << 32) * prescale  # already passed: after the counter wraps
                targets.append(target)
        if targets:
            when = self.machine.now() + min(targets) - now_ticks
            self._event = self.machine.schedule(when, self._match)

    def _match(self) -> None:
        """TC reached a match value: flag, interrupt, reset and/or stop as MCR says."""
        self._event = None
        self._freeze()
        tc = self.counter()
        restart = False
        for n in range(4):
            if self.mr[n] != tc:
                continue
            control = (self.mcr >> (3 * n)) & 7
            if control & 1:
                self.ir |= 1 << n
            if control & 2:
                restart = True
            if control & 4:
                self.tcr &= ~TCR_CEN
        if restart:
            # TC and PC return to 0 on the next tick, so a period is MR + 1 ticks.
            self._ticks, self._anchor = 0, self.machine.now() + 1
        self._publish()
        self._update_irq()
        self._reschedule()

    def _update_irq(self) -> None:
        if self.irq is not None:
            self.irq.set(bool(self.ir & 0xF))

    # ------------------------------------------------------------- registers
    def read(self, core: CortexM, offset: int, size: int) -> int:
        offset &= ~3
        if offset == IR:
            return self.ir
        if offset == TCR:
            return self.tcr
        if offset == TC:
            return self.counter()
        if offset == PR:
            return self.pr
        if offset == PC:
            return self._now_ticks() % (self.pr + 1)
        if offset == MCR:
            return self.mcr
        if MR0 <= offset <= MR0 + 12:
            return self.mr[(offset - MR0) // 4]
        if offset == CTCR:
            return self.ctcr
        return 0

    def write(self, core: CortexM, offset: int, size: int, value: int) -> None:
        offset &= ~3
        value &= 0xFFFFFFFF
        if offset == IR:
            self.ir &= ~value
            self._update_irq()
            return
        self._freeze()
        if offset == TCR:
            self.tcr = value & 3
            if self.tcr & TCR_CRST:
                self._ticks = 0
        elif offset == TC:
            self._ticks = value * (self.pr + 1)
        elif offset == PR:
            self._ticks = (self._ticks // (self.pr + 1)) * (value + 1)
            self.pr = value
        elif offset == PC:
            self._ticks = (self._ticks // (self.pr + 1)) * (self.pr + 1) + value % (self.pr + 1)
        elif offset == MCR:
            self.mcr = value & 0xFFF
        elif MR0 <= offset <= MR0 + 12:
            self.mr[(offset - MR0) // 4] = value
        elif offset == CTCR:
            self.ctcr = value
        self._publish()
        self._reschedule()
