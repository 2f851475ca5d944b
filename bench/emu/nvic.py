"""Exception state of one Cortex-M core: NVIC and the SCB's exception registers.

Why in Python and separate from the core: Unicorn has no exception model
(facts: trap 2), so pending/active/enable state, priorities and the choice of
the next exception are the engine's. Keeping it free of Unicorn makes the
priority rules testable on their own.

Priorities follow ARMv7-M/ARMv6-M: Reset -3, NMI -2, HardFault -1, the rest
configurable with `priority_bits` implemented bits; lower value wins; among
equal group priorities the lower exception number wins.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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


@dataclass
class Nvic:
    """Pending/active/enabled state and priorities of one core's exceptions."""

    num_irqs: int
    priority_bits: int
    has_basepri: bool  # ARMv7-M only (the M0 has neither BASEPRI nor FAULTMASK)
    enabled: list[bool] = field(init=False)
    pending: list[bool] = field(init=False)
    active: list[bool] = field(init=False)
    priority: list[int] = field(init=False)
    line_level: list[bool] = field(init=False)
    prigroup: int = 0

    def __post_init__(self) -> None:
        n = IRQ0 + self.num_irqs
        self.enabled = [False] * n
        self.pending = [False] * n
        self.active = [False] * n
        self.priority = [0] * n
        self.line_level = [False] * self.num_irqs
        for number in (NMI, HARDFAULT, SVCALL, PENDSV, SYSTICK):
            self.enabled[number] = True
        self.priority[RESET], self.priority[NMI], self.priority[HARDFAULT] = -3, -2, -1
        # Configurable faults are enabled through SHCSR; until then they escalate to HardFault.

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

    def active_priority(self) -> int:
        """The priority of the highest-priority active exception (THREAD_PRIORITY when none)."""
        best = THREAD_PRIORITY
        if True not in self.active:  # the common case, at C speed
            return best
        for number, is_active in enumerate(self.active):
            if is_active:
                best = min(best, self.group_priority(self.priority[number]))
        return best

    def execution_priority(self, primask: int, basepri: int, faultmask: int) -> int:
        """ARMv7-M ExecutionPriority(): active exceptions and the mask registers."""
        best = self.active_priority()
        if self.has_basepri and basepri & self.priority_mask:
            best = min(best, self.group_priority(basepri & self.priority_mask))
        if primask & 1:
            best = min(best, 0)
        if self.has_basepri and faultmask & 1:
            best = min(best, -1)
        return best

    def highest_pending(self) -> int | None:
        """The pending, enabled exception that would be taken first, or None."""
        best: tuple[int, int] | None = None
        if True not in self.pending:  # the common case, at C speed
            return None
        for number, is_pending in enumerate(self.pending):
            if is_pending and self.enabled[number]:
                key = (self.priority[number], number)
                if best is None or key < best:
                    best = key
        return None if best is None else best[1]

    def any_pending(self) -> bool:
        if True not in self.pending:
            return False
        return any(p and e for p, e in zip(self.pending, self.enabled, strict=True))

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
