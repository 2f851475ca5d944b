"""A run of the bench: a machine built from a .repl, its images, consoles and artifacts.

Why a session object: every scenario needs the same bookkeeping, and the
rule that nothing is lost — console logs and the event trace are written
when the run ends, whether it passed, failed, or was interrupted.
"""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path
from types import TracebackType

from bench.console import Console
from bench.emu.elf import ElfImage, check_core, load_image, read_elf
from bench.errors import BenchError
from bench.platforms.builder import BuiltMachine, load_platform

PARAMS_MAGIC = 0x424E4348
REPO_ROOT = Path(__file__).resolve().parent.parent


def firmware_dir() -> Path:
    """Where `make` puts the project's firmware (AMP_BENCH_FIRMWARE overrides)."""
    return Path(os.environ.get("AMP_BENCH_FIRMWARE", REPO_ROOT / "build" / "firmware"))


def firmware(name: str) -> Path:
    path = firmware_dir() / "lpc4337" / f"{name}.elf"
    if not path.exists():
        raise BenchError(f"{path}: firmware not built; run `make firmware` (or `make demo`) first")
    return path


class Session:
    """Owns one machine for one run and writes its artifacts on exit."""

    def __init__(self, platform: str | Path, artifacts: str | Path, quantum: int = 100_000) -> None:
        self.artifacts = Path(artifacts)
        self.artifacts.mkdir(parents=True, exist_ok=True)
        self.built: BuiltMachine = load_platform(platform, quantum)
        self.machine = self.built.machine
        self.images: dict[str, ElfImage] = {}
        self.consoles: dict[str, Console] = {}
        # Every file the run reads, by role ("platform", "image:<core>", "dtb", ...): what a
        # reproduction bundle must carry (bench.repro).
        self.inputs: dict[str, Path] = {"platform": Path(platform)}
        self._artifact_paths: dict[str, str] | None = None
        from bench import gdbstub

        gdbstub.attach(self.machine, {core.name: core for core in self.machine.cores})

    def load(self, core_name: str, path: str | Path) -> ElfImage:
        """Load an ELF meant for `core_name` (its architecture is checked against the core)."""
        core = self.built.core(core_name)
        image = read_elf(path)
        check_core(image, core_name, core.config.model)
        load_image(self.built, image)
        self.images[core_name] = image
        self.inputs[f"image:{core_name}"] = Path(path)
        return image

    def patch_params(self, image: ElfImage, **values: int) -> None:
        """Rewrite the image's `bench_params` block in the loaded flash (magic checked)."""
        address = image.symbol("bench_params")
        memory = self.built.memory_at(address, 20)
        if memory is None or struct.unpack("<I", memory.read(address, 4))[0] != PARAMS_MAGIC:
            raise BenchError(f"{image.path}: bench_params at 0x{address:08x} lacks its magic; not a bench firmware")
        fields = ("rounds", "seed", "load", "fault")
        for index, name in enumerate(fields):
            if name in values:
                memory.write(address + 4 + 4 * index, struct.pack("<I", values[name] & 0xFFFFFFFF))

    def console(self, uart: str | list[str], failures: tuple[str, ...] = ()) -> Console:
        """A console on one UART (log `<uart>.log`) or on several merged (log `console.log`)."""
        names = [uart] if isinstance(uart, str) else uart
        key = names[0] if len(names) == 1 else "console"
        if key not in self.consoles:
            log = self.artifacts / f"{key}.log"
            log.write_bytes(b"")
            self.consoles[key] = Console(self.machine, [self.built.uart(n) for n in names], log, failures=failures)
        return self.consoles[key]

    def power_on(self, core_name: str) -> None:
        """The boot core leaves reset at cycle 0 (the others wait for it, as on the chip)."""
        self.built.core(core_name).release_from_reset(0)

    def close(self) -> dict[str, str]:
        """Write every artifact (once); returns their paths by kind."""
        if self._artifact_paths is not None:
            return self._artifact_paths
        paths = {}
        for name, console in self.consoles.items():
            console.close()
            paths["console" if name == "console" else f"console_{name}"] = str(self.artifacts / f"{name}.log")
        trace_path = self.artifacts / "trace.jsonl"
        self.machine.trace.write_jsonl(trace_path)
        paths["trace"] = str(trace_path)
        (self.artifacts / "images.json").write_text(json.dumps(
            {core: {"path": str(img.path), "sha256": img.sha256} for core, img in self.images.items()}, indent=2))
        inputs_path = self.artifacts / "inputs.json"
        inputs_path.write_text(json.dumps({role: str(path.resolve()) for role, path in self.inputs.items()}, indent=2))
        paths["inputs"] = str(inputs_path)
        self._artifact_paths = paths
        return paths

    def __enter__(self) -> Session:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
