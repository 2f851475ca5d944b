"""Background load for latency campaigns: what makes tails show.

Two kinds, both deterministic:
- a busy user task on Linux (the agent's `load busy`): the scheduler must preempt it
  to run the reader, as on a loaded board;
- interrupt load: bytes arrive on a second UART at a mean rate with seeded jitter, in
  emulated time; Linux's 8250 driver takes an interrupt for each and a user task reads
  them (the agent's `load uart TTY`), so interrupt, softirq and wake-up work competes
  with the RPMsg path.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from bench.emu.machine import Machine
from bench.platforms.uart16550 import Uart16550

LOAD_UART, LOAD_TTY = "usart3", "/dev/ttyS1"  # serial1 in the CIAA device tree


@dataclass
class LoadOptions:
    busy: bool = False
    irq_rate_hz: int = 0

    def agent_commands(self) -> list[str]:
        """What the agent starts once, before the campaign's base snapshot."""
        commands = ["load busy"] if self.busy else []
        if self.irq_rate_hz:
            commands.append(f"load uart {LOAD_TTY}")
        return commands

    def describe(self) -> dict[str, object]:
        return {"busy_task": self.busy, "irq_rate_hz": self.irq_rate_hz,
                "irq_source": f"{LOAD_UART} receive interrupts ({LOAD_TTY})" if self.irq_rate_hz else None}


class UartFeeder:
    """One byte into `uart` every 1/rate s on average, each instant jittered by ±25% (seeded)."""

    def __init__(self, machine: Machine, uart: Uart16550, rate_hz: int, seed: int) -> None:
        self.machine = machine
        self.uart = uart
        self.period = machine.frequency_hz / rate_hz
        self.random = random.Random(seed)
        self.start = machine.now()
        self.sent = 0
        self._event = machine.schedule(self._due(), self._feed)

    def _due(self) -> int:
        jitter = self.random.uniform(-0.25, 0.25) * self.period
        return self.start + round((self.sent + 1) * self.period + jitter)

    def _feed(self) -> None:
        self.uart.feed(b"%c" % (0x41 + self.sent % 26))
        self.sent += 1
        self._event = self.machine.schedule(self._due(), self._feed)

    def stop(self) -> None:
        self.machine.cancel(self._event)
