"""The pytest plugin, as a user runs it: the example suite under xdist, and what a failure leaves."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _pytest(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=600, check=False)


def test_example_suite_passes_on_two_workers_with_junit_and_artifacts(tmp_path):
    junit, artifacts = tmp_path / "junit.xml", tmp_path / "artifacts"
    run = _pytest("examples/pytest", "-n", "2", "-q", f"--junitxml={junit}", f"--amp-artifacts={artifacts}")
    assert run.returncode == 0, run.stdout[-3000:]
    suite = ET.parse(junit).getroot().find("testsuite")
    assert int(suite.get("tests")) >= 8 and suite.get("failures") == "0" and suite.get("errors") == "0"
    assert sorted(p.name for p in artifacts.glob("boot-*")) == ["boot-gw0", "boot-gw1"]  # one boot per worker
    echo = next(artifacts.glob("*rpmsg_echo_is_byte_exact_496"))
    assert (echo / "trace.jsonl").stat().st_size > 0
    assert "rpmsg-lat /dev/ttyRPMSG0 496 20" in (echo / "usart2.log").read_text()


def test_a_failing_test_keeps_the_console_and_a_state_dump(tmp_path):
    (tmp_path / "test_fails.py").write_text(
        "def test_wrong_state(amp_rproc):\n"
        "    assert amp_rproc.state == 'running'\n")
    artifacts = tmp_path / "artifacts"
    run = _pytest(str(tmp_path / "test_fails.py"), f"--amp-artifacts={artifacts}", f"--rootdir={tmp_path}",
                  cwd=tmp_path)
    assert run.returncode == 1
    assert "amp-bench console (last lines)" in run.stdout and "offline" in run.stdout
    state = next(artifacts.glob("*test_wrong_state")) / "state"
    assert (state / "state.json").exists() and (state / "sdram.bin").stat().st_size == 8 << 20
