"""Fast register access to a Unicorn instance.

Why: the Python binding's reg_read/reg_write dispatch on the register class
and cost ~9 us each (measured); exception entry, return and mode switches
touch dozens of registers. Direct calls into libunicorn with a reused buffer
cost ~1 us. Only 32-bit core registers and 64-bit D registers go through here.
"""

from __future__ import annotations

import ctypes

from unicorn import Uc
from unicorn.unicorn_py3.unicorn import uclib


class Registers:
    """reg(id) / set(id, value) on one Unicorn instance."""

    def __init__(self, uc: Uc) -> None:
        self._uc = uc  # keeps the engine alive as long as its handle is used here
        self._handle = uc._uch
        self._buffer = ctypes.c_uint64(0)
        self._ref = ctypes.byref(self._buffer)
        self._read = uclib.uc_reg_read
        self._write = uclib.uc_reg_write

    def get(self, reg_id: int) -> int:
        self._buffer.value = 0
        self._read(self._handle, reg_id, self._ref)
        return self._buffer.value

    def set(self, reg_id: int, value: int) -> None:
        self._buffer.value = value & 0xFFFFFFFFFFFFFFFF
        self._write(self._handle, reg_id, self._ref)
