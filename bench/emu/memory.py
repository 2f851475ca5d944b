"""Host-backed guest memory shared by every core.

Why ctypes buffers: Unicorn instances can map the same host buffer
(facts: shared RAM works), so both cores see one memory without copies, and
the engine (loaders, probes, snapshots) reads and writes it directly.
"""

from __future__ import annotations

import ctypes

from bench.errors import BenchError

PAGE = 0x1000


class Memory:
    """A contiguous RAM, flash or ROM block of the guest's physical map."""

    def __init__(self, name: str, base: int, size: int, writable: bool = True) -> None:
        if base % PAGE or size % PAGE:
            raise BenchError(f"memory {name}: base 0x{base:x} and size 0x{size:x} must be multiples of 0x{PAGE:x}")
        self.name = name
        self.base = base
        self.size = size
        self.writable = writable
        self.buffer = (ctypes.c_ubyte * size)()

    @property
    def end(self) -> int:
        return self.base + self.size

    def contains(self, address: int, length: int = 1) -> bool:
        return self.base <= address and address + length <= self.end

    def host_address(self, address: int) -> int:
        return ctypes.addressof(self.buffer) + (address - self.base)

    def write(self, address: int, data: bytes) -> None:
        """Write as a debugger or flash programmer would (ignores `writable`)."""
        if not self.contains(address, len(data)):
            raise BenchError(f"memory {self.name}: write of {len(data)} bytes at 0x{address:08x} is outside it")
        ctypes.memmove(self.host_address(address), data, len(data))

    def read(self, address: int, length: int) -> bytes:
        if not self.contains(address, length):
            raise BenchError(f"memory {self.name}: read of {length} bytes at 0x{address:08x} is outside it")
        return ctypes.string_at(self.host_address(address), length)
