"""The machine: cores, memories, peripherals, timed events and the scheduler.

Virtual time is counted in cycles of the platform clock that all cores share
(the LPC4337 runs both at 204 MHz). Each core keeps its own cycle count; the
scheduler keeps them consistent so that every cross-core effect is exact:

- Effects of a core's instruction on *another* core (SEV, an IRQ line, a reset
  release) become visible one cycle after the instruction started; they are
  queued as timed events, and the running core's limit is cut so it stops at
  that cycle.
- A timed event at cycle T fires once every runnable core has reached T.
- The runnable core furthest behind runs next. With one runnable core (the
  others asleep in WFI/WFE or in reset) it runs up to `quantum` cycles or the
  next event. With several, the result is the reference order's: instruction by
  instruction, the instructions of one cycle core by core in index order. Lockstep
  windows (bench_lockstep in corehook.c) give that result without stepping: one core
  runs ahead alone while logging what it stores, the other follows with every access
  checked against the pages the first used, and a window is undone where the two
  interacted. Results therefore do not depend on the quantum: it only bounds how
  long a lone core runs between scheduler decisions.

The cost of this exactness is paid only while two or more cores are awake at
once; the trace and all figures are identical for every quantum, and identical
with windows and with reference stepping (AMP_BENCH_LOCKSTEP=reference).

Iterations of the loop below that need nothing of Python run in C
(bench_machine_run, native/scheduler.c), in the same order; the loop takes over
where an iteration needs the engine (AMP_BENCH_NATIVE_LOOP=off: always).
"""

from __future__ import annotations

import ctypes
import heapq
import os
from collections.abc import Callable
from dataclasses import dataclass, field

from bench.emu import native
from bench.emu.cortexm import CortexM
from bench.emu.memory import Memory
from bench.emu.peripheral import IrqLine, Peripheral
from bench.emu.trace import Trace
from bench.errors import BenchError, GuestError

NEVER = 1 << 62
_EVENTS_OFFSET = native.EventLog.e.offset
LOCKSTEP_WINDOW = 8192  # cycles a lockstep window's leader may run ahead of the other core


@dataclass(order=True)
class _Event:
    time: int
    seq: int
    action: Callable[[], None] = field(compare=False)
    cancelled: bool = field(default=False, compare=False)


class Machine:
    """A set of cores and devices advancing in one virtual time."""

    def __init__(self, name: str, frequency_hz: int, quantum: int = 100_000) -> None:
        if quantum < 1:
            raise ValueError("quantum must be at least one cycle")
        self.name = name
        self.frequency_hz = frequency_hz
        self.quantum = quantum
        self.cores: list[CortexM] = []
        self.memories: dict[str, Memory] = {}
        self.devices: dict[str, Peripheral] = {}
        self.trace = Trace()
        self.events = native.EventLog()  # exception steps the native code took, drained in order
        self.native_steps = 0  # how many (for tests and benchmarks)
        self._engine_events = 0  # (events the engine logged itself, in the log now: log_event)
        # What reports them (drain_events): the cores' names, the probe sets matched on them.
        self._core_names = native.CoreNames()
        self._report_text = ctypes.create_string_buffer(native.EVENT_LOG * native.LINE_SIZE)
        self.native_probes: list[native.NativeProbes] = []
        self._probe_handles = (ctypes.c_void_p * 1)()
        self.trace.pending = self._drain_if_pending
        # The event latch each core's SEV sets, and the line it drives (wire_sev_latch).
        self._sev_latches: dict[int, tuple[native.Latch, IrqLine | None]] = {}
        # The cores' shared timing for the hints the native code takes (hints.c): the next
        # timed event bounds them (0 until the scheduler looks), and a SEV's pending delivery.
        self.native = native.MachineState(horizon=0, sev_time=native.NEVER)
        self._native_ref = ctypes.byref(self.native)
        self._lib = native.library()
        self.symbolizers: list[Callable[[int], str | None]] = []
        # Called between scheduler steps, when no core runs (a debugger stub serves clients there).
        self.step_hooks: list[Callable[[], None]] = []
        self._events: list[_Event] = []
        self._seq = 0
        self._firing: int | None = None
        self._lockstep_structs: dict[tuple[int, ...], native.Lockstep] = {}
        self._lockstep_at: dict[int, native.Lockstep] = {}  # by address (MachineState.lockstep)
        self._stop_requested = False
        self.error: GuestError | None = None
        # Windows (the default) give the reference order's exact result faster; "reference"
        # steps instruction by instruction, to check them against.
        self.lockstep_windows = os.environ.get("AMP_BENCH_LOCKSTEP", "windows") != "reference"
        # The loop's iterations that need no engine run in C (native/scheduler.c); "off" runs
        # every one here, to check it against.
        self.native_loop = os.environ.get("AMP_BENCH_NATIVE_LOOP", "on") != "off"

    # ---------------------------------------------------------------- time
    @property
    def running(self) -> CortexM | None:
        """The core running alone now (its device accesses happen at its cycle), or None."""
        index = self.native.running
        return self.cores[index - 1] if index else None

    @running.setter
    def running(self, core: CortexM | None) -> None:
        self.native.running = core.index + 1 if core is not None else 0

    @property
    def _idle_time(self) -> int:
        return self.native.idle_time

    @_idle_time.setter
    def _idle_time(self, cycle: int) -> None:
        self.native.idle_time = cycle

    def now(self) -> int:
        """The current cycle: the running core's, or the scheduler's between runs."""
        if self.running is not None:
            return self.running.cycles
        if self._firing is not None:
            return self._firing
        runnable = [c.cycles for c in self.cores if c.runnable]
        return min(runnable) if runnable else self._idle_time

    def seconds(self, cycles: int) -> float:
        return cycles / self.frequency_hz

    def cycles_for(self, seconds: float) -> int:
        return round(seconds * self.frequency_hz)

    def attach_core(self, core: CortexM) -> None:
        """Let the native hints see the core (hints.c): its state, and the instance in use."""
        ns = self.native
        name = core.name.encode()
        if len(name) >= native.NAME_SIZE or b" " in name:
            raise BenchError(f"core name {core.name!r}: at most {native.NAME_SIZE - 1} characters, no spaces")
        self._core_names.name[core.index].value = name
        ns.st[core.index] = ctypes.pointer(core.state)
        ns.ncores = max(ns.ncores, core.index + 1)
        core.state.machine = ctypes.addressof(ns)
        fast, precise = (ctypes.cast(uc._uch, ctypes.c_void_p).value for uc in core._instances)
        ns.fast[core.index], ns.precise[core.index] = fast, precise
        ns.uc[core.index] = precise if core.precise else fast

    def wire_sev_latch(self, sender: CortexM, latch: native.Latch, line: IrqLine | None) -> None:
        """`sender`'s SEV sets `latch`, which drives `line` (the LPC43xx CREG's TXEVENT latches)."""
        self._sev_latches[sender.index] = (latch, line)
        self.native.sev_latch[sender.index] = ctypes.addressof(latch)

    # -------------------------------------------------------------- events
    def schedule(self, time: int, action: Callable[[], None]) -> _Event:
        """Run `action` at cycle `time` (never earlier than now + 0)."""
        self._seq += 1
        event = _Event(max(time, self.now()), self._seq, action)
        heapq.heappush(self._events, event)
        if event.time < self.native.horizon:
            self.native.horizon = event.time
        if self.running is not None:
            self.running.cut_limit(event.time)
        if self.native.lockstep:  # a lockstep loop is running: it stops there at the latest
            ls = self._lockstep_at[self.native.lockstep]
            ls.horizon = min(ls.horizon, event.time)
        return event

    def cancel(self, event: object) -> None:
        if isinstance(event, _Event):
            event.cancelled = True

    def post(self, action: Callable[[], None]) -> None:
        """Apply an effect on another core one cycle after the current instruction began."""
        self.schedule(self.now(), action)

    def _next_event_time(self) -> int:
        """The next timed event's cycle, a SEV's native delivery included (NEVER: none)."""
        while self._events and self._events[0].cancelled:
            heapq.heappop(self._events)
        ns = self.native
        ns.horizon = time = self._events[0].time if self._events else NEVER
        sev = ns.sev_time
        return sev if sev < time else time

    def _fire(self, time: int) -> None:
        self._idle_time = max(self._idle_time, time)
        self._firing = time
        ns, events = self.native, self._events
        try:
            while True:
                # A native SEV's delivery was scheduled before every event of its cycle (hints.c).
                sev = ns.sev_time
                if sev <= time and (not events or sev <= events[0].time):
                    if self.events.n > native.EVENT_LOG - 8:
                        self.drain_events()
                    self._lib.bench_machine_deliver(self._native_ref)
                elif events and events[0].time <= time:
                    event = heapq.heappop(events)
                    if not event.cancelled:
                        event.action()
                else:
                    break
        finally:
            self._firing = None

    # ------------------------------------------------------- core callbacks
    def sev(self, core: CortexM, at: int) -> None:
        """A core executed SEV at cycle `at`: every core sees the event at `at + 1`."""
        def deliver() -> None:
            for other in self.cores:
                if other is not core and not other.in_reset:
                    other.signal_event()
            self.log_event(core, native.EV_DELIVER, at + 1)  # (the probes' SEV points)
            wired = self._sev_latches.get(core.index)
            if wired is not None:
                latch, line = wired
                latch.value = 1
                if line is not None:
                    line.set(True)
        core.event_register = True
        self.schedule(at + 1, deliver)

    def core_woke(self, core: CortexM) -> None:
        """A sleeping core woke: it resumes at the current cycle."""
        now = self.now() if self.running is not core else core.cycles
        if core.cycles < now:
            core.stall(now - core.cycles)
        self.log_event(core, native.EV_WAKE, core.cycles)

    def core_halted(self, core: CortexM) -> None:
        if self.error is None:
            self.error = core.halted_error
        if self.running is core:
            core.request_stop()

    def reset_requested(self, core: CortexM) -> None:
        """AIRCR.SYSRESETREQ: the bench reports it rather than silently rebooting."""
        core.halted_error = GuestError(
            f"{core.name}: the guest requested a system reset (AIRCR.SYSRESETREQ) at cycle {core.cycles}")
        self.core_halted(core)

    def request_stop(self) -> None:
        """Stop the run at the next instruction boundary (a console match, a user request)."""
        self._stop_requested = True
        if self.running is not None:
            self.running.request_stop()

    def _drain_if_pending(self) -> None:
        if self.events.n:
            self.drain_events()

    def drain_events(self) -> None:
        """Report the events logged (the native steps' and the engine's, in order): their trace
        lines and probe hits, in C (native/report.c)."""
        log = self.events
        n = log.n
        if not n:
            return
        log.n = 0
        self.native_steps += n - self._engine_events
        self._engine_events = 0
        lines = ctypes.c_uint32()
        size = self._lib.bench_report_events(ctypes.byref(self._core_names), ctypes.addressof(log) + _EVENTS_OFFSET,
                                             n, self._probe_handles, len(self.native_probes), self._report_text,
                                             ctypes.byref(lines))
        if lines.value:  # (the log is empty again: the trace's look for pending events finds none)
            self.trace.record_text(ctypes.string_at(self._report_text, size).decode(), lines.value)

    def log_event(self, core: CortexM, kind: int, cycle: int, number: int = 0, pc: int = 0, sp: int = 0,
                  context: tuple[int, int, int, int, int] = (0, 0, 0, 0, 0)) -> None:
        """Report an event the engine took itself, as the native steps log theirs (nvic.h):
        the one way events reach the trace and the probes."""
        log = self.events
        if log.n >= native.EVENT_LOG:
            self.drain_events()
        event = log.e[log.n]
        event.cycle, event.core, event.kind, event.number, event.pc, event.sp = cycle, core.index, kind, number, pc, sp
        event.r7, event.psp, event.msp, event.frame_pc, event.frame_xpsr = context
        log.n += 1
        self._engine_events += 1
        self.drain_events()

    def add_probes(self, probes: native.NativeProbes) -> None:
        """Match `probes`' rules on every event from now on (until remove_probes)."""
        self._set_probes([*self.native_probes, probes])

    def remove_probes(self, probes: native.NativeProbes) -> None:
        self._set_probes([p for p in self.native_probes if p is not probes])

    def _set_probes(self, probes: list[native.NativeProbes]) -> None:
        self.drain_events()  # (the events so far under the rules so far)
        self.native_probes = probes
        self._probe_handles = (ctypes.c_void_p * max(1, len(probes)))(*(p.handle for p in probes))

    def symbolize(self, address: int) -> str | None:
        for symbolizer in self.symbolizers:
            name = symbolizer(address)
            if name:
                return name
        return None

    # ------------------------------------------------------------ scheduler
    def run(self, until: int, stop: Callable[[], bool] | None = None) -> str:
        """Advance until every core reached cycle `until`, `stop()` holds, or nothing can happen.

        Returns "until", "stopped" or "idle" (all cores asleep or in reset and no event
        pending: nothing can ever happen again). A guest fault raises GuestError.
        """
        self._stop_requested = False
        native_loop = self.native_loop and not self.step_hooks  # (a debugger's hooks look at every step)
        python_turn = False  # the native loop handed the next iteration to this one
        while True:
            for hook in self.step_hooks:
                hook()
            if self.error is not None:
                raise self.error
            if self._stop_requested or (stop is not None and stop()):
                return "stopped"
            if native_loop and not python_turn:
                python_turn = self._run_native_loop(until)
                continue
            python_turn = False
            next_event = self._next_event_time()
            runnable = [c for c in self.cores if c.runnable]
            if not runnable:
                if next_event == NEVER:
                    return "idle"
                if next_event > until:
                    self._idle_time = max(self._idle_time, until)
                    return "until"
                self._fire(next_event)
                continue
            core = min(runnable, key=lambda c: (c.cycles, c.index))
            if next_event <= core.cycles:
                self._fire(next_event)
                continue
            if core.cycles >= until:
                return "until"
            if len(runnable) > 1:
                self._run_lockstep(runnable, min(until, next_event))
                continue
            self.running = core
            try:
                # A lone core may pause at any block boundary: the quantum needs no exact stop.
                core.run(min(until, next_event), pause=core.cycles + self.quantum)
            finally:
                self.running = None
                core.drain_probes()

    def _run_native_loop(self, until: int) -> bool:
        """The loop's iterations that need no engine, in C (bench_machine_run, native/scheduler.c);
        then what the engine must finish of the last one. True when the next iteration is the engine's."""
        ns = self.native
        ns.until, ns.quantum = until, self.quantum
        pair = self._lockstep_struct(tuple(self.cores)) if len(self.cores) == 2 else None
        if pair is not None:
            pair.windows = int(self.lockstep_windows)
            ns.pair = ctypes.addressof(pair)
        try:
            outcome = self._lib.bench_machine_run(self._native_ref)
        finally:
            self.drain_events()
            for core in self.cores:
                core.drain_probes()
                for uc in core._instances:
                    # A Python error inside a device callback stopped emulation; the binding would
                    # re-raise it from its own emu_start, which the native loop bypasses.
                    failure, uc._hook_exception = uc._hook_exception, None
                    if failure is not None:
                        raise failure
        if outcome == native.MR_ENGINE:
            return True
        if outcome == native.MR_LOCKSTEP and pair is not None:
            self._lockstep_done(list(self.cores), pair, ns.handover, ns.handover_horizon)
        elif outcome == native.MR_LONE:
            core = self.cores[ns.handover_core]
            self.running = core
            try:
                core.run(0, handover=ns.handover)
            finally:
                self.running = None
                core.drain_probes()
        return False

    def _lockstep_struct(self, cores: tuple[CortexM, ...]) -> native.Lockstep:
        """The native lockstep loop's state for this set of awake cores (built once: handles and states stay)."""
        key = tuple(core.index for core in cores)
        ls = self._lockstep_structs.get(key)
        if ls is None:
            ls = self._lockstep_structs[key] = native.Lockstep()
            self._lockstep_at[ctypes.addressof(ls)] = ls
            ls.n = len(cores)
            ls.window = LOCKSTEP_WINDOW
            ls.windows = int(self.lockstep_windows)
            for k, core in enumerate(cores):
                ls.uc[k] = ctypes.cast(core._precise._uch, ctypes.c_void_p).value
                ls.st[k] = ctypes.pointer(core.state)
        return ls

    def _run_lockstep(self, runnable: list[CortexM], horizon: int) -> None:
        """Run awake cores in the reference order (native loop, in windows) until one needs the engine."""
        ls = self._lockstep_struct(tuple(runnable))
        ls.horizon = horizon
        ls.windows = int(self.lockstep_windows)
        ls.err = 0
        for k, core in enumerate(runnable):
            core.select_precise()
            core.prepare_native_run()
            core.in_lockstep = True
            ls.pc[k] = core.pc
        try:
            stopped = self._lib.bench_lockstep(ctypes.byref(ls))
        finally:
            self.drain_events()
            for core in runnable:
                core.in_lockstep = False
        self._lockstep_done(runnable, ls, stopped, horizon)

    def _lockstep_done(self, runnable: list[CortexM], ls: native.Lockstep, stopped: int, horizon: int) -> None:
        """After bench_lockstep: where the cores are, and the engine's part for one that needs it."""
        needing = runnable[stopped % native.NEEDS_ENGINE_BEFORE_RUN] if stopped >= 0 else None
        for k, core in enumerate(runnable):
            core.pc = ls.pc[k]
            core.drain_probes()
            if core is not needing:
                core.prepare_native_run()  # what a window undid reported nothing that happened
            # A Python error inside a device callback stopped emulation; the binding would
            # re-raise it from its own emu_start, which the native loop bypasses.
            failure, core.uc._hook_exception = core.uc._hook_exception, None
            if failure is not None:
                raise failure
        if needing is None:
            return
        core = needing
        if ls.err == native.DIVERGED:
            raise BenchError(f"internal error: a lockstep window of {core.name} did not retrace its first run "
                             f"at cycle {core.cycles}; rerun with AMP_BENCH_LOCKSTEP=reference and report this")
        self.running = core
        try:
            if stopped >= native.NEEDS_ENGINE_IN_RUN:
                # The native steps were running it up to its turn (bench_lockstep's native_run)
                # and met something for the engine: handle it and go on as that run would.
                if ls.dispatch:
                    core.finish_native_run(core.pc, ls.err)
                core.run(ls.run_limit, precise=True, resume=True)
            elif stopped >= native.NEEDS_ENGINE_BEFORE_RUN:
                # The core may run up to the next core's turn in the reference order.
                turn = min(c.cycles + (1 if core.index < c.index else 0) for c in runnable if c is not core)
                core.run(min(horizon, turn), precise=True)
            else:
                core.finish_native_run(core.pc, ls.err)
        finally:
            self.running = None
            core.drain_probes()

    def lockstep_stats(self) -> dict[str, int]:
        """Counters of the lockstep loop, over all sets of awake cores (for benchmarks)."""
        totals = dict.fromkeys(native.LOCKSTEP_STATS, 0)
        for ls in self._lockstep_structs.values():
            for name, value in zip(native.LOCKSTEP_STATS, ls.stats, strict=True):
                totals[name] += value
        return totals

    def run_for(self, cycles: int, stop: Callable[[], bool] | None = None) -> str:
        return self.run(self.now() + cycles, stop)

    # ------------------------------------------------------------ reporting
    def describe_cores(self) -> str:
        """One line a core: where it is and what it is doing (for hang and idle reports)."""
        parts = []
        for core in self.cores:
            if core.in_reset:
                what = "held in reset"
            elif core.halted_error is not None:
                what = "halted"
            else:
                state = f"asleep in {core.sleep.upper()}" if core.sleep else "running"
                symbol = self.symbolize(core.pc)
                what = f"{state} at PC 0x{core.pc:08x}" + (f" ({symbol})" if symbol else "")
            parts.append(f"{core.name} {what}, cycle {core.cycles}")
        return "; ".join(parts)
