"""Reproduction bundles: a failed run, packed so that anyone can replay it bit for bit.

Why it works: the engine is deterministic (no host time, explicit seeds), so a run is
fully defined by its command line and the bytes of the files it read. `bench repro`
packs both from a failed run's result document (`--json`): the command, every input
file (platform, kernel, device tree, init, firmware; found in the run's
`inputs.json`), their SHA-256, the console inputs with their emulated timestamps
(from the trace), the failure and the trace digest. `bench replay` unpacks it, runs
the same command on the packed files and checks that the same failure happens with
the same trace digest.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from bench.errors import BenchError, read_json

FORMAT = "amp-bench repro bundle 1"
# Options whose value is where a run writes (a replay writes elsewhere), or that wait for a person.
OUTPUT_OPTIONS = ("--json", "--junit", "--artifacts", "--out", "--gdb")
# The option that names each input file, per command (firmware images go as --load CORE=FILE).
FILE_OPTIONS = {
    "run ipi": {"platform": "--platform", "image:cpu_m4": "--m4", "image:cpu_m0": "--m0"},
    "run boot": {"platform": "--platform", "image:cpu_m4": "--kernel", "dtb": "--dtb", "init": "--init"},
    "run firmware": {"platform": "--platform"},
}
for _linux in ("run rproc-lifecycle", "run rpmsg-echo"):
    FILE_OPTIONS[_linux] = {**FILE_OPTIONS["run boot"], "firmware:lpc4337-m0.elf": "--m0-firmware"}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _command_name(command: list[str]) -> str:
    return " ".join(command[:2]) if command and command[0] == "run" else (command[0] if command else "")


def _failure(result: dict[str, Any]) -> str:
    """The failure without the paths of this run's artifacts (they differ on replay)."""
    return re.sub(r";? ?console log: \S+", "", str(result.get("error", ""))).strip()


def write_bundle(result_path: Path, bundle: Path) -> dict[str, Any]:
    """Pack the failed run described by `result_path` (a --json result document) into `bundle`."""
    result = read_json(result_path, "result document (runs write one with --json)")
    command = result.get("command")
    if not command:
        raise BenchError(f"{result_path}: the document does not record its command (written by an older bench?)")
    if result.get("passed"):
        raise BenchError(f"{result_path}: that run passed; a bundle reproduces a failure")
    name = _command_name(command)
    if name not in FILE_OPTIONS:
        raise BenchError(f"{result_path}: `bench {name}` runs cannot be bundled yet (supported: "
                         f"{', '.join('bench ' + n for n in FILE_OPTIONS)})")
    artifacts = Path((result.get("artifacts") or {}).get("dir") or "")
    inputs_file = artifacts / "inputs.json"
    if not inputs_file.exists():
        raise BenchError(f"{inputs_file}: the run's list of input files is missing; did it reach the emulation?")
    inputs = {role: Path(path) for role, path in json.loads(inputs_file.read_text()).items()}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "bundle"
        (root / "files").mkdir(parents=True)
        files = {}
        for role, path in inputs.items():
            if not path.exists():
                raise BenchError(f"{path}: input file of the run ({role}) no longer exists")
            packed = "files/" + re.sub(r"[^A-Za-z0-9_.-]", "_", role) + "_" + path.name
            shutil.copyfile(path, root / packed)
            files[role] = {"file": packed, "sha256": _sha256(path), "original": str(path)}
        events = []
        trace = artifacts / "trace.jsonl"
        if trace.exists():
            with trace.open() as lines:
                events = [e for e in map(json.loads, lines) if e.get("kind") == "input"]
        (root / "inputs.jsonl").write_text("".join(json.dumps(e, sort_keys=True) + "\n" for e in events))
        manifest = {"format": FORMAT, "command": command, "files": files,
                    "expected": {"failure": _failure(result), "trace_digest": result.get("trace_digest")},
                    "console_inputs": len(events)}
        (root / "bundle.json").write_text(json.dumps(manifest, indent=2) + "\n")
        bundle.parent.mkdir(parents=True, exist_ok=True)
        with tarfile.open(bundle, "w:gz") as tar:
            tar.add(root, arcname="bundle")
    return manifest


def replay_command(manifest: dict[str, Any], root: Path, out: Path) -> list[str]:
    """The bundled command, reading the bundle's files and writing under `out`."""
    command = list(manifest["command"])
    name = _command_name(command)
    options = FILE_OPTIONS[name]
    argv: list[str] = []
    skip = False
    for arg in command:
        if skip:
            skip = False
            continue
        option = arg.split("=", 1)[0]
        if option in OUTPUT_OPTIONS or option in options.values() or option == "--load":
            skip = "=" not in arg
            continue
        argv.append(arg)
    for role, entry in manifest["files"].items():
        path = str(root / entry["file"])
        if role in options:
            argv += [options[role], path]
        elif name == "run firmware" and role.startswith("image:"):
            argv += ["--load", f"{role.split(':', 1)[1]}={path}"]
    return [*argv, "--artifacts", str(out / "artifacts"), "--json", str(out / "result.json")]


def open_bundle(bundle: Path, into: Path) -> dict[str, Any]:
    """Unpack and check a bundle (format, file hashes); returns its manifest."""
    try:
        with tarfile.open(bundle, "r:gz") as tar:
            tar.extractall(into, filter="data")
    except FileNotFoundError:
        raise BenchError(f"{bundle}: bundle not found") from None
    except tarfile.TarError as exc:
        raise BenchError(f"{bundle}: not a repro bundle ({exc})") from None
    root = into / "bundle"
    try:
        manifest = json.loads((root / "bundle.json").read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        raise BenchError(f"{bundle}: no readable bundle.json inside") from None
    if manifest.get("format") != FORMAT:
        raise BenchError(f"{bundle}: unknown bundle format {manifest.get('format')!r}")
    for role, entry in manifest["files"].items():
        if _sha256(root / entry["file"]) != entry["sha256"]:
            raise BenchError(f"{bundle}: {entry['file']} ({role}) does not match its SHA-256: the bundle is damaged")
    return manifest


def compare(manifest: dict[str, Any], result: dict[str, Any]) -> list[str]:
    """What differs between the bundled failure and the replayed run (empty: reproduced)."""
    expected = manifest["expected"]
    differences = []
    if result.get("passed"):
        differences.append("the replay passed")
    if _failure(result) != expected["failure"]:
        differences.append(f"failure: expected {expected['failure']!r}, got {_failure(result)!r}")
    if result.get("trace_digest") != expected["trace_digest"]:
        differences.append(f"trace digest: expected {expected['trace_digest']}, got {result.get('trace_digest')}")
    return differences
