"""Firmware images: read an ELF, check it fits the core, load it like a flash programmer.

Checks that turn bad input into clear errors: the file exists and is an
ELF; it is 32-bit little-endian ARM; its build attributes name an
architecture the target core executes (an ARMv7E-M image cannot run on the
Cortex-M0); every loadable segment lands in a memory of the platform.
"""

from __future__ import annotations

import bisect
import hashlib
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile

from bench.errors import BenchError

if TYPE_CHECKING:
    from bench.platforms.builder import BuiltMachine

# Tag_CPU_arch values (ARM ELF ABI addenda) and the cores that execute them.
ARCH_NAMES = {10: "ARMv7", 11: "ARMv6-M", 12: "ARMv6S-M", 13: "ARMv7E-M", 16: "ARMv8-M.baseline",
              17: "ARMv8-M.mainline"}
CORE_ARCHES = {"cortex-m0": {11, 12}, "cortex-m4": {10, 11, 12, 13}}
TAG_CPU_ARCH, TAG_CPU_ARCH_PROFILE = 6, 7


@dataclass
class Segment:
    address: int
    data: bytes


@dataclass
class ElfImage:
    """A parsed firmware image: its loadable bytes, entry, symbols and architecture.

    Symbols are read on first use, straight from the symbol table: a kernel has tens
    of thousands and most runs never need them.
    """

    path: Path
    entry: int
    segments: list[Segment]
    arch: int | None
    profile: str | None
    sha256: str = ""
    _symtab: tuple[bytes, bytes] | None = None  # raw .symtab and its string table
    _symbols: dict[str, int] | None = None
    _functions: list[tuple[int, int, str]] = field(default_factory=list)
    _starts: list[int] = field(default_factory=list)

    @property
    def symbols(self) -> dict[str, int]:
        if self._symbols is None:
            self._read_symbols()
        return self._symbols  # type: ignore[return-value]

    def _read_symbols(self) -> None:
        symbols: dict[str, int] = {}
        functions = []
        if self._symtab is not None:
            table, strings = self._symtab
            for name_at, value, size, info, _other, shndx in struct.iter_unpack("<IIIBBH", table):
                kind = info & 0xF  # STT_NOTYPE 0, OBJECT 1, FUNC 2
                if name_at == 0 or shndx == 0 or kind > 2:
                    continue
                name = strings[name_at:strings.index(b"\0", name_at)].decode(errors="replace")
                if name.startswith("$"):
                    continue
                symbols.setdefault(name, value)
                if kind == 2:
                    functions.append((value & ~1, size, name))
        functions.sort()
        self._symbols, self._functions, self._starts = symbols, functions, [f[0] for f in functions]

    @property
    def arch_name(self) -> str:
        return ARCH_NAMES.get(self.arch, f"Tag_CPU_arch {self.arch}") if self.arch is not None else "unknown"

    def symbol(self, name: str) -> int:
        if name not in self.symbols:
            raise BenchError(f"{self.path}: no symbol {name!r} in the image (was it built with this bench's sources?)")
        return self.symbols[name]

    def symbolize(self, address: int) -> str | None:
        """"function+0xoffset" for an address inside a function of this image."""
        if self._symbols is None:
            self._read_symbols()
        i = bisect.bisect_right(self._starts, address) - 1
        if i >= 0:
            start, size, name = self._functions[i]
            if start <= address < start + max(size, 1):
                return f"{name}+0x{address - start:x}" if address != start else name
        return None


def read_elf(path: str | Path) -> ElfImage:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise BenchError(f"{path}: cannot read the firmware image ({exc.strerror})") from None
    try:
        return _parse(path, raw)
    except (ELFError, ValueError, KeyError, IndexError, AssertionError) as exc:
        raise BenchError(f"{path}: not a valid ELF file ({exc}); rebuild it or check the path") from None


def _parse(path: Path, raw: bytes) -> ElfImage:
    import io

    if raw[:4] != b"\x7fELF":
        raise BenchError(f"{path}: not an ELF file (no ELF magic); give the .elf the linker produced")
    elf = ELFFile(io.BytesIO(raw))
    if elf.elfclass != 32 or not elf.little_endian or elf["e_machine"] != "EM_ARM":
        raise BenchError(f"{path}: built for {elf['e_machine']} ({elf.elfclass}-bit, "
                         f"{'little' if elf.little_endian else 'big'}-endian), not a 32-bit little-endian ARM core")
    segments = []
    for segment in elf.iter_segments():
        if segment["p_type"] == "PT_LOAD" and segment["p_filesz"] > 0:
            data = segment.data()
            if len(data) != segment["p_filesz"]:
                raise BenchError(f"{path}: truncated segment at 0x{segment['p_paddr']:08x}: the file is corrupt")
            segments.append(Segment(segment["p_paddr"], data))
    if not segments:
        raise BenchError(f"{path}: no loadable segment: nothing to run")
    arch, profile = _build_attributes(elf)
    image = ElfImage(path, elf["e_entry"], segments, arch, profile, sha256=hashlib.sha256(raw).hexdigest())
    symtab = elf.get_section_by_name(".symtab")
    if symtab is not None and symtab["sh_entsize"] == 16:
        strtab = elf.get_section(symtab["sh_link"])
        image._symtab = (symtab.data(), strtab.data())
    return image


def _build_attributes(elf: ELFFile) -> tuple[int | None, str | None]:
    section = elf.get_section_by_name(".ARM.attributes")
    if section is None:
        return None, None
    arch = profile = None
    try:
        for subsection in section.iter_subsections():
            for subsub in subsection.iter_subsubsections():
                for attribute in subsub.iter_attributes():
                    if attribute.tag == "TAG_CPU_ARCH":
                        arch = attribute.value
                    elif attribute.tag == "TAG_CPU_ARCH_PROFILE":
                        profile = chr(attribute.value) if isinstance(attribute.value, int) else str(attribute.value)
    except (AttributeError, ValueError, KeyError):
        return None, None
    return arch, profile


def check_core(image: ElfImage, core_name: str, model: str) -> None:
    """Refuse an image whose architecture the core cannot execute."""
    if image.arch is None:
        return  # no build attributes (e.g. hand-assembled): the core will fault on what it lacks
    if image.arch not in CORE_ARCHES.get(model, set()) or (image.profile not in (None, "M", "\x00")):
        raise BenchError(
            f"{image.path}: built for {image.arch_name}{' (' + image.profile + '-profile)' if image.profile else ''}, "
            f"which {core_name} ({model}) cannot execute; build it with -mcpu={model} or give it to another core")


def load_image(built: BuiltMachine, image: ElfImage) -> None:
    """Write every loadable segment to the memory that holds it (by physical address)."""
    for segment in image.segments:
        memory = built.memory_at(segment.address, len(segment.data))
        if memory is None:
            raise BenchError(f"{image.path}: segment at 0x{segment.address:08x} ({len(segment.data)} bytes) lies "
                             f"outside every memory of {built.platform_file}; check the linker script")
        memory.write(segment.address, segment.data)
    built.machine.symbolizers.append(image.symbolize)
