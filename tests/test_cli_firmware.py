"""`bench run firmware`: any ELFs, a console on the host, emulated-time waits."""

from __future__ import annotations

import json

from bench.cli import main
from bench.session import firmware


def test_runs_user_images_and_waits_for_a_line(tmp_path, capsys, platform):
    out = tmp_path / "r.json"
    code = main(["run", "firmware", "--platform", platform, "--load", f"cpu_m4={firmware('m4_ipi')}",
                 "--load", f"cpu_m0={firmware('m0_ipi')}", "--expect", "IPI-TEST (PASS|FAIL)",
                 "--artifacts", str(tmp_path / "a"), "--json", str(out)])
    captured = capsys.readouterr()
    assert code == 0
    assert "M0 up" in captured.out and "IPI-TEST PASS" in captured.out  # the console, live on stdout
    document = json.loads(out.read_text())
    assert document["passed"] and document["outcome"] == "matched"
    assert "IPI-TEST PASS" in (tmp_path / "a" / "console.log").read_text()


def test_a_core_released_without_an_image_is_named(tmp_path, capsys, platform):
    code = main(["run", "firmware", "--platform", platform, "--load", f"cpu_m4={firmware('m4_ipi')}",
                 "--expect", "PASS", "--quiet", "--artifacts", str(tmp_path / "a")])
    err = capsys.readouterr().err
    assert code == 3
    assert "cpu_m0: left reset" in err and "no Cortex-M image is loaded" in err


def test_idle_machine_ends_the_run(tmp_path, capsys, platform):
    out = tmp_path / "r.json"
    code = main(["run", "firmware", "--platform", platform, "--load", f"cpu_m4={firmware('m4_compute')}",
                 "--quiet", "--timeout", "5", "--artifacts", str(tmp_path / "a"), "--json", str(out)])
    assert code == 0
    document = json.loads(out.read_text())
    assert document["outcome"] == "idle" and document["emulated_s"] < 1.0
    assert "compute done checksum=0x" in (tmp_path / "a" / "console.log").read_text()


def test_bad_load_argument(capsys, platform):
    assert main(["run", "firmware", "--platform", platform, "--load", "cpu_m4"]) == 2
    assert "expected CORE=PATH" in capsys.readouterr().err
