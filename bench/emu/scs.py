"""The private System Control Space of a core (0xE000E000): NVIC, SCB, SysTick, DWT.

Unicorn does not model it (facts: trap 5), so each core maps its own copy.
Register semantics follow the ARMv7-M / ARMv6-M architecture manuals. Offsets
the enabled software touches but the model does not implement read as zero
and ignore writes (RAZ/WI), as the architecture allows for reserved space;
that includes 0xE000E500.. which mainline Linux writes (facts).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bench.emu.nvic import BUSFAULT, IRQ0, MEMMANAGE, NMI, PENDSV, SYSTICK, USAGEFAULT

if TYPE_CHECKING:
    from bench.emu.cortexm import CortexM

SCS_BASE, SCS_SIZE = 0xE000E000, 0x1000
DWT_BASE, DWT_SIZE = 0xE0001000, 0x1000


class SysTick:
    """The 24-bit SysTick down-counter, clocked by the core clock, evaluated lazily."""

    def __init__(self, core: CortexM) -> None:
        self.core = core
        self.csr = 0
        self.rvr = 0
        self._value = 0  # value at _anchor
        self._anchor = 0
        self._token: object | None = None

    def _now(self) -> int:
        return self.core.machine.now()

    def value(self) -> int:
        if not self.csr & 1:
            return self._value
        elapsed = self._now() - self._anchor
        if elapsed <= self._value:
            return self._value - elapsed
        if self.rvr == 0:
            return 0
        return self.rvr - ((elapsed - self._value - 1) % (self.rvr + 1))

    def _next_wrap(self, after: int) -> int | None:
        """The first time > `after` at which the counter steps from 1 to 0."""
        first = self._anchor + self._value if self._value else None
        if first is not None and first > after:
            return first
        if self.rvr == 0:
            return None
        base = self._anchor + self._value + 1 + self.rvr
        if base > after:
            return base
        periods = (after - base) // (self.rvr + 1) + 1
        return base + periods * (self.rvr + 1)

    def _reschedule(self) -> None:
        machine = self.core.machine
        if self._token is not None:
            machine.cancel(self._token)
            self._token = None
        if self.csr & 1:
            when = self._next_wrap(self._now())
            if when is not None:
                self._token = machine.schedule(when, self._wrap)

    def _wrap(self) -> None:
        self._token = None
        self.csr |= 1 << 16
        if self.csr & 2:
            self.core.pend(SYSTICK)
        self._reschedule()

    def read(self, offset: int) -> int:
        if offset == 0x10:
            value = self.csr | 4
            self.csr &= ~(1 << 16)
            return value
        if offset == 0x14:
            return self.rvr
        if offset == 0x18:
            return self.value()
        if offset == 0x1C:
            return 0  # CALIB: no reference clock, no exact 10 ms value
        return 0

    def write(self, offset: int, value: int) -> None:
        if offset == 0x10:
            current = self.value()
            self.csr = (self.csr & (1 << 16)) | (value & 0x7)
            self._value, self._anchor = current, self._now()
        elif offset == 0x14:
            self.rvr = value & 0xFFFFFF
        elif offset == 0x18:
            self._value, self._anchor = 0, self._now()
            self.csr &= ~(1 << 16)
        self._reschedule()


class SystemControlSpace:
    """NVIC and SCB registers of one core, bound to its exception state."""

    def __init__(self, core: CortexM) -> None:
        self.core = core
        self.systick = SysTick(core)
        self.dwt_ctrl = 0
        self.cyccnt_base = 0
        self.cyccnt_frozen = 0
        self.demcr = 0

    def reset(self) -> None:
        """Core reset: SysTick stops, the cycle counter is disabled."""
        self.systick.write(0x10, 0)
        self.dwt_ctrl, self.cyccnt_frozen, self.demcr = 0, 0, 0

    # ------------------------------------------------------------------ NVIC
    def read(self, offset: int, size: int) -> int:
        core, nvic = self.core, self.core.nvic
        if 0x10 <= offset < 0x20:
            return self.systick.read(offset & ~3)
        if offset == 0x004:
            return (nvic.num_irqs - 1) // 32 if core.is_v7m else 0
        if 0x100 <= offset < 0x380:
            bank, word = divmod(offset - 0x100, 0x80)
            bits = {0: nvic.enabled, 1: nvic.enabled, 2: nvic.pending, 3: nvic.pending, 4: nvic.active}.get(bank)
            if bits is None:
                return 0
            first = IRQ0 + (word // 4) * 32
            value = 0
            for i in range(32):
                if first + i < len(bits) and bits[first + i]:
                    value |= 1 << i
            return value
        if 0x400 <= offset < 0x400 + nvic.num_irqs:
            return self._read_bytes(offset, size, lambda i: nvic.priority[IRQ0 + i - 0x400])
        if offset == 0xD00:
            return {"cortex-m4": 0x410FC241, "cortex-m0": 0x410CC200}.get(core.config.model, 0)
        if offset == 0xD04:
            return self._icsr()
        if offset == 0xD08:
            return core.vtor if core.config.has_vtor else 0
        if offset == 0xD0C:
            return 0xFA050000 | (nvic.prigroup << 8)
        if offset == 0xD10:
            return core.scr
        if offset == 0xD14:
            return core.ccr
        if 0xD18 <= offset < 0xD24:
            return self._read_bytes(offset, size, lambda i: nvic.priority[i - 0xD14] if i - 0xD14 > 3 else 0)
        if offset == 0xD24:
            return self._shcsr()
        if offset == 0xD28:
            return (core.cfsr >> (8 * (offset - 0xD28))) & ((1 << (8 * size)) - 1) if size < 4 else core.cfsr
        if offset == 0xD2C:
            return core.hfsr
        if offset == 0xD34:
            return core.mmfar
        if offset == 0xD38:
            return core.bfar
        if offset == 0xDFC:
            return self.demcr
        return 0

    def _read_bytes(self, offset: int, size: int, byte: object) -> int:
        value = 0
        for i in range(size):
            value |= (byte(offset + i) & 0xFF) << (8 * i)  # type: ignore[operator]
        return value

    def _icsr(self) -> int:
        return self.core.nvic.icsr(self.core.reg_ipsr())

    def _shcsr(self) -> int:
        nvic = self.core.nvic
        value = self.core.shcsr & (0x7 << 16)
        for number, bit in ((MEMMANAGE, 0), (BUSFAULT, 1), (USAGEFAULT, 3), (11, 7), (PENDSV, 10), (SYSTICK, 11)):
            if nvic.active[number]:
                value |= 1 << bit
        return value

    def write(self, offset: int, size: int, value: int) -> None:
        core, nvic = self.core, self.core.nvic
        if 0x10 <= offset < 0x20:
            self.systick.write(offset & ~3, value)
            return
        if 0x100 <= offset < 0x300:
            nvic.bank_write(offset, value)
            core.interrupts_changed()
            return
        if 0x400 <= offset < 0x400 + nvic.num_irqs:
            for i in range(size):
                if 0x400 + nvic.num_irqs > offset + i:
                    nvic.set_priority(IRQ0 + offset + i - 0x400, value >> (8 * i))
            core.interrupts_changed()
            return
        if offset == 0xD04:
            self._write_icsr(value)
        elif offset == 0xD08 and core.config.has_vtor:
            core.vtor = value & 0xFFFFFF80
        elif offset == 0xD0C and value >> 16 == 0x05FA:
            if core.is_v7m:
                nvic.prigroup = (value >> 8) & 7
            if value & 4:
                core.machine.reset_requested(core)
        elif offset == 0xD10:
            core.scr = value & 0x16
        elif offset == 0xD14 and core.is_v7m:
            core.ccr = value & 0x31B
        elif 0xD18 <= offset < 0xD24:
            for i in range(size):
                number = offset + i - 0xD14
                if number > 3:
                    nvic.set_priority(number, value >> (8 * i))
            core.interrupts_changed()
        elif offset == 0xD24 and core.is_v7m:
            core.shcsr = value & (0x7 << 16)
        elif offset == 0xD28:
            core.cfsr &= ~(value << (8 * (offset - 0xD28)))
        elif offset == 0xD2C:
            core.hfsr &= ~value
        elif offset == 0xDFC:
            self.demcr = value
        elif offset == 0xF00 and core.is_v7m:
            core.pend(IRQ0 + (value & 0x1FF))

    def _write_icsr(self, value: int) -> None:
        core, nvic = self.core, self.core.nvic
        if value & (1 << 31):
            nvic.pending[NMI] = True
        if value & (1 << 28):
            nvic.pending[PENDSV] = True
        if value & (1 << 27):
            nvic.pending[PENDSV] = False
        if value & (1 << 26):
            nvic.pending[SYSTICK] = True
        if value & (1 << 25):
            nvic.pending[SYSTICK] = False
        core.interrupts_changed()

    # ------------------------------------------------------------------- DWT
    def dwt_read(self, offset: int, size: int) -> int:
        if offset == 0x0:
            return self.dwt_ctrl | (0 << 28)
        if offset == 0x4:
            return self.cycle_count()
        return 0

    def dwt_write(self, offset: int, size: int, value: int) -> None:
        if offset == 0x0:
            if value & 1 and not self.dwt_ctrl & 1:
                self.cyccnt_base = self.core.cycles - self.cyccnt_frozen
            elif not value & 1 and self.dwt_ctrl & 1:
                self.cyccnt_frozen = self.cycle_count()
            self.dwt_ctrl = value
        elif offset == 0x4:
            self.cyccnt_base = self.core.cycles - value
            self.cyccnt_frozen = value

    def cycle_count(self) -> int:
        """DWT CYCCNT: the core's exact emulated cycle count (QEMU and Renode read 0 here)."""
        if not self.dwt_ctrl & 1:
            return self.cyccnt_frozen
        return (self.core.cycles - self.cyccnt_base) & 0xFFFFFFFF
