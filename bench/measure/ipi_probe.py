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
from bench.emu.native import NativeProbes
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
    """Collects one latency sample per answered SEV on every inter-core IRQ route.

    The SEVs and the interrupt entries are probe rules the machine matches as it reports its
    events (native.NativeProbes); the samples are worked out from their hits in time order.
    """

    def __init__(self, machine: Machine, routes: list[tuple[CortexM, CortexM, int]]) -> None:
        self.machine = machine
        self.routes = [IpiRoute(s, r, irq) for s, r, irq in routes]
        self._native = NativeProbes()
        for k, route in enumerate(self.routes):  # point 2k: the route's SEV; 2k + 1: its ISR entry
            self._native.on_sev(route.sender.index, 2 * k)
            self._native.on_entry(route.receiver.index, IRQ0 + route.irq, 2 * k + 1)
        machine.add_probes(self._native)

    def by_name(self) -> dict[str, IpiRoute]:
        """The routes, with the samples of every SEV answered so far."""
        self.machine.drain_events()
        for route in self.routes:
            route.samples, route.outstanding = [], None
        for cycle, _core, point, _thread in sorted(self._native.hits()):
            route = self.routes[point // 2]
            if point % 2 == 0:
                if route.outstanding is None:
                    route.outstanding = cycle
            elif route.outstanding is not None:
                route.samples.append(cycle - route.outstanding)
                route.outstanding = None
        return {route.name: route for route in self.routes}
