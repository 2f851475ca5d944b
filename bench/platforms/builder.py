"""Build a Machine from a Renode platform description (.repl).

The .repl names Renode types; this module maps the ones the bench models to
its own classes. Unknown types and unknown attributes are errors at the
entry's file:line:column, so a typo never silently changes the machine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.emu.cortexm import CoreConfig, CortexM
from bench.emu.machine import Machine
from bench.emu.memory import Memory
from bench.emu.peripheral import IrqLine, Peripheral
from bench.errors import BenchError
from bench.platforms.lpc43xx.clocks import Lpc43xxCcu, Lpc43xxCgu
from bench.platforms.lpc43xx.creg import Lpc43xxCreg
from bench.platforms.lpc43xx.rgu import Lpc43xxRgu
from bench.platforms.lpc43xx.scu import Lpc43xxScu
from bench.platforms.lpc43xx.timer import Lpc43xxTimer
from bench.platforms.repl import Entry, Platform, Reference, ReplError, load_repl
from bench.platforms.uart16550 import Uart16550

CPU, NVIC, MEMORY, UART = "CPU.CortexM", "IRQControllers.NVIC", "Memory.MappedMemory", "UART.NS16550"
CREG, RGU = "Miscellaneous.LPC43xx_CREG", "Miscellaneous.LPC43xx_RGU"
CGU, CCU, SCU = "Miscellaneous.LPC43xx_CGU", "Miscellaneous.LPC43xx_CCU", "Miscellaneous.LPC43xx_SCU"
TIMER = "Timers.LPC43xx_Timer"
SCS_ADDRESS = 0xE000E000

# Attributes each type accepts (Renode's names where Renode has them).
ATTRIBUTES = {
    CPU: {"cpuType", "nvic"},
    NVIC: {"priorityMask", "systickFrequency", "numberOfInterrupts", "irqEntryCycles", "tailChainCycles"},
    MEMORY: {"size", "readOnly"},
    UART: {"wideRegisters", "size"},
    CREG: {"m4Core", "m0AppCore", "m4MemMap"},
    RGU: {"m0AppCore"},
    CGU: set(),
    CCU: set(),
    SCU: set(),
    TIMER: set(),
}
DEFAULT_ENTRY_CYCLES = {"cortex-m4": 12, "cortex-m0": 16}  # ARM's published interrupt latencies


@dataclass
class BuiltMachine:
    """The machine and the named things tests and scenarios need."""

    machine: Machine
    platform_file: str
    cores: dict[str, CortexM] = field(default_factory=dict)
    uarts: dict[str, Uart16550] = field(default_factory=dict)

    @property
    def memories(self) -> dict[str, Memory]:
        return self.machine.memories

    @property
    def peripherals(self) -> dict[str, Peripheral]:
        return self.machine.devices

    def core(self, name: str) -> CortexM:
        if name not in self.cores:
            raise BenchError(f"{self.platform_file}: no CPU named {name!r} (have: {', '.join(self.cores)})")
        return self.cores[name]

    def uart(self, name: str) -> Uart16550:
        if name not in self.uarts:
            raise BenchError(f"{self.platform_file}: no UART named {name!r} (have: {', '.join(self.uarts)})")
        return self.uarts[name]

    def memory_at(self, address: int, length: int = 1) -> Memory | None:
        for memory in self.memories.values():
            if memory.contains(address, length):
                return memory
        return None


def _error(entry: Entry, message: str) -> BenchError:
    return BenchError(f"{entry.location}: {entry.name}: {message}")


def _int(entry: Entry, key: str, default: int | None = None) -> int:
    value = entry.attributes.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _error(entry, f"attribute {key!r} must be an integer" + ("" if key in entry.attributes else " (missing)"))
    return value


def _ref(entry: Entry, key: str) -> str:
    value = entry.attributes.get(key)
    if not isinstance(value, Reference):
        raise _error(entry, f"attribute {key!r} must name another entry")
    return value.name


def _sysbus_address(entry: Entry) -> tuple[int, int | None]:
    for registration in entry.registrations:
        if registration.target == "sysbus" and registration.address is not None:
            return registration.address, registration.size
    raise _error(entry, "needs a registration '@ sysbus <address>'")


def load_platform(path: str | Path, quantum: int = 100_000) -> BuiltMachine:
    """Parse a .repl file and build its machine; every error names file:line:column."""
    try:
        platform = load_repl(path)
    except ReplError as exc:
        raise BenchError(str(exc)) from None
    return build(platform, str(path), quantum)


def build(platform: Platform, filename: str, quantum: int = 100_000) -> BuiltMachine:
    entries = list(platform.entries.values())
    for entry in entries:
        if entry.type is None:
            raise _error(entry, "has no type (an update of an entry that was never created)")
        if entry.type not in ATTRIBUTES:
            raise _error(entry, f"type {entry.type} is not modelled by the bench (known: {', '.join(ATTRIBUTES)})")
        unknown = set(entry.attributes) - ATTRIBUTES[entry.type]
        if unknown:
            raise _error(entry, f"unknown attribute(s) {', '.join(sorted(unknown))} for {entry.type}")
    by_type: dict[str, list[Entry]] = {}
    for entry in entries:
        by_type.setdefault(entry.type or "", []).append(entry)

    nvic_of_cpu: dict[str, Entry] = {}
    for nvic in by_type.get(NVIC, []):
        cpu_name = None
        for registration in nvic.registrations:
            cpu = registration.attributes.get("cpu")
            if isinstance(cpu, Reference):
                cpu_name = cpu.name
                if registration.address not in (None, SCS_ADDRESS) and \
                        registration.attributes.get("address", SCS_ADDRESS) != SCS_ADDRESS:
                    raise _error(nvic, "a Cortex-M NVIC lives at 0xE000E000")
        if cpu_name is None:
            for irq in nvic.irqs:
                cpu_name = irq.destination
        if cpu_name is None:
            raise _error(nvic, "must be registered for one CPU (BusPointRegistration with 'cpu:')")
        nvic_of_cpu[cpu_name] = nvic

    frequencies = set()
    cpu_entries = by_type.get(CPU, [])
    if not cpu_entries:
        raise BenchError(f"{filename}: the platform has no CPU.CortexM entry")
    configs = []
    for entry in cpu_entries:
        model = entry.attributes.get("cpuType")
        if not isinstance(model, str):
            raise _error(entry, "needs cpuType: \"cortex-m4\" or \"cortex-m0\"")
        nvic = nvic_of_cpu.get(entry.name)
        if nvic is None:
            raise _error(entry, "has no NVIC registered for it")
        if model not in DEFAULT_ENTRY_CYCLES:
            raise _error(entry, f"cpuType {model!r} is not modelled (known: {', '.join(DEFAULT_ENTRY_CYCLES)})")
        mask = _int(nvic, "priorityMask", 0xE0 if model == "cortex-m4" else 0xC0)
        config = CoreConfig(
            name=entry.name, model=model,
            frequency_hz=_int(nvic, "systickFrequency", 204_000_000),
            num_irqs=_int(nvic, "numberOfInterrupts", 53 if model == "cortex-m4" else 32),
            priority_bits=bin(mask & 0xFF).count("1"),
            irq_entry_cycles=_int(nvic, "irqEntryCycles", DEFAULT_ENTRY_CYCLES[model]),
            tail_chain_cycles=_int(nvic, "tailChainCycles", 6),
            has_vtor=model != "cortex-m0",
        )
        frequencies.add(config.frequency_hz)
        configs.append(config)
    if len(frequencies) != 1:
        raise BenchError(f"{filename}: all cores must share one clock for now (got {sorted(frequencies)} Hz)")

    machine = Machine(Path(filename).stem, frequencies.pop(), quantum)
    built = BuiltMachine(machine, filename)
    for index, config in enumerate(configs):
        core = CortexM(config, machine, index)
        machine.cores.append(core)
        built.cores[config.name] = core
    nvic_core = {nvic.name: built.cores[cpu] for cpu, nvic in nvic_of_cpu.items() if cpu in built.cores}

    for entry in by_type.get(MEMORY, []):
        base, size = _sysbus_address(entry)
        size = _int(entry, "size", size)
        memory = Memory(entry.name, base, size, writable=not entry.attributes.get("readOnly", False))
        machine.memories[entry.name] = memory
        for core in machine.cores:
            core.map_ram(base, size, memory.host_address(base), memory.writable)

    def cpu_of(entry: Entry, key: str) -> CortexM:
        return built.core(_ref(entry, key))

    for entry in entries:
        peripheral: Peripheral | None = None
        if entry.type == UART:
            peripheral = Uart16550(entry.name, wide=bool(entry.attributes.get("wideRegisters", True)))
            built.uarts[entry.name] = peripheral
        elif entry.type == CREG:
            peripheral = Lpc43xxCreg(machine, cpu_of(entry, "m4Core"), cpu_of(entry, "m0AppCore"),
                                     list(built.memories.values()), _int(entry, "m4MemMap", 0x1A000000))
        elif entry.type == RGU:
            peripheral = Lpc43xxRgu(machine, cpu_of(entry, "m0AppCore"))
        elif entry.type == CGU:
            peripheral = Lpc43xxCgu()
        elif entry.type == CCU:
            peripheral = Lpc43xxCcu()
        elif entry.type == SCU:
            peripheral = Lpc43xxScu()
        elif entry.type == TIMER:
            peripheral = Lpc43xxTimer(machine, entry.name)
        if peripheral is None:
            continue
        base, size = _sysbus_address(entry)
        if size:
            peripheral.size = size
        machine.devices[entry.name] = peripheral
        for core in machine.cores:
            _map_peripheral(core, base, peripheral)
        _connect_irqs(entry, peripheral, machine, nvic_core)
    return built


def _map_peripheral(core: CortexM, base: int, peripheral: Peripheral) -> None:
    def read(offset: int, size: int) -> int:
        return peripheral.read(core, offset, size)

    def write(offset: int, size: int, value: int) -> None:
        peripheral.write(core, offset, size, value)

    core.map_mmio(base, peripheral.size, read, write, peripheral.exact, peripheral.native_counter(),
                  latches=peripheral.native_latches())


def _connect_irqs(entry: Entry, peripheral: Any, machine: Machine, nvic_core: dict[str, CortexM]) -> None:
    outputs = {UART: {None: "irq", "IRQ": "irq"}, TIMER: {None: "irq", "IRQ": "irq"},
               CREG: {"M4TxEvent": "to_m0", "M0TxEvent": "to_m4"}}
    known = outputs.get(entry.type or "", {})
    for connection in entry.irqs:
        attr = known.get(connection.source)  # type: ignore[call-overload]
        if attr is None:
            names = ", ".join(str(k) for k in known if k) or "none"
            raise BenchError(f"{connection.location}: {entry.name} has no interrupt output "
                             f"{connection.source!r} (outputs: {names})")
        core = nvic_core.get(connection.destination)
        if core is None:
            raise BenchError(f"{connection.location}: interrupt destination {connection.destination!r} "
                             "is not an NVIC")
        if not 0 <= connection.destination_line < core.config.num_irqs:
            raise BenchError(f"{connection.location}: IRQ {connection.destination_line} is out of range for "
                             f"{connection.destination} ({core.config.num_irqs} interrupts)")
        setattr(peripheral, attr, IrqLine(machine, core, connection.destination_line))
