"""Bad input and misbehaving guests end in one clear message, a non-zero exit, and kept logs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.cli import main
from bench.session import firmware


def _cli(capsys, *args: str) -> tuple[int, str]:
    code = main(list(args))
    return code, capsys.readouterr().err


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        (1, ["cpu_m4", "unmapped address 0x90000000", "PC 0x1a"]),
        (2, ["cpu_m4", "HardFault", "undefined instruction", "PC 0x1a"]),
        (3, ["hang", "cpu_m4 running at PC", "cpu_m0 asleep in WFI"]),
        (4, ["cpu_m0", "HardFault", "undefined instruction 0xfbb0f0f1", "cortex-m0", "PC 0x1008"]),
    ],
)
def test_guest_faults_and_hangs_are_reported(tmp_path, capsys, platform, fault, expected):
    out = tmp_path / "r.json"
    code, err = _cli(capsys, "run", "ipi", "--platform", platform, "--rounds", "5", "--load", "0",
                     "--fault", str(fault), "--timeout", "0.02", "--artifacts", str(tmp_path / "a"),
                     "--json", str(out))
    assert code == 3
    assert "Traceback" not in err
    for text in expected:
        assert text in err
    document = json.loads(out.read_text())
    assert document["passed"] is False and "error" in document
    assert (tmp_path / "a" / "usart2.log").read_text().startswith("amp-bench lpc4337 ipi m4")
    assert (tmp_path / "a" / "trace.jsonl").exists()


def test_image_for_the_wrong_core_is_refused(tmp_path, capsys, platform):
    code, err = _cli(capsys, "run", "ipi", "--platform", platform, "--m0", str(firmware("m4_ipi")),
                     "--artifacts", str(tmp_path / "a"))
    assert code == 2
    assert "ARMv7E-M" in err and "cpu_m0 (cortex-m0) cannot execute" in err


def test_missing_and_corrupt_images(tmp_path, capsys, platform):
    code, err = _cli(capsys, "run", "ipi", "--platform", platform, "--m4", str(tmp_path / "nope.elf"),
                     "--artifacts", str(tmp_path / "a"))
    assert code == 2 and "nope.elf: cannot read the firmware image" in err
    garbage = tmp_path / "garbage.elf"
    garbage.write_bytes(b"\x7fELF" + bytes(range(256)) * 4)
    code, err = _cli(capsys, "run", "ipi", "--platform", platform, "--m4", str(garbage),
                     "--artifacts", str(tmp_path / "a"))
    assert code == 2 and "garbage.elf" in err and "Traceback" not in err
    truncated = tmp_path / "truncated.elf"
    truncated.write_bytes(firmware("m4_ipi").read_bytes()[:300])
    code, err = _cli(capsys, "run", "ipi", "--platform", platform, "--m4", str(truncated),
                     "--artifacts", str(tmp_path / "a"))
    assert code == 2 and "truncated.elf" in err


def test_malformed_platform_names_file_line_column(tmp_path, capsys, platform):
    text = Path(platform).read_text().replace("    size: 0xA000", "    size 0xA000", 1)
    bad = tmp_path / "bad.repl"
    bad.write_text(text)
    code, err = _cli(capsys, "run", "ipi", "--platform", str(bad), "--artifacts", str(tmp_path / "a"))
    assert code == 2
    line = text.splitlines().index("    size 0xA000") + 1
    assert f"bad.repl:{line}:" in err


def test_unknown_type_and_attribute_are_refused(tmp_path, capsys, platform):
    bad = tmp_path / "typo.repl"
    bad.write_text(Path(platform).read_text().replace("wideRegisters: true\n    -> nvic_m4@26",
                                                 "wideRegister: true\n    -> nvic_m4@26"))
    code, err = _cli(capsys, "run", "ipi", "--platform", str(bad), "--artifacts", str(tmp_path / "a"))
    assert code == 2 and "typo.repl:" in err and "unknown attribute(s) wideRegister" in err
