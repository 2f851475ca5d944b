"""A GDB remote stub for one core of a running machine, on loopback only.

`--gdb CORE:PORT` starts it with any run. GDB (`gdb-multiarch`, `target remote
127.0.0.1:PORT`) may attach while the machine runs: the machine pauses between two
scheduler steps and GDB sees the core stopped (signal 5). It can read and write
registers and RAM, set breakpoints (the engine stops the core exactly before the
instruction), continue, single-step the core, interrupt with Ctrl-C, and detach (the
run goes on). If the run fails, the bench keeps the machine at the failing moment
and waits for GDB before it exits.

Why our own stub rather than udbserver (the GDB server for Unicorn): that one binds
every interface and drives one Unicorn instance itself, while each core here has
two instances under the engine's scheduler; the protocol subset GDB needs is small.
Only the Remote Serial Protocol packets below are understood; others get the empty
reply that tells GDB "not supported".
"""

from __future__ import annotations

import select
import socket
import struct
import sys
from collections.abc import Callable

from unicorn import UcError
from unicorn import arm_const as A

from bench.emu.cortexm import CortexM
from bench.emu.machine import Machine
from bench.errors import BenchError

REGISTERS = [getattr(A, f"UC_ARM_REG_R{i}") for i in range(13)] + [A.UC_ARM_REG_SP, A.UC_ARM_REG_LR,
                                                                   A.UC_ARM_REG_PC, A.UC_ARM_REG_XPSR]
TARGET_XML = (
    '<?xml version="1.0"?><!DOCTYPE target SYSTEM "gdb-target.dtd"><target version="1.0">'
    "<architecture>arm</architecture><feature name=\"org.gnu.gdb.arm.m-profile\">"
    + "".join(f'<reg name="r{i}" bitsize="32" regnum="{i}"/>' for i in range(13))
    + '<reg name="sp" bitsize="32" type="data_ptr" regnum="13"/><reg name="lr" bitsize="32" regnum="14"/>'
    '<reg name="pc" bitsize="32" type="code_ptr" regnum="15"/><reg name="xpsr" bitsize="32" regnum="16"/>'
    "</feature></target>")
POLL_EVERY = 64  # scheduler steps between two looks at the socket while running


def parse_gdb_option(text: str) -> tuple[str, int]:
    core, _, port = text.partition(":")
    if not core or not port.isdigit() or not 0 < int(port) < 65536:
        raise BenchError(f"--gdb {text!r}: expected CORE:PORT, e.g. cpu_m0:3333")
    return core, int(port)


def _checksum(data: bytes) -> bytes:
    return b"%02x" % (sum(data) & 0xFF)


class GdbStub:
    """Serves GDB for `core` of `machine` on 127.0.0.1:`port`."""

    def __init__(self, machine: Machine, core: CortexM, port: int,
                 announce: Callable[[str], None] = lambda text: print(text, file=sys.stderr)) -> None:
        self.machine = machine
        self.core = core
        self.announce = announce
        self.server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.server.bind(("127.0.0.1", port))
        except OSError as exc:
            self.server.close()
            raise BenchError(f"--gdb: cannot listen on 127.0.0.1:{port} ({exc.strerror})") from None
        self.server.listen(1)
        self.server.setblocking(False)
        self.port = port
        self.client: socket.socket | None = None
        self.breakpoints: list[int] = []
        self._steps = 0
        self._inbox = b""
        machine.step_hooks.append(self._on_step)
        announce(f"bench: GDB stub for {core.name} on 127.0.0.1:{port} "
                 f"(gdb-multiarch -ex 'target remote 127.0.0.1:{port}')")

    # ------------------------------------------------------------ lifecycle
    def close(self) -> None:
        if self._on_step in self.machine.step_hooks:
            self.machine.step_hooks.remove(self._on_step)
        self._drop_client()
        self.server.close()

    def serve_until_detached(self, why: str) -> None:
        """The run is over (it failed): keep the machine as it is and serve GDB until it detaches."""
        self.announce(f"bench: {why}; the machine is kept at this moment for GDB on 127.0.0.1:{self.port} "
                      "(detach or Ctrl-C to let the bench exit)")
        self.server.setblocking(True)
        try:
            while self.client is None:
                self._accept()
            self._serve()
        except KeyboardInterrupt:
            pass
        finally:
            self.server.setblocking(False)

    # ------------------------------------------------------- between steps
    def _on_step(self) -> None:
        if self.core.at_breakpoint is not None and self.client is not None:
            self._serve(stop_reply=True)
            return
        self._steps += 1
        if self._steps % POLL_EVERY:
            return
        if self.client is None:
            self._accept()
            if self.client is not None:
                self._serve()  # attached: the machine pauses here
        elif self._interrupted():
            self._serve(stop_reply=True)

    def _accept(self) -> None:
        try:
            client, _ = self.server.accept()
        except (BlockingIOError, InterruptedError):
            return
        client.setblocking(True)
        self.client = client
        self._inbox = b""

    def _interrupted(self) -> bool:
        """Ctrl-C from GDB while the machine runs (a bare 0x03 byte)."""
        assert self.client is not None
        readable, _, _ = select.select([self.client], [], [], 0)
        if not readable:
            return False
        data = self.client.recv(4096)
        if not data:
            self._drop_client()
            return False
        self._inbox += data
        if b"\x03" in self._inbox:
            self._inbox = self._inbox.replace(b"\x03", b"")
            return True
        return False

    def _drop_client(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None
        self.breakpoints = []
        self.core.set_breakpoints([])
        self.core.resume_from_breakpoint()

    # --------------------------------------------------------------- packets
    def _read_packet(self) -> bytes | None:
        """The next packet's payload (acknowledged), or None when the client went away."""
        assert self.client is not None
        while True:
            start = self._inbox.find(b"$")
            if start >= 0:
                end = self._inbox.find(b"#", start)
                if end >= 0 and len(self._inbox) >= end + 3:
                    payload = self._inbox[start + 1:end]
                    self._inbox = self._inbox[end + 3:]
                    self.client.sendall(b"+")
                    return payload
            if b"\x03" in self._inbox and start < 0:
                self._inbox = self._inbox.replace(b"\x03", b"")
                return b"?"
            data = self.client.recv(4096)
            if not data:
                return None
            self._inbox += data

    def _send(self, payload: bytes) -> None:
        assert self.client is not None
        self.client.sendall(b"$" + payload + b"#" + _checksum(payload))

    def _serve(self, stop_reply: bool = False) -> None:
        """Answer packets until GDB resumes the machine (continue) or leaves."""
        if stop_reply:
            self._send(b"S05")
        while self.client is not None:
            try:
                payload = self._read_packet()
            except OSError:
                payload = None
            if payload is None:
                self._drop_client()
                return
            reply = self._handle(payload)
            if reply is None:  # continue: back to the scheduler
                return
            self._send(reply)
            if payload[:1] in (b"D", b"k"):
                self._drop_client()
                return

    def _handle(self, packet: bytes) -> bytes | None:
        core = self.core
        command, body = packet[:1], packet[1:]
        if packet.startswith(b"qSupported"):
            return b"PacketSize=4000;qXfer:features:read+"
        if packet.startswith(b"qXfer:features:read:target.xml:"):
            offset, length = (int(x, 16) for x in packet.split(b":")[-1].split(b","))
            chunk = TARGET_XML.encode()[offset:offset + length]
            return (b"l" if offset + length >= len(TARGET_XML) else b"m") + chunk
        if packet == b"qAttached":
            return b"1"
        if packet == b"qC":
            return b"QC1"
        if packet == b"qfThreadInfo":
            return b"m1"
        if packet == b"qsThreadInfo":
            return b"l"
        if command == b"H" or packet.startswith(b"qSymbol"):
            return b"OK"
        if command == b"?":
            return b"S05"
        if command == b"g":
            return b"".join(struct.pack("<I", self._register(r) & 0xFFFFFFFF).hex().encode() for r in REGISTERS)
        if command == b"p":
            number = int(body, 16)
            if number >= len(REGISTERS):
                return b"E01"
            return struct.pack("<I", self._register(REGISTERS[number]) & 0xFFFFFFFF).hex().encode()
        if command == b"P":
            number, value = body.split(b"=")
            if int(number, 16) >= len(REGISTERS):
                return b"E01"
            reg = REGISTERS[int(number, 16)]
            word = struct.unpack("<I", bytes.fromhex(value.decode()))[0]
            if reg == A.UC_ARM_REG_PC:
                core.pc = word & ~1
            else:
                core.regs.set(reg, word)
            return b"OK"
        if command == b"m":
            address, length = (int(x, 16) for x in body.split(b","))
            data = self._read_memory(address, length)
            return data.hex().encode() if data is not None else b"E01"
        if command == b"M":
            where, data = body.split(b":")
            address, length = (int(x, 16) for x in where.split(b","))
            return b"OK" if self._write_memory(address, bytes.fromhex(data.decode())[:length]) else b"E01"
        if command in (b"Z", b"z") and body.startswith(b"0,"):
            address = int(body.split(b",")[1], 16) & ~1
            if command == b"Z" and address not in self.breakpoints:
                self.breakpoints.append(address)
            elif command == b"z" and address in self.breakpoints:
                self.breakpoints.remove(address)
            core.set_breakpoints(self.breakpoints)
            return b"OK"
        if command == b"c":
            core.resume_from_breakpoint()
            return None
        if command == b"s":
            core.resume_from_breakpoint()
            self._step()
            return b"S05"
        if command in (b"D", b"k"):
            return b"OK"
        return b""

    # ------------------------------------------------------------- machine
    def _register(self, reg: int) -> int:
        if reg == A.UC_ARM_REG_PC:
            return self.core.pc
        return self.core.reg(reg)

    def _step(self) -> None:
        """One instruction of this core alone (the other cores wait)."""
        core = self.core
        if not core.runnable:
            return
        previous, self.machine.running = self.machine.running, core
        try:
            core.run(core.cycles + 1, precise=True)
        finally:
            self.machine.running = previous

    def _ram(self, address: int, length: int) -> bool:
        st = self.core.state
        return any(r.base <= address and address + length <= r.base + r.size for r in st.regions[: st.nregions])

    def _read_memory(self, address: int, length: int) -> bytes | None:
        if not self._ram(address, length):
            return None  # device registers: reading them would change the run
        try:
            return bytes(self.core.uc.mem_read(address, length))
        except UcError:
            return None

    def _write_memory(self, address: int, data: bytes) -> bool:
        if not self._ram(address, len(data)):
            return False
        try:
            self.core.uc.mem_write(address, data)
        except UcError:
            return False
        for core in self.machine.cores:
            core.flush_code_cache()
        return True


# One request per process (the CLI's --gdb), served by every Session the run opens.
_request: tuple[str, int] | None = None
_active: list[GdbStub] = []


def request(core: str, port: int) -> None:
    """Serve GDB for `core` on `port` in the machines this process builds from now on."""
    global _request
    _request = (core, port)


def attach(machine: Machine, cores: dict[str, CortexM]) -> None:
    """Called for each new machine: start the requested stub (once per process)."""
    if _request is None or _active:
        return
    core, port = _request
    if core not in cores:
        raise BenchError(f"--gdb {core}:{port}: no core {core!r} on this platform (cores: {', '.join(cores)})")
    _active.append(GdbStub(machine, cores[core], port))


def serve_failure(why: str) -> None:
    """A run failed: let GDB look at the failing moment before the bench exits."""
    for stub in _active:
        stub.serve_until_detached(why)


def close_all() -> None:
    while _active:
        _active.pop().close()

