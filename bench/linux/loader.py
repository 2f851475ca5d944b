"""Boot Linux on a Cortex-M core the way a board's boot loader does.

ARM boot protocol for a device-tree kernel: r0 = 0, r1 = ~0, r2 = address of the
DTB, the kernel image at its load address, an initramfs anywhere in RAM named by
/chosen linux,initrd-start/end (the kernel reserves it), and the console UART
already usable (the bench's UARTs are ready at reset).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import fdt
from unicorn import arm_const as A

from bench.emu.elf import ElfImage
from bench.errors import BenchError
from bench.linux.initramfs import bench_initramfs
from bench.session import Session


@dataclass(frozen=True)
class LinuxLayout:
    """Where the boot loader puts things (defaults: the CIAA-NXP's memory map)."""

    dtb: int = 0x10000000         # local SRAM0: not Linux memory, so nothing overwrites it
    boot_stack: int = 0x10008000
    initrd: int = 0x28700000      # the last MiB of SDRAM


def with_initrd(blob: bytes, start: int, end: int, source: Path) -> bytes:
    """The DTB with /chosen naming the initramfs."""
    try:
        tree = fdt.parse_dtb(blob)
        tree.set_property("linux,initrd-start", start, path="/chosen")
        tree.set_property("linux,initrd-end", end, path="/chosen")
        return tree.to_dtb(version=17)
    except Exception as exc:  # the fdt package raises plain Exceptions on malformed blobs
        raise BenchError(f"{source}: not a usable device tree blob ({exc})") from None


def boot_linux(session: Session, core_name: str, kernel: Path, dtb: Path, init: Path | None,
               firmware: dict[str, Path] | None = None, layout: LinuxLayout | None = None) -> ElfImage:
    """Load vmlinux, the initramfs (init + /lib/firmware files) and the DTB, then start the
    core at the kernel's entry."""
    layout = layout or LinuxLayout()
    image = session.load(core_name, kernel)
    blob = dtb.read_bytes()
    session.inputs["dtb"] = dtb
    if init is not None:
        session.inputs["init"] = init
        session.inputs.update({f"firmware:{name}": path for name, path in (firmware or {}).items()})
        files = {name: path.read_bytes() for name, path in (firmware or {}).items()}
        archive = bench_initramfs(init.read_bytes(), files)
        _write(session, layout.initrd, archive, "initramfs")
        blob = with_initrd(blob, layout.initrd, layout.initrd + len(archive), dtb)
    _write(session, layout.dtb, blob, f"device tree {dtb}")
    session.built.core(core_name).boot_at(
        image.entry, layout.boot_stack,
        {A.UC_ARM_REG_R0: 0, A.UC_ARM_REG_R1: 0xFFFFFFFF, A.UC_ARM_REG_R2: layout.dtb})
    return image


def _write(session: Session, address: int, data: bytes, what: str) -> None:
    memory = session.built.memory_at(address, len(data))
    if memory is None:
        raise BenchError(f"{what}: {len(data)} bytes do not fit in memory at 0x{address:08x}")
    memory.write(address, data)
