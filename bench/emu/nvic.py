"""Exception state of one Cortex-M core: NVIC and the SCB's exception registers.

Why separate from the core: Unicorn has no exception model (facts: trap 2), so
pending/active/enable state, priorities and the choice of the next exception are
the engine's. Keeping it free of Unicorn makes the priority rules testable on
their own. The state is shared with the native exception steps (exceptions.c).

Priorities follow ARMv7-M/ARMv6-M: Reset -3, NMI -2, HardFault -1, the rest
configurable with `priority_bits` implemented bits; lower value wins; among
equal group priorities the lower exception number wins.
"""

from __future__ import annotations

import ctypes

from bench.emu import native

RESET, NMI, HARDFAULT, MEMMANAGE, BUSFAULT, USAGEFAULT = 1, 2, 3, 4, 5, 6
SVCALL, DEBUGMON, PENDSV, SYSTICK = 11, 12, 14, 15
IRQ0 = 16
THREAD_PRIORITY = 256  # execution priority with nothing active and nothing masked

EXCEPTION_NAMES = {
    RESET: "Reset", NMI: "NMI", HARDFAULT: "HardFault", MEMMANAGE: "MemManage", BUSFAULT: "BusFault",
    USAGEFAULT: "UsageFault", SVCALL: "SVCall", DEBUGMON: "DebugMonitor", PENDSV: "PendSV", SYSTICK: "SysTick",
}


def exception_name(number: int) -> str:
    """A readable name: "SysTick", "IRQ 1"."""
    return EXCEPTION_NAMES.get(number, f"IRQ {number - IRQ0}" if number >= IRQ0 else f"exception {number}")


class Nvic:
    """Pending/active/enabled state and priorities of one core's exceptions.

    The state lives in a C structure (native.NvicState) so that the native exception steps
    (native/exceptions.c) and this class share it; the arrays below are views of it, sized
    like the core's exceptions, and index and iterate like lists.
    """

    def __init__(self, num_irqs: int, priority_bits: int, has_basepri: bool,
                 state: native.NvicState | None = None) -> None:
        if IRQ0 + num_irqs > native.MAX_EXCEPTIONS:
            raise ValueError(f"at most {native.MAX_EXCEPTIONS - IRQ0} interrupts per NVIC")
        self.state = state if state is not None else native.NvicState()
        self.num_irqs = num_irqs
        self.priority_bits = priority_bits
        self.has_basepri = has_basepri
        base, n = ctypes.addressof(self.state), IRQ0 + num_irqs
        field = native.NvicState
        self.enabled = (ctypes.c_uint8 * n).from_address(base + field.enabled.offset)
        self.pending = (ctypes.c_uint8 * n).from_address(base + field.pending.offset)
        self.active = (ctypes.c_uint8 * n).from_address(base + field.active.offset)
        self.priority = (ctypes.c_int16 * n).from_address(base + field.priority.offset)
        self.line_level = (ctypes.c_uint8 * num_irqs).from_address(base + field.line_level.offset)
        self._ref = ctypes.byref(self.state)
        self._lib = native.library()
        self.reset()

    def reset(self) -> None:
        """The state after a core reset: nothing pending or active, fixed priorities."""
        ctypes.memset(ctypes.addressof(self.state), 0, ctypes.sizeof(self.state))
        st = self.state
        st.count, st.num_irqs = IRQ0 + self.num_irqs, self.num_irqs
        st.priority_mask, st.has_basepri = self.priority_mask, int(self.has_basepri)
        for number in (NMI, HARDFAULT, SVCALL, PENDSV, SYSTICK):
            self.enabled[number] = True
        self.priority[RESET], self.priority[NMI], self.priority[HARDFAULT] = -3, -2, -1
        # Configurable faults are enabled through SHCSR; until then they escalate to HardFault.

    def save(self) -> bytes:
        """The whole state, for a snapshot."""
        return ctypes.string_at(ctypes.addressof(self.state), ctypes.sizeof(self.state))

    def load(self, saved: bytes) -> None:
        ctypes.memmove(ctypes.addressof(self.state), saved, len(saved))

    prigroup = native.state_field("prigroup")

    @property
    def priority_mask(self) -> int:
        return (0xFF << (8 - self.priority_bits)) & 0xFF

    def set_priority(self, number: int, value: int) -> None:
        if number > HARDFAULT:
            self.priority[number] = value & self.priority_mask

    def group_priority(self, value: int) -> int:
        """Preemption uses the group priority only (AIRCR.PRIGROUP splits off subpriority bits)."""
        if value < 0:
            return value
        return value & ~((2 << self.prigroup) - 1) & 0xFF

    def execution_priority(self, primask: int, basepri: int, faultmask: int) -> int:
        """ARMv7-M ExecutionPriority(): active exceptions and the mask registers."""
        return self._lib.bench_nvic_execution_priority(self._ref, primask, basepri, faultmask)

    def highest_pending(self) -> int | None:
        """The pending, enabled exception that would be taken first, or None."""
        return self._lib.bench_nvic_highest_pending(self._ref) or None

    def icsr(self, vectactive: int) -> int:
        """ICSR with VECTACTIVE `vectactive` (native/mmio.c computes it for reads at sites too)."""
        return self._lib.bench_icsr(self._ref, vectactive)

    def bank_write(self, offset: int, value: int) -> None:
        """A write to ISER/ICER/ISPR/ICPR at SCS offset 0x100-0x2FF (native/mmio.c does it at sites too)."""
        self._lib.bench_nvic_bank_write(self._ref, offset, value & 0xFFFFFFFF)

    def any_pending(self) -> bool:
        return self._lib.bench_nvic_highest_pending(self._ref) != 0

    def preempts(self, number: int, execution_priority: int) -> bool:
        return self.group_priority(self.priority[number]) < execution_priority

    # Interrupt lines (level-sensitive, as the LPC43xx wiring is).
    def set_line(self, irq: int, level: bool) -> None:
        """A peripheral drives IRQ `irq`: a rising level pends it unless it is active."""
        if not 0 <= irq < self.num_irqs:
            return
        self.line_level[irq] = level
        if level and not self.active[IRQ0 + irq]:
            self.pending[IRQ0 + irq] = True

    def activate(self, number: int) -> None:
        self.pending[number] = False
        self.active[number] = True

    def deactivate(self, number: int) -> None:
        """Exception return: a level interrupt whose line is still high pends again."""
        self.active[number] = False
        if number >= IRQ0 and self.line_level[number - IRQ0]:
            self.pending[number] = True

    def active_count(self) -> int:
        return sum(self.active)
