"""Timestamp probes: measurement points declared in a small TOML file, no guest change.

Why from the engine: guest-side timestamps perturb what they measure, and the M0
has no cycle counter. The engine knows the exact cycle of every event, so a point
is a rule over engine events or an address from an ELF symbol:

- ``sev``: the core executes SEV (the LPC43xx inter-core doorbell);
- ``irq-entry``: the core starts the handler of external IRQ ``irq`` (entry cycles included);
- ``syscall-entry`` / ``syscall-return``: Linux on the core enters the SVC handler for
  system call ``syscall`` (EABI number in r7), or resumes the calling thread after it;
- ``symbol``: the core starts the instruction at ``symbol`` of ``image`` (an ELF the run
  loads: ``kernel``, ``m0-firmware``, or ``init``, the agent, wherever the kernel loaded it).

A sample is one pass through the ``chain``: its first point starts a sample, each
further point is the first occurrence of that point after the previous one (other
events are ignored), and system-call points must come from the thread that started
the sample. ``sections`` are differences between two points of the chain.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.emu.cortexm import CortexM
from bench.emu.elf import read_elf
from bench.emu.machine import Machine
from bench.emu.nvic import IRQ0, SVCALL
from bench.errors import BenchError

EVENTS = ("sev", "irq-entry", "syscall-entry", "syscall-return", "symbol")
THREAD_SIZE = 8192  # ARM Linux kernel stacks: the task's stack base names the thread


@dataclass(frozen=True)
class Point:
    name: str
    core: str
    event: str
    irq: int | None = None
    syscall: int | None = None
    symbol: str | None = None
    image: str | None = None
    doc: str = ""


@dataclass(frozen=True)
class Section:
    name: str
    label: str
    start: str
    end: str
    doc: str = ""


@dataclass(frozen=True)
class ProbeSpec:
    path: Path
    title: str
    chain: tuple[str, ...]
    points: dict[str, Point]
    sections: tuple[Section, ...]
    paper_columns: tuple[str, ...] = ()

    def section(self, name: str) -> Section:
        for section in self.sections:
            if section.name == name:
                return section
        raise KeyError(name)

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": str(self.path), "title": self.title, "chain": list(self.chain),
            "points": {n: {k: v for k, v in vars(p).items() if v not in (None, "") and k != "name"}
                       for n, p in self.points.items()},
            "sections": [vars(s) for s in self.sections],
        }


def _fail(path: Path, where: str, message: str) -> BenchError:
    return BenchError(f"{path}: {where}: {message}")


def load_spec(path: str | Path) -> ProbeSpec:
    """Read and check a probe file; every mistake is reported with the file and the key."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise BenchError(f"{path}: probe file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise BenchError(f"{path}: {exc}") from None
    points: dict[str, Point] = {}
    for name, raw in (data.get("points") or {}).items():
        if not isinstance(raw, dict):
            raise _fail(path, f"points.{name}", "expected a table")
        unknown = set(raw) - {"core", "event", "irq", "syscall", "symbol", "image", "doc"}
        if unknown:
            raise _fail(path, f"points.{name}", f"unknown key(s) {', '.join(sorted(unknown))}")
        event = raw.get("event")
        if event not in EVENTS:
            raise _fail(path, f"points.{name}.event", f"{event!r} is not one of {', '.join(EVENTS)}")
        if not isinstance(raw.get("core"), str):
            raise _fail(path, f"points.{name}.core", "name the core (e.g. \"cpu_m4\")")
        needs = {"irq-entry": "irq", "syscall-entry": "syscall", "syscall-return": "syscall", "symbol": "symbol"}
        if event in needs and needs[event] not in raw:
            raise _fail(path, f"points.{name}", f"event {event} needs `{needs[event]}`")
        if event == "symbol" and not isinstance(raw.get("image"), str):
            raise _fail(path, f"points.{name}", "a symbol point needs `image` (kernel or m0-firmware)")
        points[name] = Point(name, raw["core"], event, raw.get("irq"), raw.get("syscall"), raw.get("symbol"),
                             raw.get("image"), raw.get("doc", ""))
    chain = tuple(data.get("chain") or ())
    if len(chain) < 2:
        raise _fail(path, "chain", "list at least two points, in the order a sample passes them")
    for name in chain:
        if name not in points:
            raise _fail(path, "chain", f"point {name!r} is not defined under [points]")
    if points[chain[0]].event not in ("syscall-entry", "sev", "irq-entry", "symbol"):
        raise _fail(path, "chain", "the first point starts a sample: it cannot be a syscall-return")
    sections = []
    for i, raw in enumerate(data.get("sections") or ()):
        where = f"sections[{i}]"
        for key in ("name", "from", "to"):
            if not isinstance(raw.get(key), str):
                raise _fail(path, where, f"`{key}` is required")
        for key in ("from", "to"):
            if raw[key] not in chain:
                raise _fail(path, f"{where}.{key}", f"{raw[key]!r} is not a point of the chain")
        if chain.index(raw["from"]) >= chain.index(raw["to"]):
            raise _fail(path, where, f"`from` ({raw['from']}) must come before `to` ({raw['to']}) in the chain")
        sections.append(Section(raw["name"], raw.get("label", raw["name"]), raw["from"], raw["to"],
                                raw.get("doc", "")))
    if not sections:
        raise _fail(path, "sections", "define at least one section")
    names = [s.name for s in sections]
    paper = tuple((data.get("paper") or {}).get("columns") or ())
    for name in paper:
        if name not in names:
            raise _fail(path, "paper.columns", f"{name!r} is not a section")
    return ProbeSpec(path, data.get("title", path.stem), chain, points, tuple(sections), paper)


@dataclass
class _SyscallCall:
    number: int
    thread: int


@dataclass
class ProbeRecorder:
    """Records every hit of the spec's points on a machine: (cycle, core index, point, thread)."""

    machine: Machine
    spec: ProbeSpec
    images: dict[str, Path | tuple[Path, int]]  # an ELF, or an ELF and the offset it was loaded at
    hits: list[tuple[int, int, int, int]] = field(default_factory=list)
    _pending: dict[tuple[int, int, int], _SyscallCall] = field(default_factory=dict)
    _detach: list[Callable[[], None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        cores = {core.name: core for core in self.machine.cores}
        self._index = {name: i for i, name in enumerate(self.spec.points)}
        by_core: dict[str, list[Point]] = {}
        for point in self.spec.points.values():
            if point.core not in cores:
                raise BenchError(f"{self.spec.path}: points.{point.name}.core: no core {point.core!r} on this "
                                 f"platform (cores: {', '.join(cores)})")
            by_core.setdefault(point.core, []).append(point)
        for core_name, points in by_core.items():
            self._attach(cores[core_name], points)

    # ------------------------------------------------------------- attaching
    def _attach(self, core: CortexM, points: list[Point]) -> None:
        sev = [self._index[p.name] for p in points if p.event == "sev"]
        irqs = {IRQ0 + p.irq: self._index[p.name] for p in points if p.event == "irq-entry"}  # type: ignore[operator]
        entries = {p.syscall: self._index[p.name] for p in points if p.event == "syscall-entry"}
        returns = {p.syscall: self._index[p.name] for p in points if p.event == "syscall-return"}
        symbols = [p for p in points if p.event == "symbol"]
        core_index = core.index
        if sev:
            def on_sev(sender: CortexM, at: int) -> None:
                if sender is core:
                    for point in sev:
                        self.hits.append((at, core_index, point, 0))
            self.machine.sev_listeners.insert(0, on_sev)
            self._detach.append(lambda: self.machine.sev_listeners.remove(on_sev))
        if irqs or entries or returns:
            def on_entry(c: CortexM, number: int, cycle: int) -> None:
                if number in irqs:
                    self.hits.append((cycle, core_index, irqs[number], 0))
                elif number == SVCALL and (entries or returns):
                    self._syscall_entry(c, cycle, entries, returns)
            core.on_exception_entry.append(on_entry)
            self._detach.append(lambda: core.on_exception_entry.remove(on_entry))
        if returns:
            def on_return(c: CortexM, number: int, cycle: int, resumed_pc: int | None) -> None:
                if resumed_pc is None or not self._pending:
                    return
                call = self._pending.pop((c.index, resumed_pc, c.resumed_sp), None)
                if call is not None and call.number in returns:
                    self.hits.append((cycle, core_index, returns[call.number], call.thread))
            core.on_exception_return.append(on_return)
            self._detach.append(lambda: core.on_exception_return.remove(on_return))
        if symbols:
            addresses = []
            for point in symbols:
                image = self.images.get(point.image or "")
                if image is None:
                    raise BenchError(f"{self.spec.path}: points.{point.name}.image: {point.image!r} is not an image "
                                     f"of this run (images: {', '.join(self.images)})")
                path, offset = image if isinstance(image, tuple) else (image, 0)
                try:
                    addresses.append(read_elf(path).symbol(point.symbol or "") + offset)
                except KeyError:
                    raise BenchError(f"{self.spec.path}: points.{point.name}: no symbol {point.symbol!r} in "
                                     f"{path}") from None
            indices = [self._index[p.name] for p in symbols]
            core.set_probes(addresses)

            def on_probe(c: CortexM, probe: int, cycle: int) -> None:
                self.hits.append((cycle, core_index, indices[probe], 0))
            core.on_probe = on_probe

            def detach_symbols() -> None:
                core.set_probes([])
                core.on_probe = None
            self._detach.append(detach_symbols)

    def _syscall_entry(self, core: CortexM, cycle: int, entries: dict[int | None, int],
                       returns: dict[int | None, int]) -> None:
        context = core.syscall_context()
        if context is None:  # a frame outside RAM: the engine reports that fault itself
            return
        number, frame, msp, pc, xpsr = context
        if number not in entries and number not in returns:
            return
        # The caller's frame is on its process stack: the thread resumes at the stacked PC,
        # with PSP back where it was before the frame. The kernel stack (MSP, a THREAD_SIZE
        # block per task) names the thread.
        thread = msp & ~(THREAD_SIZE - 1)
        if number in entries:
            self.hits.append((cycle, core.index, entries[number], thread))
        if number in returns:
            resumed_sp = frame + 0x20 + (4 if xpsr & 0x200 else 0)
            self._pending[(core.index, pc & ~1, resumed_sp)] = _SyscallCall(number, thread)

    def detach(self) -> None:
        for undo in reversed(self._detach):
            undo()
        self._detach.clear()

    def clear(self) -> None:
        """Forget the hits and the calls in flight (after a snapshot restore)."""
        self.hits.clear()
        self._pending.clear()

    # -------------------------------------------------------------- matching
    def samples(self) -> list[tuple[int, ...]]:
        """The chain's samples, in order: one tuple of point cycles per complete pass."""
        chain = [self._index[name] for name in self.spec.chain]
        syscall_points = {self._index[p.name] for p in self.spec.points.values() if p.event.startswith("syscall")}
        return match_chains(self.hits, chain, syscall_points)

    def named_hits(self) -> list[tuple[int, str, str]]:
        """(cycle, core name, point name) of every hit, in time order (for trace export)."""
        names = list(self.spec.points)
        cores = [core.name for core in self.machine.cores]
        return [(cycle, cores[core], names[point]) for cycle, core, point, _ in sorted(self.hits)]


def match_chains(hits: list[tuple[int, int, int, int]], chain: list[int],
                 syscall_points: set[int]) -> list[tuple[int, ...]]:
    """Samples from hits (cycle, core, point, thread): see the module docstring for the rule.

    Hits are taken in time order (ties by core, then point): cores report out of order,
    as a lone core runs ahead of a sleeping one.
    """
    out: list[tuple[int, ...]] = []
    current: list[int] = []
    thread = 0
    for cycle, _core, point, hit_thread in sorted(hits):
        if point == chain[0]:
            current, thread = [cycle], hit_thread
        elif current and point == chain[len(current)]:
            if point in syscall_points and thread and hit_thread != thread:
                continue
            thread = thread or hit_thread
            current.append(cycle)
            if len(current) == len(chain):
                out.append(tuple(current))
                current = []
    return out

