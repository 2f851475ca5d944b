"""Assemble tiny Cortex-M test programs and run them on a one-core machine.

Why: the exception model (priorities, tail-chaining, masking, SysTick, faults)
is best checked with a few hand-written instructions whose every cycle is
known, built by the same cross toolchain as the firmware.
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from bench.emu.elf import load_image, read_elf
from bench.platforms.builder import BuiltMachine, load_platform

RAM = 0x20000000
UART = 0x40000000

REPL = """\
cpu: CPU.CortexM @ sysbus
    cpuType: "{model}"
    nvic: nvic

nvic: IRQControllers.NVIC @ sysbus new Bus.BusPointRegistration {{ address: 0xE000E000; cpu: cpu }}
    priorityMask: {mask}
    systickFrequency: 100000000
    numberOfInterrupts: 8
    irqEntryCycles: {entry}
    tailChainCycles: 6
    -> cpu@0

rom: Memory.MappedMemory @ sysbus 0x0
    size: 0x10000

ram: Memory.MappedMemory @ sysbus 0x20000000
    size: 0x10000

uart: UART.NS16550 @ sysbus <0x40000000, +0x1000>
    wideRegisters: true
    -> nvic@7
"""

PROLOGUE = """\
    .syntax unified
    .thumb
    .section .vectors, "a"
    .word 0x20008000
    .word reset + 1
    .word 0, hardfault + 1, 0, 0, 0, 0, 0, 0, 0
    .word svc + 1
    .word 0, 0
    .word pendsv + 1
    .word systick + 1
    .word irq0 + 1, irq1 + 1, irq2 + 1, 0, 0, 0, 0, 0
    .text
"""
DEFAULT_HANDLERS = {"hardfault": "b .", "svc": "bx lr", "pendsv": "bx lr", "systick": "bx lr",
                    "irq0": "bx lr", "irq1": "bx lr", "irq2": "bx lr"}


def assemble(tmp_path: Path, source: str, model: str = "cortex-m4") -> Path:
    """Assemble `source` (after the vector-table prologue) into an ELF linked at 0."""
    if shutil.which("arm-none-eabi-as") is None:
        pytest.fail("arm-none-eabi-as missing: run `make test`, which installs the toolchain")
    asm, obj, elf = tmp_path / "t.s", tmp_path / "t.o", tmp_path / "t.elf"
    defaults = "".join(f"    .thumb_func\n{name}: {body}\n" for name, body in DEFAULT_HANDLERS.items()
                       if not re.search(rf"^{name}:", source, re.MULTILINE))
    asm.write_text(PROLOGUE + defaults + source)
    subprocess.run(["arm-none-eabi-as", f"-mcpu={model}", "-mthumb", str(asm), "-o", str(obj)], check=True)
    subprocess.run(["arm-none-eabi-ld", "-Ttext=0x100", "--section-start=.vectors=0", "-e", "reset",
                    str(obj), "-o", str(elf)], check=True)
    return elf


def machine(tmp_path: Path, elf: Path, model: str = "cortex-m4", entry_cycles: int = 12) -> BuiltMachine:
    repl = tmp_path / "one.repl"
    repl.write_text(REPL.format(model=model, mask="0xE0" if model == "cortex-m4" else "0xC0", entry=entry_cycles))
    built = load_platform(repl, quantum=100_000)
    image = read_elf(elf)
    load_image(built, image)
    built.core("cpu").release_from_reset(0)
    return built


# Two cores on one bus, each with its own NVIC (as the LPC4337's M4 and M0): for lockstep tests.
_CORE = """\
{cpu}: CPU.CortexM @ sysbus
    cpuType: "cortex-m4"
    nvic: {nvic}

{nvic}: IRQControllers.NVIC @ sysbus new Bus.BusPointRegistration {{ address: 0xE000E000; cpu: {cpu} }}
    priorityMask: 0xE0
    numberOfInterrupts: 8
    -> {cpu}@0

"""
TWO_CORES = _CORE.format(cpu="cpu0", nvic="nvic0") + _CORE.format(cpu="cpu1", nvic="nvic1") + """\
rom: Memory.MappedMemory @ sysbus 0x0
    size: 0x10000

ram: Memory.MappedMemory @ sysbus 0x20000000
    size: 0x10000
"""


def two_cores(tmp_path: Path, elf: Path, starts: dict[str, tuple[str, int]]) -> BuiltMachine:
    """Both cores leave reset together, each at its own label with its own stack: {core: (label, sp)}."""
    repl = tmp_path / "two.repl"
    repl.write_text(TWO_CORES)
    built = load_platform(repl, quantum=100_000)
    load_image(built, read_elf(elf))
    for name, (label, sp) in starts.items():
        built.core(name).boot_at(symbol(elf, label), sp, {})
    return built


def word(built: BuiltMachine, address: int) -> int:
    memory = built.memory_at(address, 4)
    assert memory is not None
    return struct.unpack("<I", memory.read(address, 4))[0]


def symbol(elf: Path, name: str) -> int:
    return read_elf(elf).symbol(name) & ~1
