"""Build and load the native block hook (corehook.c).

Why a C hook: exact instruction counting, SEV/WFE/WFI trapping and unmask
detection must run before every translated block; in Python a hook costs
microseconds, in C nanoseconds. The library is compiled once per source and
Unicorn version into the user cache (``~/.cache/amp-bench/native/<hash>``) with
the host C compiler and Unicorn's own headers, and loaded with ctypes.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import struct
import subprocess
import tempfile
from functools import cache
from pathlib import Path

import unicorn

from bench.errors import BenchError

SOURCE = Path(__file__).with_name("corehook.c")
SOURCES = (SOURCE, SOURCE.with_name("exceptions.c"), SOURCE.with_name("mmio.c"), SOURCE.with_name("hints.c"),
           SOURCE.with_name("scheduler.c"), SOURCE.with_name("report.c"), SOURCE.with_name("nvic.h"))  # one library
MAX_REGIONS = 32
MAX_PAGES = 2048
PAGE_SLOTS = 4096
PAGE_BITS = 10
MAX_PROBES = 16
PROBE_RING = 1024
MAX_EXCEPTIONS = 128  # BENCH_MAX_EXC
EVENT_LOG = 256
EV_ENTRY, EV_RETURN, EV_TAIL_RETURN, EV_TAIL_ENTRY, EV_SEV, EV_SLEEP, EV_WAKE, EV_DELIVER = range(1, 9)
RUN_LIMIT, RUN_DISPATCH, RUN_ENGINE = 1, 2, 3  # bench_run_fast

# Stop reasons and instruction kinds, mirrored from corehook.c.
STOP_NONE, STOP_LIMIT, STOP_HINT, STOP_SPLIT, STOP_REQUEST, STOP_NOCODE, STOP_BREAK = range(7)
K_PLAIN, K_SEV, K_WFE, K_WFI, K_YIELD, K_UNMASK = range(6)


class Region(ctypes.Structure):
    _fields_ = [("base", ctypes.c_uint64), ("size", ctypes.c_uint64), ("host", ctypes.c_void_p)]


class PageSet(ctypes.Structure):
    """Mirror of bench_page_set_t."""

    _fields_ = [
        ("pages", ctypes.c_uint32 * MAX_PAGES),
        ("n", ctypes.c_uint32),
        ("overflow", ctypes.c_uint32),
        ("last", ctypes.c_uint32),
        ("slots", ctypes.c_uint32 * PAGE_SLOTS),
    ]


class NvicState(ctypes.Structure):
    """Mirror of bench_nvic_t: a core's exception state (bench.emu.nvic.Nvic is its view)."""

    _fields_ = [
        ("enabled", ctypes.c_uint8 * MAX_EXCEPTIONS),
        ("pending", ctypes.c_uint8 * MAX_EXCEPTIONS),
        ("active", ctypes.c_uint8 * MAX_EXCEPTIONS),
        ("line_level", ctypes.c_uint8 * MAX_EXCEPTIONS),
        ("priority", ctypes.c_int16 * MAX_EXCEPTIONS),
        ("count", ctypes.c_uint32),
        ("num_irqs", ctypes.c_uint32),
        ("priority_mask", ctypes.c_uint32),
        ("prigroup", ctypes.c_uint32),
        ("has_basepri", ctypes.c_uint32),
    ]


class Event(ctypes.Structure):
    """Mirror of bench_event_t: one exception step the native code took."""

    _fields_ = [("cycle", ctypes.c_uint64)] + [(name, ctypes.c_uint32) for name in (
        "core", "kind", "number", "pc", "sp", "r7", "psp", "msp", "frame_pc", "frame_xpsr")]


class EventLog(ctypes.Structure):
    """Mirror of bench_event_log_t: the machine drains it in order (Machine.drain_events)."""

    _fields_ = [("n", ctypes.c_uint32), ("overflow", ctypes.c_uint32), ("e", Event * EVENT_LOG)]


class CoreState(ctypes.Structure):
    """Mirror of bench_core_state_t: the hook and the engine share it."""

    _fields_ = [
        ("count", ctypes.c_uint64),
        ("limit", ctypes.c_uint64),
        ("soft_limit", ctypes.c_uint64),
        ("stop_pc", ctypes.c_uint64),
        ("split_addr", ctypes.c_uint64),
        ("block_base", ctypes.c_uint64),
        ("block_addr", ctypes.c_uint64),
        ("block_size", ctypes.c_uint32),
        ("reason", ctypes.c_uint32),
        ("hint", ctypes.c_uint32),
        ("insn_size", ctypes.c_uint32),
        ("stop_next", ctypes.c_uint32),
        ("irq_hint", ctypes.c_uint32),
        ("take_now", ctypes.c_uint32),
        ("nregions", ctypes.c_uint32),
        ("last_region", ctypes.c_uint32),
        ("prev_end", ctypes.c_uint64),
        ("it_start", ctypes.c_uint64),
        ("it_end", ctypes.c_uint64),
        ("plain_start", ctypes.c_uint64),
        ("plain_end", ctypes.c_uint64),
        ("it_dirty", ctypes.c_uint32),
        ("at_site", ctypes.c_uint32),
        ("code_flush", ctypes.c_uint32),
        ("insn_gate", ctypes.c_uint32),
        ("break_skip", ctypes.c_uint64),
        ("insn_pc", ctypes.c_uint64),
        ("bulk_count", ctypes.c_uint64),
        ("bulk", ctypes.c_uint32),
        ("emu_stop", ctypes.c_void_p),
        ("regions", Region * MAX_REGIONS),
        ("executed", PageSet),
        ("written", PageSet),
        ("exec_copy", ctypes.c_void_p),
        ("nprobes", ctypes.c_uint32),
        ("nhits", ctypes.c_uint32),
        ("probe_pc", ctypes.c_uint64 * MAX_PROBES),
        ("hit_probe", ctypes.c_uint32 * PROBE_RING),
        ("hit_count", ctypes.c_uint64 * PROBE_RING),
        ("last_hit_count", ctypes.c_uint64),
        ("last_hit_probe", ctypes.c_uint32),
        ("break_mode", ctypes.c_uint32),
        ("mmio_live", ctypes.c_uint32),
        ("spec", ctypes.c_void_p),
        ("site_count", ctypes.c_uint64),
        ("sites", ctypes.c_void_p),
        ("nvic", NvicState),
        ("events", ctypes.POINTER(EventLog)),
        ("stalled", ctypes.c_uint64),
        ("pc", ctypes.c_uint64),
    ] + [(name, ctypes.c_uint32) for name in (
        "intno", "yield_req", "native_exc", "core_index", "event_register", "vtor", "scr", "ccr", "has_vtor",
        "is_v7m", "irq_entry_cycles", "tail_chain_cycles", "last_err")] + [
        ("code_pages", ctypes.c_void_p),
        ("mmio_aborted", ctypes.c_uint32),
        ("exec_remembered", ctypes.c_uint32),
        ("sleep", ctypes.c_uint32),
        ("in_reset", ctypes.c_uint32),
        ("use_sites", ctypes.c_uint32),
        ("sites_learned", ctypes.c_uint32),
        ("precise", ctypes.c_uint32),
        ("emulating", ctypes.c_uint32),
        ("in_lockstep", ctypes.c_uint32),
        ("halted", ctypes.c_uint32),
        ("blocks", ctypes.c_void_p),
        ("block_gen", ctypes.c_uint32),
        ("block_words", ctypes.c_uint32),
        ("fills_keep_state", ctypes.c_uint32),
        ("exit_on_slow_path", ctypes.c_uint32),
        ("exec_seen", ctypes.c_void_p),
        ("exec_episode", ctypes.c_uint32),
        ("exec_age", ctypes.c_uint32),
        ("machine", ctypes.c_void_p),
        ("precise_bulk", ctypes.c_uint32),
        ("bulk_blocks", ctypes.c_uint64),
    ]


def state_field(name: str, convert: type = int, doc: str | None = None) -> property:
    """A property of an engine object kept in its native state (`self.state`, a CoreState or
    NvicState), so that the native code and the engine share it under the engine's name."""
    return property(lambda self: convert(getattr(self.state, name)),
                    lambda self, value: setattr(self.state, name, int(value)), doc=doc)


MAX_CORES = 8
NAME_SIZE = 32
LINE_SIZE = 20 + NAME_SIZE + 48  # BENCH_LINE


class CoreNames(ctypes.Structure):
    """Mirror of bench_names_t: core names, as the trace writes them."""

    _fields_ = [("name", (ctypes.c_char * NAME_SIZE) * MAX_CORES)]


NEEDS_ENGINE_BEFORE_RUN = 100  # bench_lockstep's return value + core index when nothing ran
NEEDS_ENGINE_IN_RUN = 200  # ... when the native steps ran it part of the way to `run_limit`
DIVERGED = -1  # bench_lockstep's err: a window's re-run did not retrace the first run (a bug)
LOCKSTEP_STATS = ("windows", "reruns", "conflicts", "reference_steps", "cycles_undone")


class Lockstep(ctypes.Structure):
    """Mirror of bench_lockstep_t."""

    _fields_ = [
        ("uc", ctypes.c_void_p * MAX_CORES),
        ("st", ctypes.POINTER(CoreState) * MAX_CORES),
        ("pc", ctypes.c_uint64 * MAX_CORES),
        ("n", ctypes.c_uint32),
        ("err", ctypes.c_int32),
        ("horizon", ctypes.c_uint64),
        ("windows", ctypes.c_uint32),
        ("lead", ctypes.c_uint32),
        ("window", ctypes.c_uint64),
        ("stats", ctypes.c_uint64 * len(LOCKSTEP_STATS)),
        ("stretches", ctypes.c_void_p * 2),  # the predictors, owned by the C side
        ("pairs", ctypes.c_void_p),
        ("run_limit", ctypes.c_uint64),
        ("dispatch", ctypes.c_uint32),
    ]


NEVER = (1 << 64) - 1  # BENCH_NEVER
SLEEP_KINDS = (None, "wfi", "wfe")  # enum sleep_kind


class MachineState(ctypes.Structure):
    """Mirror of bench_machine_t: the cores' shared timing, for the hints taken natively (hints.c)."""

    _fields_ = [
        ("horizon", ctypes.c_uint64),
        ("idle_time", ctypes.c_uint64),
        ("sev_time", ctypes.c_uint64),
        ("sev_core", ctypes.c_uint32),
        ("ncores", ctypes.c_uint32),
        ("running", ctypes.c_uint32),
        ("st", ctypes.POINTER(CoreState) * MAX_CORES),
        ("uc", ctypes.c_void_p * MAX_CORES),
        ("fast", ctypes.c_void_p * MAX_CORES),
        ("precise", ctypes.c_void_p * MAX_CORES),
        ("sev_latch", ctypes.c_void_p * MAX_CORES),
        ("lockstep", ctypes.c_void_p),
        ("until", ctypes.c_uint64),
        ("quantum", ctypes.c_uint64),
        ("pair", ctypes.c_void_p),
        ("engine_called", ctypes.c_uint32),
        ("handover", ctypes.c_int32),
        ("handover_core", ctypes.c_uint32),
        ("handover_horizon", ctypes.c_uint64),
    ]


MR_AGAIN, MR_ENGINE, MR_LOCKSTEP, MR_LONE = range(4)  # bench_machine_run


def cache_root() -> Path:
    """The directory for the bench's cached builds (AMP_BENCH_CACHE overrides)."""
    env = os.environ.get("AMP_BENCH_CACHE")
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "amp-bench"


def _unicorn_dir() -> Path:
    return Path(unicorn.__file__).parent


def _library_path() -> Path:
    digest = hashlib.sha256()
    for source in SOURCES:
        digest.update(source.read_bytes())
    digest.update(unicorn.__version__.encode())
    digest.update((_unicorn_dir() / "lib" / "libunicorn.so.2").read_bytes()[:4096])
    return cache_root() / "native" / digest.hexdigest()[:16] / "libbenchcore.so"


def _build(target: Path) -> None:
    compiler = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
    if compiler is None:
        raise BenchError("no C compiler found to build the native core hook: install gcc (make demo does)")
    udir = _unicorn_dir()
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        out = Path(tmp) / target.name
        cmd = [
            compiler, "-O2", "-shared", "-fPIC", "-Wall", "-Werror",
            "-I", str(udir / "include"), str(SOURCE), "-o", str(out),
            "-L", str(udir / "lib"), "-l:libunicorn.so.2", f"-Wl,-rpath,{udir / 'lib'}",
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise BenchError(f"building the native core hook failed:\n{proc.stderr.strip()}")
        os.replace(out, target)


class ExceptionEntry(ctypes.Structure):
    """Mirror of bench_entry_t."""

    _fields_ = [(name, ctypes.c_uint32) for name in
                ("number", "return_address", "stkalign", "vector_base", "frame", "vector", "exc_return")]


class ExceptionUnstack(ctypes.Structure):
    """Mirror of bench_unstack_t."""

    _fields_ = [(name, ctypes.c_uint32) for name in ("use_psp", "to_thread", "v7m", "pc", "new_sp", "xpsr")]


class CycleCounter(ctypes.Structure):
    """Mirror of bench_counter_t: a device register whose value follows the cycle (a timer's
    counter), which the fast instance reads without calling into Python (mmio.c). The device
    model keeps it equal to its own state."""

    _fields_ = [("offset", ctypes.c_uint64), ("running", ctypes.c_uint32), ("ticks", ctypes.c_int64),
                ("anchor", ctypes.c_uint64), ("divisor", ctypes.c_uint64)]


class Latch(ctypes.Structure):
    """Mirror of bench_latch_t: an event latch driving another core's interrupt line, which that
    core clears itself without Python (mmio.c); the device model keeps its value here."""

    _fields_ = [("offset", ctypes.c_uint64), ("value", ctypes.c_uint32), ("irq", ctypes.c_uint32),
                ("wire", ctypes.POINTER(ctypes.c_uint32)), ("target", ctypes.POINTER(CoreState))]


class MmioWindow(ctypes.Structure):
    """Mirror of bench_mmio_t: a device window whose accesses pass through mmio.c."""

    _fields_ = [("st", ctypes.POINTER(CoreState)), ("read", ctypes.c_void_p), ("write", ctypes.c_void_p),
                ("counter", ctypes.POINTER(CycleCounter)), ("scs", ctypes.c_uint32), ("precise", ctypes.c_uint32),
                ("latches", ctypes.POINTER(Latch)), ("nlatches", ctypes.c_uint32)]


@cache
def library() -> ctypes.CDLL:
    """The loaded hook library, built on first use."""
    path = _library_path()
    if not path.exists():
        _build(path)
    lib = ctypes.CDLL(str(path))
    lib.bench_core_state_size.restype = ctypes.c_size_t
    if lib.bench_core_state_size() != ctypes.sizeof(CoreState):  # (a field added on one side only)
        raise RuntimeError(f"{path}: bench_core_state_t is {lib.bench_core_state_size()} bytes, its mirror "
                           f"CoreState {ctypes.sizeof(CoreState)}")
    lib.bench_attach.argtypes = [ctypes.c_void_p, ctypes.POINTER(CoreState), ctypes.POINTER(ctypes.c_size_t),
                                 ctypes.c_int]
    lib.bench_attach.restype = ctypes.c_int
    lib.bench_count_between.argtypes = [ctypes.POINTER(CoreState), ctypes.c_uint64, ctypes.c_uint64]
    lib.bench_count_between.restype = ctypes.c_uint64
    lib.bench_insn_size.argtypes = [ctypes.POINTER(CoreState), ctypes.c_uint64]
    lib.bench_insn_size.restype = ctypes.c_uint32
    lib.bench_pages_clear.argtypes = [ctypes.POINTER(PageSet)]
    lib.bench_exec_remember.argtypes = [ctypes.POINTER(CoreState)]
    lib.bench_exec_forget.argtypes = [ctypes.POINTER(CoreState)]
    lib.bench_precise_sync.argtypes = [ctypes.POINTER(CoreState)]
    lib.bench_has_insn_gate.argtypes = []
    lib.bench_exec_changed.argtypes = [ctypes.POINTER(CoreState)]
    lib.bench_exec_changed.restype = ctypes.c_int
    lib.bench_drop_written.argtypes = [ctypes.c_void_p, ctypes.POINTER(CoreState)]
    lib.bench_restore_pages.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_uint64, ctypes.c_void_p,
                                        ctypes.c_uint32]
    lib.bench_restore_pages.restype = ctypes.c_uint32
    lib.bench_code_changed.argtypes = [ctypes.POINTER(CoreState), ctypes.POINTER(ctypes.c_uint64), ctypes.c_uint32]
    lib.bench_code_changed.restype = ctypes.c_int
    lib.bench_learn_site.argtypes = [ctypes.c_void_p, ctypes.POINTER(CoreState), ctypes.c_uint64]
    lib.bench_learn_site.restype = ctypes.c_int
    lib.bench_forget_sites.argtypes = [ctypes.c_void_p, ctypes.POINTER(CoreState)]
    lib.bench_flush_tlb.argtypes = [ctypes.c_void_p]
    lib.bench_precise_enter.argtypes = [ctypes.c_void_p, ctypes.POINTER(CoreState)]
    lib.bench_copy_registers.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int]
    lib.bench_machine_deliver.argtypes = [ctypes.POINTER(MachineState)]
    lib.bench_machine_run.argtypes = [ctypes.POINTER(MachineState)]
    lib.bench_machine_run.restype = ctypes.c_int
    lib.bench_select.argtypes = [ctypes.POINTER(MachineState), ctypes.c_uint32, ctypes.c_int]
    lib.bench_lockstep.argtypes = [ctypes.POINTER(Lockstep)]
    lib.bench_lockstep.restype = ctypes.c_int
    lib.bench_exc_enter.argtypes = [ctypes.c_void_p, ctypes.POINTER(ExceptionEntry)]
    lib.bench_exc_enter.restype = ctypes.c_int
    lib.bench_exc_unstack.argtypes = [ctypes.c_void_p, ctypes.POINTER(ExceptionUnstack)]
    lib.bench_exc_unstack.restype = ctypes.c_int
    for name in ("bench_native_take", "bench_native_interrupt", "bench_run_fast"):
        getattr(lib, name).argtypes = [ctypes.c_void_p, ctypes.POINTER(CoreState)]
        getattr(lib, name).restype = ctypes.c_int
    lib.bench_mmio_map.argtypes = [ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint64, ctypes.POINTER(MmioWindow)]
    lib.bench_mmio_map.restype = ctypes.c_int
    lib.bench_icsr.argtypes = [ctypes.POINTER(NvicState), ctypes.c_uint32]
    lib.bench_icsr.restype = ctypes.c_uint32
    lib.bench_nvic_bank_write.argtypes = [ctypes.POINTER(NvicState), ctypes.c_uint32, ctypes.c_uint32]
    lib.bench_nvic_highest_pending.argtypes = [ctypes.POINTER(NvicState)]
    lib.bench_nvic_highest_pending.restype = ctypes.c_int
    lib.bench_nvic_execution_priority.argtypes = [ctypes.POINTER(NvicState), ctypes.c_uint32, ctypes.c_uint32,
                                                  ctypes.c_uint32]
    lib.bench_nvic_execution_priority.restype = ctypes.c_int
    lib.bench_probes_new.restype = ctypes.c_void_p
    lib.bench_probes_free.argtypes = [ctypes.c_void_p]
    lib.bench_probes_clear.argtypes = [ctypes.c_void_p]
    lib.bench_probes_entry.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_uint32, ctypes.c_uint32]
    lib.bench_probes_syscall.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_uint32, ctypes.c_int32,
                                         ctypes.c_int32]
    lib.bench_probes_sev.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_uint32]
    for name in ("bench_probes_entry", "bench_probes_syscall", "bench_probes_sev"):
        getattr(lib, name).restype = ctypes.c_int
    lib.bench_probes_hits.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_uint64)]
    lib.bench_probes_hits.restype = ctypes.c_void_p
    lib.bench_report_events.argtypes = [ctypes.POINTER(CoreNames), ctypes.c_void_p, ctypes.c_uint32,
                                        ctypes.c_void_p, ctypes.c_uint32, ctypes.c_char_p,
                                        ctypes.POINTER(ctypes.c_uint32)]
    lib.bench_report_events.restype = ctypes.c_uint64
    return lib


class NativeProbes:
    """A probe file's points on engine events, matched in C as the machine reports its events
    (report.c): hits are (cycle, core index, point index, thread)."""

    _HIT = struct.Struct("<QIIQ")  # bench_hit_t

    def __init__(self) -> None:
        self._lib = library()
        self.handle = self._lib.bench_probes_new()
        if not self.handle:
            raise MemoryError("bench_probes_new")

    def close(self) -> None:
        if self.handle:
            self._lib.bench_probes_free(self.handle)
            self.handle = None

    def __del__(self) -> None:
        self.close()

    def on_entry(self, core: int, exception: int, point: int) -> None:
        """A hit when `core` starts the handler of `exception`."""
        if self._lib.bench_probes_entry(self.handle, core, exception, point):
            raise ValueError(f"no exception {exception} on core {core}")

    def on_syscall(self, core: int, number: int, entry: int | None, ret: int | None) -> None:
        """Hits when `core` enters system call `number`, and when the calling thread resumes."""
        if self._lib.bench_probes_syscall(self.handle, core, number, -1 if entry is None else entry,
                                          -1 if ret is None else ret):
            raise ValueError("too many system-call points")

    def on_sev(self, core: int, point: int) -> None:
        """A hit when `core` executes SEV (at the SEV's cycle)."""
        if self._lib.bench_probes_sev(self.handle, core, point):
            raise ValueError("too many SEV points")

    def clear(self) -> None:
        self._lib.bench_probes_clear(self.handle)

    def hits(self) -> list[tuple[int, int, int, int]]:
        n = ctypes.c_uint64()
        at = self._lib.bench_probes_hits(self.handle, ctypes.byref(n))
        if not n.value:
            return []
        return list(self._HIT.iter_unpack(ctypes.string_at(at, n.value * self._HIT.size)))
