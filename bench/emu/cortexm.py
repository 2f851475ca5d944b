"""One Cortex-M core: Unicorn for instructions, the engine for everything else.

Unicorn executes Thumb code (ARMv7E-M for the M4, ARMv6-M for the M0, which
rejects v7-M opcodes). Each core has two Unicorn instances over the same
memory: a fast one whose native block hook counts instructions per translated
block (a lone core runs there at about half of bare Unicorn's speed), and a
precise one whose native instruction hook stops anywhere (cores awake together
run there in lockstep). This class adds what Unicorn lacks (facts: traps 2-6):
exception entry and return with 8-word frames and stack alignment, priorities
and masking, tail-chaining, fault escalation, sleep (WFI/WFE) and the event
register, and gives SEV/WFE/WFI their meaning at an exact cycle.

Time: ``cycles`` is the core's virtual time in its own clock cycles; an
instruction costs one cycle (condition-failed ones too), exception entry and
tail-chaining cost the configured cycles. The core never runs past the limit
the machine gives it.
"""

from __future__ import annotations

import ctypes
import os
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from unicorn import (
    UC_ARCH_ARM,
    UC_ERR_FETCH_UNMAPPED,
    UC_ERR_INSN_INVALID,
    UC_ERR_READ_UNMAPPED,
    UC_ERR_WRITE_UNMAPPED,
    UC_HOOK_MEM_FETCH_UNMAPPED,
    UC_HOOK_MEM_READ_UNMAPPED,
    UC_HOOK_MEM_WRITE_UNMAPPED,
    UC_MEM_READ_UNMAPPED,
    UC_MEM_WRITE_UNMAPPED,
    UC_MODE_THUMB,
    Uc,
    UcError,
)
from unicorn import arm_const as A
from unicorn.unicorn_py3.unicorn import MMIO_READ_CFUNC, MMIO_WRITE_CFUNC, uccallback

from bench.emu import native
from bench.emu.nvic import (
    BUSFAULT,
    HARDFAULT,
    SVCALL,
    USAGEFAULT,
    Nvic,
    exception_name,
)
from bench.emu.registers import Registers
from bench.emu.scs import DWT_BASE, DWT_SIZE, SCS_BASE, SCS_SIZE, SystemControlSpace
from bench.errors import BenchError, GuestError

if TYPE_CHECKING:
    from bench.emu.machine import Machine

MODELS = {"cortex-m4": A.UC_CPU_ARM_CORTEX_M4, "cortex-m0": A.UC_CPU_ARM_CORTEX_M0}
EXC_RETURN_HANDLER, EXC_RETURN_THREAD_MSP, EXC_RETURN_THREAD_PSP = 0xFFFFFFF1, 0xFFFFFFF9, 0xFFFFFFFD
UNTIL_NEVER = 0xFFFFFFFF  # an odd address: Thumb code never has its PC there
UNMAPPED_ACCESS = UC_HOOK_MEM_READ_UNMAPPED | UC_HOOK_MEM_WRITE_UNMAPPED | UC_HOOK_MEM_FETCH_UNMAPPED
ADDRESS_SPACE = 1 << 32
# Device accesses mmio.c can answer at sites are answered there; "off" leaves every one to Python.
NATIVE_MMIO = os.environ.get("AMP_BENCH_NATIVE_MMIO", "on") != "off"
STUCK_LIMIT = 10_000  # emu_starts at the same cycle and PC before the engine reports itself stuck

_T = TypeVar("_T")

# Why a core stopped running (returned by CortexM.run).
RAN_TO_LIMIT, SLEEPING, HALTED, BREAKPOINT, YIELDED = "limit", "sleeping", "halted", "breakpoint", "yielded"

# CFSR bits the engine sets.
CFSR_UNDEFINSTR, CFSR_INVSTATE, CFSR_NOCP, CFSR_UNALIGNED = 1 << 16, 1 << 17, 1 << 19, 1 << 24
CFSR_PRECISERR, CFSR_IBUSERR = 1 << 9, 1 << 8
HFSR_FORCED = 1 << 30



@dataclass
class CoreConfig:
    """Static parameters of a core, from the platform description."""

    name: str
    model: str
    frequency_hz: int
    num_irqs: int
    priority_bits: int
    irq_entry_cycles: int
    tail_chain_cycles: int
    has_vtor: bool


class CortexM:
    """A Cortex-M core in the machine: registers in Unicorn, exceptions here."""

    def __init__(self, config: CoreConfig, machine: Machine, index: int) -> None:
        if config.model not in MODELS:
            raise BenchError(f"{config.name}: unsupported CPU type {config.model!r} (known: {', '.join(MODELS)})")
        self.config = config
        self.name = config.name
        self.index = index
        self.machine = machine
        self.is_v7m = config.model != "cortex-m0"
        self.state = native.CoreState()
        self.state.limit = 0
        st = self.state
        st.core_index, st.is_v7m, st.has_vtor = index, int(self.is_v7m), int(config.has_vtor)
        st.irq_entry_cycles, st.tail_chain_cycles = config.irq_entry_cycles, config.tail_chain_cycles
        st.events = ctypes.pointer(machine.events)
        # Exceptions the native code can take (exceptions.c) it takes; "off" leaves every one to
        # the Python engine below, to check them against.
        st.native_exc = int(os.environ.get("AMP_BENCH_NATIVE_EXC", "on") != "off")
        # The precise instance runs plain blocks in bulk, counted inline (bench_hook_block_precise;
        # needs the bench's Unicorn build); "off" has its hook see every instruction, to check against.
        st.precise_bulk = int(os.environ.get("AMP_BENCH_PRECISE_BULK", "on") != "off")
        self._hook_handles: list[ctypes.c_size_t] = []
        self._regs_of: dict[Uc, Registers] = {}
        self._unmapped_hooks: dict[Uc, list[int]] = {}
        self._native_windows: list[tuple[object, ...]] = []
        # Two Unicorn instances share the core's state: `fast` counts per translated block and
        # runs a lone core at full speed; `precise` counts per instruction and runs cores in
        # lockstep. Registers move between them when the scheduler changes mode.
        self._fast = self._new_unicorn(precise=False)
        self._precise = self._new_unicorn(precise=True)
        self.precise = False
        self._mmio_aborted = False
        self._replaying = False
        self._emulating = False
        self.in_lockstep = False  # set by the machine while bench_lockstep runs this core
        native.library().bench_exec_forget(ctypes.byref(self.state))
        native.library().bench_pages_clear(ctypes.byref(self.state.written))
        self.nvic = Nvic(config.num_irqs, config.priority_bits, has_basepri=self.is_v7m, state=self.state.nvic)
        self.scs = SystemControlSpace(self)
        self.map_mmio(SCS_BASE, SCS_SIZE, lambda off, sz: self.scs.read(off, sz),
                      lambda off, sz, val: self.scs.write(off, sz, val), scs=True)
        if self.is_v7m:
            self.map_mmio(DWT_BASE, DWT_SIZE, lambda off, sz: self.scs.dwt_read(off, sz),
                          lambda off, sz, val: self.scs.dwt_write(off, sz, val))
        self.pc = 0
        self.in_reset = True
        self.sleep = None
        self._halted_error: GuestError | None = None
        self.ccr = 0x200 if self.is_v7m else 0x208
        self.shcsr = 0
        self.cfsr = 0
        self.hfsr = 0
        self.bfar = 0
        self.mmfar = 0
        self.fault_policy = "stop"  # "stop": a HardFault ends the run with an error; "deliver": run the handler
        self._unmapped: tuple[str, int, int] | None = None
        self._cut = 0
        self._lib = native.library()
        self._entry, self._unstack = native.ExceptionEntry(), native.ExceptionUnstack()
        # (core, probe index, cycle) for each address probe hit, in the order the core ran them.
        self.on_probe: Callable[[CortexM, int, int], None] | None = None
        self.at_breakpoint: int | None = None  # stopped before a debugger breakpoint at this address
        # Sites (bench_hook_site) give the replay's exact result without it; "off" keeps every
        # device access aborted and replayed and every block split, to check them against.
        self.use_sites = os.environ.get("AMP_BENCH_SITES", "on") != "off"
        machine.attach_core(self)

    def _new_unicorn(self, precise: bool) -> Uc:
        uc = Uc(UC_ARCH_ARM, UC_MODE_THUMB)
        uc.ctl_set_cpu_model(MODELS[self.config.model])  # before anything else (facts: trap 1)
        handle = ctypes.c_size_t()
        err = native.library().bench_attach(uc._uch, ctypes.byref(self.state), ctypes.byref(handle), int(precise))
        if err:
            raise BenchError(f"{self.name}: cannot install the native hook (unicorn error {err})")
        self._hook_handles.append(handle)
        self._regs_of[uc] = Registers(uc)
        # Exits instead of `until`: emu_start invalidates the code at `until` on every call, ~3 us
        # (facts: speed traps); an exit is set only for the rare run that must end at an address.
        uc.ctl_exits_enabled(True)
        uc.ctl_set_exits([UNTIL_NEVER])
        self._hook_unmapped(uc)
        return uc

    def _hook_unmapped(self, uc: Uc) -> None:
        """Hook unmapped accesses in the gaps between RAM regions only: Unicorn keeps every store
        to an address that any memory hook covers on its slow path (see bench_tlb_fill_fast)."""
        for handle in self._unmapped_hooks.pop(uc, ()):
            uc.hook_del(handle)
        ram = sorted((r.base, r.base + r.size) for r in self.state.regions[: self.state.nregions])
        handles, start = [], 0
        for base, end in [*ram, (ADDRESS_SPACE, ADDRESS_SPACE)]:
            if base > start:
                handles.append(uc.hook_add(UNMAPPED_ACCESS, self._on_unmapped, begin=start, end=base - 1))
            start = max(start, end)
        self._unmapped_hooks[uc] = handles

    # State the native exception steps share (native.CoreState), under the engine's names.
    stalled = native.state_field("stalled", doc="cycles not spent executing instructions (exception entry, sleep)")
    event_register = native.state_field("event_register", bool)
    in_reset = native.state_field("in_reset", bool)
    pc = native.state_field("pc", doc="where the core resumes")
    # Which instance runs the core (_select): the native machine loop switches them too.
    precise = native.state_field("precise", bool)
    _emulating = native.state_field("emulating", bool)
    in_lockstep = native.state_field("in_lockstep", bool, doc="the lockstep loop runs this core")

    @property
    def uc(self) -> Uc:
        """The instance that runs the core now, and holds its registers."""
        return self._precise if self.state.precise else self._fast

    @property
    def regs(self) -> Registers:
        return self._regs_of[self._precise if self.state.precise else self._fast]

    @property
    def halted_error(self) -> GuestError | None:
        """The error that stopped the core for good, or None."""
        return self._halted_error

    @halted_error.setter
    def halted_error(self, error: GuestError | None) -> None:
        self._halted_error = error
        self.state.halted = int(error is not None)
    use_sites = native.state_field("use_sites", bool)
    precise_bulk = native.state_field("precise_bulk", bool)
    bulk_blocks = native.state_field("bulk_blocks", doc="blocks the precise instance ran in bulk (for tests and "
                                     "benchmarks)")
    sites_learned = native.state_field("sites_learned", doc="sites bench_learn_site made (for tests and benchmarks)")

    @property
    def sleep(self) -> str | None:
        """"wfi" / "wfe" while asleep, else None (native: hints.c puts a core to sleep too)."""
        return native.SLEEP_KINDS[self.state.sleep]

    @sleep.setter
    def sleep(self, kind: str | None) -> None:
        self.state.sleep = native.SLEEP_KINDS.index(kind)

    vtor, scr, ccr = native.state_field("vtor"), native.state_field("scr"), native.state_field("ccr")
    _yield = native.state_field("yield_req", bool)
    # A device access was aborted (map_mmio): the engine replays it, or bench_lockstep does.
    _mmio_aborted = native.state_field("mmio_aborted", bool)

    @property
    def _intno(self) -> int | None:
        """Unicorn's interrupt number at the last stop (bench_hook_intr), or None."""
        return self.state.intno - 1 if self.state.intno else None

    @property
    def _instances(self) -> tuple[Uc, Uc]:
        return (self._fast, self._precise)

    # ----------------------------------------------------------------- memory
    def map_ram(self, base: int, size: int, host: int, writable: bool) -> None:
        """Map host memory; it is also registered for the hook's opcode peeking."""
        perms = 7 if writable else 5  # UC_PROT_READ|WRITE|EXEC or READ|EXEC
        for uc in self._instances:
            uc.mem_map_ptr(base, size, perms, host)
            self._lib.bench_flush_tlb(uc._uch)  # the TLB (UC_TLB_VIRTUAL) may hold what was there
        n = self.state.nregions
        if n >= native.MAX_REGIONS:
            raise BenchError(f"{self.name}: too many memory regions")
        self.state.regions[n].base, self.state.regions[n].size, self.state.regions[n].host = base, size, host
        self.state.nregions = n + 1
        for uc in self._instances:
            self._hook_unmapped(uc)

    def unmap_ram(self, base: int, size: int) -> None:
        for uc in self._instances:
            uc.mem_unmap(base, size)
            self._lib.bench_flush_tlb(uc._uch)
        kept = [(r.base, r.size, r.host) for r in self.state.regions[: self.state.nregions] if r.base != base]
        for i, (b, s, h) in enumerate(kept):
            self.state.regions[i].base, self.state.regions[i].size, self.state.regions[i].host = b, s, h
        self.state.nregions = len(kept)
        self.state.last_region = 0
        for uc in self._instances:
            self._hook_unmapped(uc)

    def map_mmio(self, base: int, size: int, read: Callable[[int, int], int],
                 write: Callable[[int, int, int], None],
                 exact: Callable[[int, bool], bool] | None = None,
                 counter: native.CycleCounter | None = None, scs: bool = False,
                 latches: ctypes.Array[native.Latch] | None = None) -> None:
        """Map a peripheral window; callbacks get (offset, size[, value]).

        During emulation the first access of an instruction is aborted (Unicorn restores the
        state to the instruction's start when a callback stops it) and the engine replays that
        one instruction with the access live: the device then runs at the exact cycle, and
        whatever it triggers (an interrupt, an event for another core) takes effect right
        after the instruction, not at the end of its translated block. On the fast instance
        the instruction then becomes a site (bench_hook_site): its own hook gives its exact
        cycle, so later accesses take effect in place, without the replay. `exact(offset,
        is_write)` may exempt accesses whose timing cannot matter (Peripheral.exact). At sites,
        a `counter` register (Peripheral.native_counter) is read without Python, and so, in
        the core's own System Control Space (`scs`), are ICSR reads and NVIC enable/pending
        writes, which the precise instance also does natively everywhere, in lockstep windows
        too, and so are the core's own accesses to event `latches` (Peripheral.native_latches)
        (native/mmio.c); AMP_BENCH_NATIVE_MMIO=off leaves them all to the callbacks, to check
        against.
        """
        machine = self.machine

        def on_read(uc: Uc, offset: int, size: int, user_data: object) -> int:
            machine.native.engine_called = 1  # (the native loop lets the engine look after this step)
            self._precise_sync()
            exempt = exact is not None and not exact(offset, False)
            if exempt or self._access_is_live():
                previous, machine.running = machine.running, self  # the lockstep loop may not have said
                try:
                    return read(offset, size)
                finally:
                    machine.running = previous
                    if not exempt:
                        self._after_live_access()
            if self.state.at_site:  # a known device-access site on the fast instance
                return self._at_site(lambda: read(offset, size))
            self._mmio_aborted = True
            uc.emu_stop()
            return 0

        def on_write(uc: Uc, offset: int, size: int, value: int, user_data: object) -> None:
            machine.native.engine_called = 1
            self._precise_sync()
            if self._access_is_live():
                previous, machine.running = machine.running, self
                try:
                    write(offset, size, value)
                finally:
                    machine.running = previous
                    self._after_live_access()
                return
            if self.state.at_site:
                self._at_site(lambda: write(offset, size, value))
                return
            self._mmio_aborted = True
            uc.emu_stop()

        for uc in self._instances:
            native_counter = counter if uc is self._fast else None  # (read natively at sites only)
            if (native_counter is not None or scs or latches is not None) and NATIVE_MMIO:
                self._map_native_window(uc, base, size, on_read, on_write, native_counter, scs, latches)
            else:
                uc.mmio_map(base, size, on_read, None, on_write, None)

    def _map_native_window(self, uc: Uc, base: int, size: int, on_read: Callable[..., int],
                           on_write: Callable[..., None], counter: native.CycleCounter | None,
                           scs: bool, latches: ctypes.Array[native.Latch] | None) -> None:
        """Map a window through mmio.c: it answers what it can at sites (see map_mmio), and passes every
        other access to the engine's callbacks (wrapped as the binding wraps its own)."""
        read_fn = uccallback(uc, MMIO_READ_CFUNC)(lambda uc_, offset, size_, _key: on_read(uc_, offset, size_, None))
        write_fn = uccallback(uc, MMIO_WRITE_CFUNC)(
            lambda uc_, offset, size_, value, _key: on_write(uc_, offset, size_, value, None))
        window = native.MmioWindow(ctypes.pointer(self.state), ctypes.cast(read_fn, ctypes.c_void_p),
                                   ctypes.cast(write_fn, ctypes.c_void_p),
                                   ctypes.pointer(counter) if counter is not None else None,
                                   int(scs), int(uc is self._precise),
                                   ctypes.cast(latches, ctypes.POINTER(native.Latch)) if latches else None,
                                   len(latches or ()))
        err = native.library().bench_mmio_map(uc._uch, base, size, ctypes.byref(window))
        if err:
            raise BenchError(f"{self.name}: cannot map the device window at 0x{base:08x} (unicorn error {err})")
        self._native_windows.append((read_fn, write_fn, window, counter, latches))  # C holds pointers to these

    def _at_site(self, access: Callable[[], _T]) -> _T:
        """A device access at a site (bench_hook_site) takes effect now, at the cycle a replay of
        its instruction would show: the hook counted the whole block, the site knows its start."""
        st = self.state
        end, st.count = st.count, st.site_count + 1
        try:
            return access()
        finally:
            st.count = end

    def _precise_sync(self) -> None:
        """Inside a block the precise instance runs in bulk, or after one: the hook's exact view
        (the count and the instruction that started last; native precise_sync)."""
        if self.state.bulk:
            self._lib.bench_precise_sync(ctypes.byref(self.state))

    def _access_is_live(self) -> bool:
        """Whether a device access takes effect now, or is aborted and replayed at its exact cycle.

        Aborted: on the fast instance (counting per block), and in lockstep by a window's
        leader, which may be running ahead of the other core (the machine replays it in order).
        """
        if self._replaying:
            return True
        if self.in_lockstep:
            return bool(self.state.mmio_live)  # not while running ahead of another core
        return not self._emulating or self.precise

    def _after_live_access(self) -> None:
        """In lockstep, a core stops right after a device access: what it caused happens in order."""
        if self.in_lockstep and not self._replaying:
            self.state.stop_next = 1

    def read32(self, address: int) -> int:
        return struct.unpack("<I", self.uc.mem_read(address, 4))[0]

    def flush_code_cache(self) -> None:
        """Another core wrote code this core may run (facts: trap 10); what it knew of that code goes too."""
        for uc in self._instances:
            uc.ctl_flush_tb()
        self._lib.bench_exec_forget(ctypes.byref(self.state))  # the precise instance's code is gone too
        self._lib.bench_forget_sites(self._fast._uch, ctypes.byref(self.state))
        self._learn_probe_sites()

    def _learn_probe_sites(self) -> None:
        """Probes inside a block are recorded by a hook of their own (bench_hook_site), not by a split."""
        st = self.state
        for i in range(st.nprobes if self.use_sites else 0):
            self._lib.bench_learn_site(self._fast._uch, ctypes.byref(st), st.probe_pc[i])

    # ------------------------------------------------------------------- time
    @property
    def cycles(self) -> int:
        return self.state.count

    @cycles.setter
    def cycles(self, value: int) -> None:
        self.state.count = value

    @property
    def instructions(self) -> int:
        return self.state.count - self.stalled

    def stall(self, cycles: int) -> None:
        self.state.count += cycles
        self.stalled += cycles

    @property
    def runnable(self) -> bool:
        return not self.in_reset and self.sleep is None and self.halted_error is None

    # ------------------------------------------------------------------ reset
    def hold_in_reset(self) -> None:
        self.in_reset = True
        self.sleep = None

    def release_from_reset(self, at_cycle: int) -> None:
        """Power-on/reset sequence: SP and PC from the vector table at address 0 (or VTOR)."""
        self.nvic.reset()
        self.scs.reset()
        self.vtor, self.scr, self.shcsr, self.cfsr, self.hfsr = 0, 0, 0, 0, 0
        self.event_register = False
        self.flush_code_cache()
        try:
            sp, pc = self.read32(self.vtor), self.read32(self.vtor + 4)
        except UcError as exc:
            raise GuestError(f"{self.name}: cannot read the reset vector at 0x{self.vtor:08x}: {exc}; "
                             "is an image loaded where the core boots?") from None
        self.regs.set(A.UC_ARM_REG_IPSR, 0)
        self.regs.set(A.UC_ARM_REG_CONTROL, 0)
        self.regs.set(A.UC_ARM_REG_PRIMASK, 0)
        self.regs.set(A.UC_ARM_REG_MSP, sp & ~3)
        self.regs.set(A.UC_ARM_REG_LR, 0xFFFFFFFF)
        if not pc & 1:
            raise GuestError(f"{self.name}: left reset, but the vector table it boots from (address 0x{self.vtor:08x}"
                             f" of its map) holds SP 0x{sp:08x}, PC 0x{pc:08x} (no Thumb bit): no Cortex-M image is "
                             f"loaded where {self.name} boots; load one (e.g. --load {self.name}=firmware.elf)")
        self.pc = pc & ~1
        self.stall(max(0, at_cycle - self.cycles))  # time spent in reset executes nothing
        self.in_reset = False
        self.sleep = None
        self.halted_error = None
        self.machine.trace.record(self.cycles, self.name, "reset-release", pc=self.pc, sp=sp)

    def boot_at(self, pc: int, sp: int, registers: dict[int, int], at_cycle: int = 0) -> None:
        """Leave reset at `pc` with the given registers, as a boot loader hands over to a kernel."""
        self.nvic.reset()
        self.scs.reset()
        self.flush_code_cache()
        self.regs.set(A.UC_ARM_REG_IPSR, 0)
        self.regs.set(A.UC_ARM_REG_CONTROL, 0)
        self.regs.set(A.UC_ARM_REG_MSP, sp)
        for reg_id, value in registers.items():
            self.regs.set(reg_id, value)
        self.pc = pc & ~1
        self.stall(max(0, at_cycle - self.cycles))
        self.in_reset, self.sleep, self.halted_error = False, None, None
        self.machine.trace.record(self.cycles, self.name, "boot", pc=self.pc, sp=sp)

    # ----------------------------------------------------------------- probes
    def set_probes(self, addresses: list[int]) -> None:
        """Report the cycle at which each instruction at `addresses` starts (to `on_probe`).

        The native hooks split translated blocks there, so a probe costs nothing on code
        that does not reach it.
        """
        if len(addresses) > native.MAX_PROBES:
            raise BenchError(f"{self.name}: at most {native.MAX_PROBES} address probes per core")
        st = self.state
        for i, address in enumerate(addresses):
            st.probe_pc[i] = address & ~1
        st.nprobes = len(addresses)
        st.block_gen += 1  # what the block hook learnt of blocks with probes inside is wrong now
        if st.block_words:
            self._fast.ctl_flush_tb()  # ... and so is what it worked out when they were translated
        self.reset_probe_hits()
        self._learn_probe_sites()

    def set_breakpoints(self, addresses: list[int]) -> None:
        """Debugger breakpoints: the core stops *before* each listed instruction (at_breakpoint).

        They use the address probes (a core has either probes or breakpoints).
        """
        self.set_probes(addresses)
        self.state.break_mode = 1 if addresses else 0

    def resume_from_breakpoint(self) -> None:
        """Let the instruction the core stopped before run once."""
        if self.at_breakpoint is not None:
            self.state.break_skip = self.at_breakpoint
            self.at_breakpoint = None

    def reset_probe_hits(self) -> None:
        self.state.nhits = 0
        self.state.last_hit_probe = 0xFFFFFFFF

    def drain_probes(self) -> None:
        """Hand the hits the native hooks recorded to `on_probe`, oldest first."""
        st = self.state
        n = st.nhits
        if not n:
            return
        st.nhits = 0
        if self.on_probe is not None:
            for i in range(n):
                self.on_probe(self, st.hit_probe[i], st.hit_count[i])

    # -------------------------------------------------------------- registers
    def reg(self, reg_id: int) -> int:
        return self.regs.get(reg_id)

    def reg_ipsr(self) -> int:
        return self.reg(A.UC_ARM_REG_IPSR) & 0x1FF

    def _syscall_context(self) -> tuple[int, int, int, int, int]:
        """At an SVCall entry: r7, PSP, MSP and the caller's stacked PC and xPSR, as the native
        entry logs them (probes follow system calls with them); a frame outside RAM reads as 0."""
        psp = self.reg(A.UC_ARM_REG_PSP)
        try:
            pc, xpsr = struct.unpack("<2I", self.uc.mem_read(psp + 24, 8))
        except UcError:
            pc = xpsr = 0
        return self.reg(A.UC_ARM_REG_R7), psp, self.reg(A.UC_ARM_REG_MSP), pc, xpsr

    def masks(self) -> tuple[int, int, int]:
        if self.is_v7m:
            return (self.reg(A.UC_ARM_REG_PRIMASK), self.reg(A.UC_ARM_REG_BASEPRI), self.reg(A.UC_ARM_REG_FAULTMASK))
        return (self.reg(A.UC_ARM_REG_PRIMASK), 0, 0)

    def execution_priority(self) -> int:
        return self.nvic.execution_priority(*self.masks())

    # ---------------------------------------------------------------- running
    def request_stop(self) -> None:
        """Return to the scheduler before the next instruction (a console match, a halt)."""
        self.state.stop_next = 1
        self._yield = True

    def interrupts_changed(self) -> None:
        """NVIC state changed: tell the hook, wake the core, or stop it to take the exception."""
        pending = self.nvic.highest_pending()
        self.state.irq_hint = 1 if pending is not None else 0
        if pending is None or self.in_reset:
            return
        self.state.take_now = 1
        if self.sleep is not None:
            if self._wakes(pending):
                self.sleep = None
                self.machine.core_woke(self)
            return
        if self.machine.running is self:
            self.state.stop_next = 1

    def _wakes(self, pending: int) -> bool:
        # WFI wakes on an exception that would preempt if PRIMASK were clear; so does WFE
        # (SEVONPEND widens WFE to any new pending interrupt).
        _, basepri, faultmask = self.masks()
        if self.sleep == "wfe" and self.scr & 0x10:
            return True
        return self.nvic.preempts(pending, self.nvic.execution_priority(0, basepri, faultmask))

    def signal_event(self) -> None:
        """SEV from any core, or an event source: set the event register, wake WFE."""
        self.event_register = True
        if self.sleep == "wfe":
            self.event_register = False
            self.sleep = None
            self.machine.core_woke(self)

    def run(self, limit: int, until: int = UNTIL_NEVER, pause: int | None = None, precise: bool = False,
            resume: bool = False, handover: int | None = None) -> str:
        """Run until the cycle count reaches `limit` (exactly), it sleeps, halts, or reaches `until`.

        `pause` (>= the current cycle) is a soft limit: the core stops at the first block
        boundary past it. The scheduler uses it for its quantum, where no exact stop is needed.
        `precise` runs on the per-instruction instance (for lockstep with other cores); `resume`
        continues a run the native lockstep steps began (bench_lockstep's native_run);
        `handover` one the native scheduler began (bench_machine_run, limits set), which
        bench_run_fast ended with that outcome.
        """
        self._select(precise)
        st = self.state
        if handover is None:
            if not resume:  # resume: the same run, begun by the native steps (a stop asked for stays asked)
                self._yield = False
            st.limit = limit
            st.soft_limit = limit if pause is None else min(pause, limit)
        last_count, last_pc, stuck = -1, -1, 0  # the no-progress guard: no tuple per emu_start
        native_loop = not precise and until == UNTIL_NEVER and st.native_exc
        python_turn = False  # the native loop handed this iteration to the engine
        if handover is not None:
            if self._native_outcome(handover) == native.RUN_LIMIT:
                return RAN_TO_LIMIT
            python_turn = handover == native.RUN_ENGINE
        while True:
            if self.in_reset or self.halted_error is not None:
                return HALTED
            if self.sleep is not None:
                return SLEEPING
            if self._yield:
                return YIELDED
            if native_loop and not python_turn:
                outcome = self._run_native()
                if outcome == native.RUN_LIMIT:
                    return RAN_TO_LIMIT
                python_turn = outcome == native.RUN_ENGINE
                continue
            python_turn = False
            if st.irq_hint:
                self._take_pending_exception()
                if self.halted_error is not None:
                    continue
            st.take_now = 0
            if st.count >= st.limit or st.count >= st.soft_limit:
                return RAN_TO_LIMIT
            if self.pc == until:
                return BREAKPOINT
            if st.count != last_count or self.pc != last_pc:
                last_count, last_pc, stuck = st.count, self.pc, 0
            else:
                stuck += 1
                if stuck > STUCK_LIMIT:
                    raise BenchError(f"{self.name}: internal error: the engine retried the instruction at PC "
                                     f"0x{self.pc:08x} {STUCK_LIMIT} times without progress (cycle {st.count}); "
                                     "please report this with `bench repro`")
            self._emulate(self.pc, until)

    def _run_native(self) -> int:
        """The run loop's iterations that need no engine, in C (bench_run_fast); then the engine
        handles why it stopped (RUN_DISPATCH) or goes on with its own iteration (RUN_ENGINE)."""
        st, uc = self.state, self.uc
        self.prepare_native_run()
        uc._hook_exception = None
        self._emulating = True
        try:
            outcome = self._lib.bench_run_fast(uc._uch, ctypes.byref(st))
        finally:
            self._emulating = False
        return self._native_outcome(outcome)

    def _native_outcome(self, outcome: int) -> int:
        """What the engine does after bench_run_fast (or bench_machine_run's lone run) ended with `outcome`."""
        st, uc = self.state, self.uc
        self.machine.drain_events()
        failure, uc._hook_exception = uc._hook_exception, None
        if failure is not None:  # a device callback raised: the binding would re-raise it
            raise failure
        if outcome == native.RUN_DISPATCH:
            if st.last_err:
                self._on_emu_error(UcError(st.last_err))
            else:
                self._dispatch(self.pc, UNTIL_NEVER)
        return outcome

    def _emulate(self, start: int, stop_at: int) -> None:
        """One emu_start and the handling of why it returned."""
        if self.precise:
            self.state.prev_end = start  # the hook counts skipped IT-block instructions from here
        if self._emu_start(start, stop_at):
            self._dispatch(start, stop_at)

    def prepare_native_run(self) -> None:
        """Before an emu_start (ours or bench_lockstep's): clear what the hooks report."""
        self.state.intno = 0
        self._unmapped = None
        self._mmio_aborted = False
        self.state.reason = native.STOP_NONE
        self.state.at_site = 0
        self.state.plain_end = 0  # what the precise hook knew of the code holds for one run only

    def finish_native_run(self, start: int, err: int) -> None:
        """bench_lockstep stopped this core after an emu_start from `start`: handle why."""
        if err:
            self._on_emu_error(UcError(err))
        else:
            self._dispatch(start, UNTIL_NEVER)

    def _dispatch(self, start: int, stop_at: int) -> None:
        """Handle why emu_start returned."""
        st = self.state
        if stop_at != UNTIL_NEVER and st.reason == native.STOP_SPLIT and st.stop_pc == start:
            # Unicorn reuses a block already translated at `start` and ignores `until` (measured);
            # the hook refused to run it whole, so drop it and let Unicorn translate one that ends
            # at `stop_at`. Later runs through here reuse the short block for free.
            self.uc.ctl_remove_cache(start, start + 2)
            if not self._emu_start(start, stop_at):
                return
        if self._mmio_aborted:
            # An MMIO access was aborted before it took effect: PC is exact at the accessing
            # instruction. Recount to it, then run just that instruction with the access live, so
            # the device sees the exact cycle and anything it asks for happens right after it.
            pc = self.reg(A.UC_ARM_REG_PC)
            self._recount(pc, faulted=False)
            self.pc = pc
            if self.use_sites and not self.precise:
                # Next time its access takes effect in place (bench_hook_site; never inside an IT block).
                self._lib.bench_learn_site(self.uc._uch, ctypes.byref(st), pc)
            self._replay(pc)
            return
        if self._intno is not None:
            self._handle_interrupt(self._intno)
            return
        reason = st.reason
        if reason == native.STOP_NONE:
            self.pc = self.reg(A.UC_ARM_REG_PC)
            if stop_at == UNTIL_NEVER and not self.precise:
                # A short block left by an earlier exact stop ends emulation where it was cut;
                # drop it so this path runs at full speed again.
                self.uc.ctl_remove_cache(self.pc - 2, self.pc)
            return
        self.pc = st.stop_pc
        if reason == native.STOP_SPLIT:
            self._emulate(st.stop_pc, st.split_addr)
        elif reason == native.STOP_HINT:
            if self.use_sites and not self.precise:  # inside a block next time, its own hook stops there
                self._lib.bench_learn_site(self.uc._uch, ctypes.byref(st), self.pc)
            self._hint(st.hint, st.insn_size)
        elif reason == native.STOP_BREAK:
            self.at_breakpoint = self.pc
            self._yield = True  # back to the scheduler, whose step hooks serve the debugger
        elif reason == native.STOP_NOCODE:
            self._halt(f"executing at 0x{self.pc:08x}, which is not RAM or flash", pc=self.pc,
                       advice="a jump went astray (check function pointers and the vector table)")

    def _emu_start(self, start: int, stop_at: int) -> bool:
        """emu_start with the bookkeeping reset; False if it ended in an error (already handled)."""
        self.prepare_native_run()
        if self.precise:
            self.state.mmio_live = 1  # outside bench_lockstep every access is live (native/mmio.c)
        self._emulating = True
        uc = self.uc
        if stop_at != UNTIL_NEVER:
            uc.ctl_set_exits([stop_at])
        try:
            uc.emu_start(start | 1, 0)
        except UcError as exc:
            self._emulating = False
            self._on_emu_error(exc)
            return False
        finally:
            self._emulating = False
            self._precise_sync()
            if stop_at != UNTIL_NEVER:
                uc.ctl_set_exits([UNTIL_NEVER])
        return True

    def _replay(self, pc: int) -> None:
        """Run exactly the instruction at `pc` with its MMIO accesses live."""
        st = self.state
        saved = st.limit
        st.limit = st.count + 1  # exactly one instruction, whatever block Unicorn has cached
        self._cut = saved
        self._replaying = True
        # A stop the block hook asked for at the end of the block the access left (one ending in
        # CPSIE while an interrupt is pending) is still due, after this instruction: without
        # this the replay would stop before it, and the core would retry it forever.
        stop_after_block, st.stop_next = st.stop_next, 0
        try:
            # The precise hook stops exactly at the limit; on the fast instance Unicorn must end
            # a block there (an exit, which costs retranslating the blocks around it).
            self._emulate(pc, UNTIL_NEVER if self.precise else pc + self._lib.bench_insn_size(ctypes.byref(st), pc))
        finally:
            self._replaying = False
            st.limit = self._cut  # keep any cut the access caused (an event it scheduled)
            st.stop_next = st.stop_next or stop_after_block

    def select_precise(self) -> None:
        self._select(True)

    def _select(self, precise: bool) -> None:
        """Switch between the fast and the precise instance, carrying the registers over (bench_select)."""
        if precise != self.precise:
            self._lib.bench_select(self.machine._native_ref, self.index, int(precise))

    def cut_limit(self, cycle: int) -> None:
        """Something due at `cycle` concerns other cores: stop there at the latest."""
        self.state.limit = min(self.state.limit, cycle)
        self._cut = min(self._cut, cycle)

    def _recount(self, pc: int, faulted: bool) -> None:
        """The block in progress was left early at `pc`: count only what ran (plus a faulting instruction)."""
        st = self.state
        if st.block_addr <= pc < st.block_addr + st.block_size:
            st.count = st.block_base + self._lib.bench_count_between(ctypes.byref(st), st.block_addr, pc) \
                + (1 if faulted else 0)

    def _hint(self, kind: int, size: int) -> None:
        """Give SEV/WFE/WFI/YIELD their architectural meaning at this exact cycle."""
        if self.is_v7m and self.reg(A.UC_ARM_REG_XPSR) & 0x0600FC00:
            self._halt(f"conditional hint instruction inside an IT block at PC 0x{self.pc:08x} is not supported "
                       "by the engine", pc=self.pc, advice="use an unconditional SEV/WFI/WFE")
            return
        at = self.cycles
        self.state.count += 1
        self.pc += size
        if kind == native.K_SEV:
            self.machine.log_event(self, native.EV_SEV, at, pc=self.pc - size)
            self.machine.sev(self, at)
        elif kind == native.K_WFI:
            pending = self.nvic.highest_pending()
            if pending is None or not self._wakes_wfi(pending):
                self.sleep = "wfi"
                self.machine.log_event(self, native.EV_SLEEP, self.cycles, pc=self.pc - size)
        elif kind == native.K_WFE:
            if self.event_register:
                self.event_register = False
            else:
                pending = self.nvic.highest_pending()
                self.sleep = "wfe"
                if pending is not None and self._wakes(pending):
                    self.sleep = None
                else:
                    self.machine.log_event(self, native.EV_SLEEP, self.cycles, pc=self.pc - size)

    def _wakes_wfi(self, pending: int) -> bool:
        _, basepri, faultmask = self.masks()
        return self.nvic.preempts(pending, self.nvic.execution_priority(0, basepri, faultmask))

    # ------------------------------------------------------------- exceptions
    def _on_unmapped(self, uc: Uc, access: int, address: int, size: int, value: int, user_data: object) -> bool:
        kind = {UC_MEM_READ_UNMAPPED: "read", UC_MEM_WRITE_UNMAPPED: "write"}.get(access, "fetch")
        self._unmapped = (kind, address, size)
        self.machine.native.engine_called = 1
        return False

    def _on_emu_error(self, exc: UcError) -> None:
        pc = self.reg(A.UC_ARM_REG_PC)
        self._recount(pc, faulted=True)
        if exc.errno in (UC_ERR_READ_UNMAPPED, UC_ERR_WRITE_UNMAPPED, UC_ERR_FETCH_UNMAPPED):
            kind, address, size = self._unmapped or ("access", 0, 0)
            if kind == "fetch" or exc.errno == UC_ERR_FETCH_UNMAPPED:
                message = f"instruction fetch from unmapped address 0x{address:08x}"
            else:
                message = f"{kind} of {size} bytes at unmapped address 0x{address:08x}"
            self._halt(f"{message} at PC 0x{pc:08x}", pc=pc, address=address,
                       advice="check the firmware's pointers and the memory map in the .repl")
        elif exc.errno == UC_ERR_INSN_INVALID:
            self.pc = pc
            insn = self._peek_insn(pc)
            self._fault(USAGEFAULT, CFSR_UNDEFINSTR, f"undefined instruction {insn} for {self.config.model}")
        else:
            self._halt(f"emulation error {exc} at PC 0x{pc:08x}", pc=pc)

    def _peek_insn(self, pc: int) -> str:
        try:
            hw = struct.unpack("<HH", self.uc.mem_read(pc, 4))
        except UcError:
            return "(unreadable)"
        return f"0x{hw[0]:04x}{hw[1]:04x}" if hw[0] >> 11 in (0x1D, 0x1E, 0x1F) else f"0x{hw[0]:04x}"

    def _handle_interrupt(self, intno: int) -> None:
        if self._lib.bench_native_interrupt(self.uc._uch, ctypes.byref(self.state)):  # SVC, exception return
            self.pc = self.state.pc
            self.machine.drain_events()
            return
        pc = self.reg(A.UC_ARM_REG_PC)
        if pc >= 0xFFFFFFE0:
            self._exception_return(pc | 1)  # PC read-back lacks the Thumb bit (facts: trap 11)
            return
        self.pc = pc
        if intno != 2:
            self._recount(pc, faulted=True)
        if intno == 2:  # SVC: PC is already past the instruction
            self._synchronous(SVCALL, "SVC")
        elif intno == 1:
            self._fault(USAGEFAULT, CFSR_UNDEFINSTR, f"undefined instruction {self._peek_insn(pc)}")
        elif intno == 17:
            self._fault(USAGEFAULT, CFSR_NOCP, "coprocessor (FPU) instruction with the coprocessor disabled")
        elif intno == 18:
            self._fault(USAGEFAULT, CFSR_INVSTATE, "branch to ARM state (address without the Thumb bit)")
        elif intno == 22:
            self._fault(USAGEFAULT, CFSR_UNALIGNED, "unaligned access")
        elif intno == 4:
            self._fault(BUSFAULT, CFSR_PRECISERR, "data bus error")
        elif intno == 3:
            self._fault(BUSFAULT, CFSR_IBUSERR, "instruction bus error")
        elif intno == 7:
            self._fault(HARDFAULT, 0, "BKPT instruction with no debugger attached")
        else:
            self._halt(f"unexpected CPU exception {intno} at PC 0x{pc:08x}", pc=pc)

    def _synchronous(self, number: int, what: str) -> None:
        """SVC must be taken now; if its priority does not allow that, it escalates to HardFault."""
        if self.nvic.preempts(number, self.execution_priority()):
            self._enter(number, self.pc)
        else:
            self._fault(HARDFAULT, 0, f"{what} at a priority that cannot take it")

    def _fault(self, number: int, cfsr_bit: int, what: str) -> None:
        """A synchronous fault: configurable faults escalate to HardFault when disabled or masked."""
        pc = self.pc
        self.cfsr |= cfsr_bit
        if number != HARDFAULT:
            enabled = self.is_v7m and self.shcsr & (1 << {USAGEFAULT: 18, BUSFAULT: 17}.get(number, 16))
            if not enabled or not self.nvic.preempts(number, self.execution_priority()):
                number = HARDFAULT
                self.hfsr |= HFSR_FORCED
        if number == HARDFAULT and self.nvic.active[HARDFAULT]:
            self._halt(f"lockup: {what} inside the HardFault handler at PC 0x{pc:08x}", pc=pc)
            return
        self.machine.trace.record(self.cycles, self.name, "fault", exc=number, pc=pc)
        if number == HARDFAULT and self.fault_policy == "stop":
            self._halt(f"HardFault: {what} at PC 0x{pc:08x}", pc=pc,
                       advice="the guest crashed; see the console log and the trace")
            return
        self._enter(number, pc)

    def _halt(self, message: str, pc: int, address: int | None = None, advice: str = "") -> None:
        symbol = self.machine.symbolize(pc)
        where = f" ({symbol})" if symbol else ""
        full = f"{self.name}: {message}{where}" + (f"; {advice}" if advice else "")
        self.halted_error = GuestError(full)
        self.halted_error.core = self.name  # type: ignore[attr-defined]
        self.halted_error.pc = pc  # type: ignore[attr-defined]
        self.halted_error.address = address  # type: ignore[attr-defined]
        self.machine.trace.record(self.cycles, self.name, "halt", pc=pc)
        self.machine.core_halted(self)

    def _take_pending_exception(self) -> None:
        st = self.state
        st.pc = self.pc
        taken = self._lib.bench_native_take(self.uc._uch, ctypes.byref(st))
        if taken >= 0:
            if taken:
                self.pc = st.pc
                self.machine.drain_events()
            return
        number = self.nvic.highest_pending()
        if number is None:
            self.state.irq_hint = 0
            return
        if self.nvic.preempts(number, self.execution_priority()):
            self._enter(number, self.pc)

    def _enter(self, number: int, return_address: int) -> None:
        """Exception entry: stack the 8-word frame, switch to handler mode, jump to the vector."""
        entry = self._entry
        entry.number, entry.return_address = number, return_address
        entry.stkalign = 1 if self.ccr & 0x200 else 0
        entry.vector_base = self.vtor if self.config.has_vtor else 0
        if self._lib.bench_exc_enter(self.uc._uch, ctypes.byref(entry)):
            self._halt(f"cannot stack an exception frame at SP 0x{entry.frame:08x} or read vector {number} "
                       f"(taking {exception_name(number)})", pc=return_address,
                       advice="the stack pointer or the vector table is outside RAM")
            return
        vector = entry.vector
        self.nvic.activate(number)
        self.event_register = True  # exception entry is a WFE wake-up event
        self.stall(self.config.irq_entry_cycles)
        self.pc = vector & ~1
        self._after_exception_change()
        self.machine.log_event(self, native.EV_ENTRY, self.cycles, number,
                               context=self._syscall_context() if number == SVCALL else (0, 0, 0, 0, 0))
        if not vector & 1:
            self._fault(HARDFAULT, 0,
                        f"vector {number} ({exception_name(number)}) = 0x{vector:08x} lacks the Thumb bit")

    def _exception_return(self, exc_return: int) -> None:
        """Exception return through an EXC_RETURN value: tail-chain or unstack."""
        returning = self.reg(A.UC_ARM_REG_IPSR) & 0x1FF
        if exc_return not in (EXC_RETURN_HANDLER, EXC_RETURN_THREAD_MSP, EXC_RETURN_THREAD_PSP):
            self._halt(f"unsupported EXC_RETURN 0x{exc_return:08x} (floating-point frames are not modelled)",
                       pc=exc_return)
            return
        if returning == 0 or not self.nvic.active[returning]:
            self._fault(USAGEFAULT, 1 << 18, f"exception return 0x{exc_return:08x} with no active exception")
            return
        self.nvic.deactivate(returning)
        to_thread = exc_return != EXC_RETURN_HANDLER
        use_psp = exc_return == EXC_RETURN_THREAD_PSP
        # Tail-chaining: a pending exception that preempts the context we return to is taken
        # without unstacking and restacking.
        pending = self.nvic.highest_pending()
        if pending is not None:
            primask, basepri, faultmask = self.masks()
            if self.nvic.preempts(pending, self.nvic.execution_priority(primask, basepri, faultmask)):
                self.machine.log_event(self, native.EV_TAIL_RETURN, self.cycles, returning)
                self.regs.set(A.UC_ARM_REG_IPSR, pending)
                self.regs.set(A.UC_ARM_REG_APSR_NZCV, self.reg(A.UC_ARM_REG_APSR_NZCV))
                self.regs.set(A.UC_ARM_REG_LR, exc_return)
                self.nvic.activate(pending)
                self.stall(self.config.tail_chain_cycles)
                self.pc = self.read32((self.vtor if self.config.has_vtor else 0) + 4 * pending) & ~1
                self._after_exception_change()
                self.machine.log_event(self, native.EV_TAIL_ENTRY, self.cycles, pending)
                return
        unstack = self._unstack
        unstack.use_psp, unstack.to_thread, unstack.v7m = int(use_psp), int(to_thread), int(self.is_v7m)
        if self._lib.bench_exc_unstack(self.uc._uch, ctypes.byref(unstack)):
            sp = self.reg(A.UC_ARM_REG_PSP if use_psp else A.UC_ARM_REG_MSP)
            self._halt(f"cannot unstack the exception frame at SP 0x{sp:08x}", pc=exc_return)
            return
        self.pc = unstack.pc & ~1
        self._after_exception_change()
        self.machine.log_event(self, native.EV_RETURN, self.cycles, returning, pc=self.pc, sp=unstack.new_sp)
        if to_thread and self.scr & 0x2 and self.nvic.active_count() == 0:
            self.sleep = "wfi"  # SLEEPONEXIT

    def _after_exception_change(self) -> None:
        self.state.irq_hint = 1 if self.nvic.any_pending() else 0

    # ------------------------------------------------------------ SysTick aid
    def pend(self, number: int) -> None:
        """Set an exception pending (SysTick, PendSV, NMI, software IRQs)."""
        self.nvic.pending[number] = True
        self.interrupts_changed()

    def unpend(self, number: int) -> None:
        self.nvic.pending[number] = False
        self.interrupts_changed()



_GENERAL = (*(getattr(A, f"UC_ARM_REG_R{i}") for i in range(13)), A.UC_ARM_REG_LR)
_FLOAT = (*(getattr(A, f"UC_ARM_REG_D{i}") for i in range(16)), A.UC_ARM_REG_FPSCR)


def _save_registers(uc: Registers, v7m: bool) -> dict[int, int]:
    """Every architectural register of a Cortex-M, banked stack pointers included.

    Unicorn reads MSP/PSP as 0 while the core is unprivileged in thread mode (facts: trap 4),
    so the banked pointers are read through a brief detour in handler mode.
    """
    regs = {r: uc.get(r) for r in _GENERAL}
    ipsr, control, nzcv = uc.get(A.UC_ARM_REG_IPSR) & 0x1FF, uc.get(A.UC_ARM_REG_CONTROL), \
        uc.get(A.UC_ARM_REG_APSR_NZCV)
    detour = ipsr == 0 and control & 1
    if detour:
        uc.set(A.UC_ARM_REG_IPSR, 1)
        uc.set(A.UC_ARM_REG_APSR_NZCV, nzcv)
    regs[A.UC_ARM_REG_MSP] = uc.get(A.UC_ARM_REG_MSP)
    regs[A.UC_ARM_REG_PSP] = uc.get(A.UC_ARM_REG_PSP)
    if detour:
        uc.set(A.UC_ARM_REG_IPSR, 0)
        uc.set(A.UC_ARM_REG_APSR_NZCV, nzcv)
    regs[A.UC_ARM_REG_IPSR] = ipsr
    regs[A.UC_ARM_REG_CONTROL] = control
    regs[A.UC_ARM_REG_XPSR] = uc.get(A.UC_ARM_REG_XPSR)
    regs[A.UC_ARM_REG_PRIMASK] = uc.get(A.UC_ARM_REG_PRIMASK)
    if v7m:
        regs[A.UC_ARM_REG_BASEPRI] = uc.get(A.UC_ARM_REG_BASEPRI)
        regs[A.UC_ARM_REG_FAULTMASK] = uc.get(A.UC_ARM_REG_FAULTMASK)
        for r in _FLOAT:
            regs[r] = uc.get(r)
    return regs


def _load_registers(uc: Registers, regs: dict[int, int], v7m: bool) -> None:
    """Write registers saved by _save_registers, in the order Unicorn's quirks demand.

    Unicorn drops CONTROL writes that would regain privilege in thread mode, SPSEL writes
    in handler mode, and banked-SP accesses while unprivileged (facts: trap 4). So: clear
    nPRIV in handler mode (always privileged), set each stack pointer as the current SP in
    privileged thread mode, then drop privilege and enter the saved exception, if any.
    """
    control = regs[A.UC_ARM_REG_CONTROL]
    xpsr = regs[A.UC_ARM_REG_XPSR]
    ipsr = regs[A.UC_ARM_REG_IPSR]
    nzcv = xpsr & 0xF0000000
    spsel = 0 if ipsr else control & 2  # handler mode always runs on MSP
    msp, psp = regs[A.UC_ARM_REG_MSP], regs[A.UC_ARM_REG_PSP]
    uc.set(A.UC_ARM_REG_IPSR, 1)
    uc.set(A.UC_ARM_REG_APSR_NZCV, nzcv)
    uc.set(A.UC_ARM_REG_CONTROL, 0)
    uc.set(A.UC_ARM_REG_IPSR, 0)
    uc.set(A.UC_ARM_REG_APSR_NZCV, nzcv)
    uc.set(A.UC_ARM_REG_CONTROL, spsel ^ 2)
    uc.set(A.UC_ARM_REG_SP, msp if spsel else psp)
    uc.set(A.UC_ARM_REG_CONTROL, spsel)
    uc.set(A.UC_ARM_REG_SP, psp if spsel else msp)
    uc.set(A.UC_ARM_REG_CONTROL, spsel | (control & 1))
    uc.set(A.UC_ARM_REG_IPSR, ipsr)
    uc.set(A.UC_ARM_REG_APSR_NZCV, xpsr & 0xF0000000)
    if v7m:
        uc.set(A.UC_ARM_REG_APSR_NZCVQ, xpsr & 0xF8000000)
    uc.set(A.UC_ARM_REG_EPSR, (xpsr & 0x0600FC00) | (1 << 24))
    uc.set(A.UC_ARM_REG_PRIMASK, regs[A.UC_ARM_REG_PRIMASK])
    if v7m:
        uc.set(A.UC_ARM_REG_BASEPRI, regs[A.UC_ARM_REG_BASEPRI])
        uc.set(A.UC_ARM_REG_FAULTMASK, regs[A.UC_ARM_REG_FAULTMASK])
        for r in _FLOAT:
            uc.set(r, regs[r])
    for r in _GENERAL:
        uc.set(r, regs[r])
