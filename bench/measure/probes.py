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
from bench.emu.native import NativeProbes
from bench.emu.nvic import IRQ0
from bench.errors import BenchError

EVENTS = ("sev", "irq-entry", "syscall-entry", "syscall-return", "symbol")


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
class ProbeRecorder:
    """Records every hit of the spec's points on a machine: (cycle, core index, point, thread).

    Points on engine events are rules the machine matches in C as it reports its events
    (native.NativeProbes); symbol points are the cores' address probes.
    """

    machine: Machine
    spec: ProbeSpec
    images: dict[str, Path | tuple[Path, int]]  # an ELF, or an ELF and the offset it was loaded at
    _symbol_hits: list[tuple[int, int, int, int]] = field(default_factory=list)
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
        self._native = NativeProbes()
        for core_name, points in by_core.items():
            self._attach(cores[core_name], points)
        self.machine.add_probes(self._native)

    @property
    def hits(self) -> list[tuple[int, int, int, int]]:
        self.machine.drain_events()
        return self._native.hits() + self._symbol_hits

    # ------------------------------------------------------------- attaching
    def _attach(self, core: CortexM, points: list[Point]) -> None:
        rules = self._native
        entries: dict[int, int] = {}
        returns: dict[int, int] = {}
        for point in points:
            index = self._index[point.name]
            if point.event == "sev":
                rules.on_sev(core.index, index)
            elif point.event == "irq-entry":
                rules.on_entry(core.index, IRQ0 + point.irq, index)  # type: ignore[operator]
            elif point.event == "syscall-entry":
                entries[point.syscall] = index  # type: ignore[index]
            elif point.event == "syscall-return":
                returns[point.syscall] = index  # type: ignore[index]
        for number in sorted(entries.keys() | returns.keys()):
            rules.on_syscall(core.index, number, entries.get(number), returns.get(number))
        symbols = [p for p in points if p.event == "symbol"]
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
            core_index = core.index

            def on_probe(c: CortexM, probe: int, cycle: int) -> None:
                self._symbol_hits.append((cycle, core_index, indices[probe], 0))
            core.on_probe = on_probe

            def detach_symbols() -> None:
                core.set_probes([])
                core.on_probe = None
            self._detach.append(detach_symbols)

    def detach(self) -> None:
        for undo in reversed(self._detach):
            undo()
        self._detach.clear()
        if self._native in self.machine.native_probes:
            self.machine.remove_probes(self._native)

    def clear(self) -> None:
        """Forget the hits and the calls in flight (after a snapshot restore)."""
        self.machine.drain_events()
        self._native.clear()
        self._symbol_hits.clear()

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

