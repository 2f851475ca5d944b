"""Non-intrusive IPI latency probe: SEV on the sender to ISR entry on the receiver.

Why in the engine: guest-side timestamps perturb what they measure and need a
cycle counter the M0 does not have. The engine knows both instants exactly:
the cycle at which the sender executed SEV, and the cycle at which the
receiver executes the first instruction of the handler of the IRQ that SEV
drives (interrupt entry included). A SEV that finds the route's previous one
still unanswered is coalesced into it, as the hardware latch does.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bench.emu.cortexm import CortexM
from bench.emu.machine import Machine
from bench.emu.nvic import IRQ0


@dataclass
class IpiRoute:
    sender: CortexM
    receiver: CortexM
    irq: int
    samples: list[int] = field(default_factory=list)
    outstanding: int | None = None

    @property
    def name(self) -> str:
        return f"{_short(self.sender.name)}_to_{_short(self.receiver.name)}"


def _short(core_name: str) -> str:
    return core_name.removeprefix("cpu_")


class IpiProbe:
    """Collects one latency sample per answered SEV on every inter-core IRQ route."""

    def __init__(self, machine: Machine, routes: list[tuple[CortexM, CortexM, int]]) -> None:
        self.routes = [IpiRoute(s, r, irq) for s, r, irq in routes]
        machine.sev_listeners.insert(0, self._on_sev)
        for route in self.routes:
            route.receiver.on_exception_entry.append(self._on_entry)

    def _on_sev(self, sender: CortexM, at: int) -> None:
        for route in self.routes:
            if route.sender is sender and route.outstanding is None:
                route.outstanding = at

    def _on_entry(self, core: CortexM, number: int, cycle: int) -> None:
        for route in self.routes:
            if route.receiver is core and number == IRQ0 + route.irq and route.outstanding is not None:
                route.samples.append(cycle - route.outstanding)
                route.outstanding = None

    def by_name(self) -> dict[str, IpiRoute]:
        return {route.name: route for route in self.routes}
