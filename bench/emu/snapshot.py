"""Snapshots of a whole machine, in memory: boot once, test many.

A snapshot holds every memory's bytes, each core's registers and exception
state, every device's registers, the timed events and the trace, so that a
restored machine continues exactly as the original did from that instant: the
same console output and trace digest (tests check this against a fresh boot).

Device and core models keep their state in plain attributes; the snapshot
copies values and containers and keeps references to shared objects (the
machine, cores, interrupt lines, events), whose own state it saves separately.
Listeners (consoles watching a UART) are not machine state and stay as they are.
"""

from __future__ import annotations

import copy
import ctypes
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from bench.emu import native
from bench.emu.cortexm import CortexM, _load_registers, _save_registers
from bench.emu.machine import Machine
from bench.emu.peripheral import IrqLine

_VALUES = (int, float, str, bytes, bool, tuple, type(None))
_CONTAINERS = (list, dict, deque, bytearray, set)
# Not machine state, or live bookkeeping a model rebuilds in after_restore().
_NOT_STATE = {"listeners", "machine", "core", "m4", "m0", "memories", "_shadow", "_native"}
CHANGED_PAGES_LISTED = 65536  # 1 KiB pages a restore lists (64 MiB); more: every core drops its code
_CORE_FIELDS = ("pc", "stalled", "in_reset", "sleep", "event_register", "halted_error", "vtor", "scr", "ccr",
                "shcsr", "cfsr", "hfsr", "bfar", "mmfar", "fault_policy")


@dataclass
class _NativeBytes:
    """A model's state kept in native memory (ctypes), for native code to use: its bytes."""

    target: Any
    data: bytes


def _capture(obj: Any) -> dict[str, Any]:
    saved = {}
    for name, value in vars(obj).items():
        if name in _NOT_STATE:
            continue
        if isinstance(value, _CONTAINERS):
            saved[name] = copy.deepcopy(value)
        elif isinstance(value, (ctypes.Array, ctypes.Structure)):
            saved[name] = _NativeBytes(value, bytes(value))
        elif isinstance(value, _VALUES) or not callable(value):
            saved[name] = value
    return saved


def _apply(obj: Any, saved: dict[str, Any]) -> None:
    for name, value in saved.items():
        if isinstance(value, _NativeBytes):
            ctypes.memmove(ctypes.addressof(value.target), value.data, len(value.data))
        else:
            setattr(obj, name, copy.deepcopy(value) if isinstance(value, _CONTAINERS) else value)


@dataclass
class Snapshot:
    memories: list[bytes]
    cores: list[dict[str, Any]]
    devices: dict[str, dict[str, Any]]
    irq_levels: list[tuple[IrqLine, bool]]
    events: list[tuple[Any, bool]]
    sev: tuple[int, int]  # a SEV's native delivery: (cycle, sender), hints.c
    machine: dict[str, Any]
    trace: tuple[list[Any], Any, int]
    seconds_to_take: float = 0.0


def _core_state(core: CortexM) -> dict[str, Any]:
    core._select(False)  # registers are read from, and later written to, the fast instance
    st = core.state
    return {
        "registers": _save_registers(core.regs, core.is_v7m),
        "fields": {name: getattr(core, name) for name in _CORE_FIELDS},
        "native": (st.count, st.irq_hint, st.take_now),
        "nvic": core.nvic.save(),
        "scs": _capture(core.scs),
        "systick": _capture(core.scs.systick),
    }


def take(machine: Machine) -> Snapshot:
    """Capture the machine between scheduler steps (not from inside a device callback)."""
    if machine.running is not None:
        raise RuntimeError("a snapshot is taken between scheduler steps, not while a core runs")
    start = time.perf_counter()
    lines = []
    for device in machine.devices.values():
        lines += [v for v in vars(device).values() if isinstance(v, IrqLine)]
    snapshot = Snapshot(
        memories=[memory.read(memory.base, memory.size) for memory in machine.memories.values()],
        cores=[_core_state(core) for core in machine.cores],
        devices={name: _capture(device) for name, device in machine.devices.items()},
        irq_levels=[(line, line.level) for line in lines],
        events=[(event, event.cancelled) for event in machine._events],
        sev=(machine.native.sev_time, machine.native.sev_core),
        machine={"_seq": machine._seq, "_idle_time": machine._idle_time},
        trace=(list(machine.trace.records), machine.trace.hash_state(), machine.trace.count),
    )
    snapshot.seconds_to_take = time.perf_counter() - start
    return snapshot


def _restore_memories(machine: Machine, snapshot: Snapshot) -> tuple[ctypes.Array[ctypes.c_uint64], int] | None:
    """Put every memory back, copying only the pages that differ (bench_restore_pages); returns the
    host addresses of those pages and how many, or None if there are too many to tell cores about."""
    changed = (ctypes.c_uint64 * CHANGED_PAGES_LISTED)()
    listed = 0
    for memory, data in zip(machine.memories.values(), snapshot.memories, strict=True):
        used = min(listed, CHANGED_PAGES_LISTED)  # (past the end: nothing more is listed, all is copied)
        listed += native.library().bench_restore_pages(memory.host_address(memory.base), data, memory.size,
                                                       ctypes.byref(changed, 8 * used), CHANGED_PAGES_LISTED - used)
    return (changed, listed) if listed <= CHANGED_PAGES_LISTED else None


def restore(machine: Machine, snapshot: Snapshot) -> float:
    """Put the machine back to the snapshot's instant; returns the seconds it took."""
    start = time.perf_counter()
    for core in machine.cores:
        core._select(False)  # (what the precise instance wrote is dropped before memory changes)
    changed = _restore_memories(machine, snapshot)
    for core, saved in zip(machine.cores, snapshot.cores, strict=True):
        _load_registers(core.regs, saved["registers"], core.is_v7m)
        for name, value in saved["fields"].items():
            setattr(core, name, value)
        st = core.state
        st.count, st.irq_hint, st.take_now = saved["native"]
        st.stop_next = 0
        st.intno = 0
        core.reset_probe_hits()
        core.nvic.load(saved["nvic"])
        _apply(core.scs, saved["scs"])
        _apply(core.scs.systick, saved["systick"])
        if changed is None or core._lib.bench_code_changed(ctypes.byref(st), *changed):
            core.flush_code_cache()  # memory changed under translated code
    for name, device in machine.devices.items():
        _apply(device, snapshot.devices[name])
        after = getattr(device, "after_restore", None)
        if after is not None:
            after()
    for line, level in snapshot.irq_levels:
        line.level = level
    for event, cancelled in snapshot.events:
        event.cancelled = cancelled
    machine._events = [event for event, _ in snapshot.events]
    machine.native.sev_time, machine.native.sev_core = snapshot.sev
    machine.native.horizon = 0  # (the scheduler looks at the restored events before the next hint)
    for name, value in snapshot.machine.items():
        setattr(machine, name, value)
    records, digest, count = snapshot.trace
    machine.trace.records = list(records)
    machine.trace.restore_hash(digest, count)
    machine.error = None
    return time.perf_counter() - start
