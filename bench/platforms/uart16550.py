"""A 16550-compatible UART (Renode: UART.NS16550), as the LPC43xx USARTs and Linux's 8250 driver see it.

Transmission is instantaneous in virtual time (THR is always empty), which
keeps console output independent of the host; received bytes wait in a FIFO
and raise the receive-data interrupt when enabled.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from bench.emu.peripheral import IrqLine, Peripheral

if TYPE_CHECKING:
    from bench.emu.cortexm import CortexM

RBR_THR_DLL, IER_DLM, IIR_FCR, LCR, MCR, LSR, MSR, SCR = range(8)
LSR_DR, LSR_THRE, LSR_TEMT = 0x01, 0x20, 0x40
IER_ERBFI, IER_ETBEI = 0x01, 0x02


class Uart16550(Peripheral):
    """Registers at a stride of 1 or 4 bytes (`wide` for 32-bit register spacing)."""

    def __init__(self, name: str, wide: bool = True, size: int = 0x1000) -> None:
        self.name = name
        self.stride = 4 if wide else 1
        self.size = size
        self.ier = self.lcr = self.mcr = self.scr = self.dll = self.dlm = self.fcr = 0
        self.rx: deque[int] = deque()
        self.thre_pending = True
        self.irq: IrqLine | None = None
        self.output = bytearray()
        self.listeners: list[Callable[[bytes], None]] = []

    # ------------------------------------------------------------ host side
    def feed(self, data: bytes) -> None:
        """Bytes typed on the host arrive in the receive FIFO now."""
        self.rx.extend(data)
        self._update_irq()

    # ----------------------------------------------------------- guest side
    def read(self, core: CortexM, offset: int, size: int) -> int:
        reg = offset // self.stride
        if reg == RBR_THR_DLL:
            if self.lcr & 0x80:
                return self.dll
            value = self.rx.popleft() if self.rx else 0
            self._update_irq()
            return value
        if reg == IER_DLM:
            return self.dlm if self.lcr & 0x80 else self.ier
        if reg == IIR_FCR:
            iir = self._iir()
            if iir == 0x02:
                self.thre_pending = False  # reading IIR clears the THRE interrupt
                self._update_irq()
            return iir | (0xC0 if self.fcr & 1 else 0)
        if reg == LCR:
            return self.lcr
        if reg == MCR:
            return self.mcr
        if reg == LSR:
            return LSR_THRE | LSR_TEMT | (LSR_DR if self.rx else 0)
        if reg == MSR:
            return 0xB0  # CTS, DSR, DCD asserted
        if reg == SCR:
            return self.scr
        return 0

    def write(self, core: CortexM, offset: int, size: int, value: int) -> None:
        reg, value = offset // self.stride, value & 0xFF
        if reg == RBR_THR_DLL:
            if self.lcr & 0x80:
                self.dll = value
                return
            byte = bytes([value])
            self.output += byte
            self.thre_pending = True
            for listener in self.listeners:
                listener(byte)
            self._update_irq()
        elif reg == IER_DLM:
            if self.lcr & 0x80:
                self.dlm = value
            else:
                self.ier = value & 0x0F
                if self.ier & IER_ETBEI:
                    self.thre_pending = True
                self._update_irq()
        elif reg == IIR_FCR:
            self.fcr = value
            if value & 0x02:
                self.rx.clear()
                self._update_irq()
        elif reg == LCR:
            self.lcr = value
        elif reg == MCR:
            self.mcr = value
        elif reg == SCR:
            self.scr = value

    def exact(self, offset: int, is_write: bool) -> bool:
        # Status and configuration reads have no side effect, and what they show changes only
        # through host input (between scheduler steps) or this core's own exact accesses. Drivers
        # poll LSR for every console byte, so skipping the replay matters.
        if is_write:
            return True
        reg = offset // self.stride
        return reg in (RBR_THR_DLL, IIR_FCR) and not (reg == RBR_THR_DLL and self.lcr & 0x80)

    def _iir(self) -> int:
        if self.ier & IER_ERBFI and self.rx:
            return 0x04
        if self.ier & IER_ETBEI and self.thre_pending:
            return 0x02
        return 0x01

    def _update_irq(self) -> None:
        if self.irq is not None:
            self.irq.set(self._iir() != 0x01)
