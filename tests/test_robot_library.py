"""The Robot Framework library and the suites in robot/, as a CI job runs them."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_robot_suites_pass_and_write_xunit(tmp_path):
    run = subprocess.run([sys.executable, "-m", "robot", "--outputdir", str(tmp_path), "--xunit", "xunit.xml",
                          "--console", "dotted", "robot/"], cwd=ROOT, capture_output=True, text=True, timeout=900,
                         check=False)
    assert run.returncode == 0, run.stdout[-3000:]
    suite = ET.parse(tmp_path / "xunit.xml").getroot()
    assert int(suite.get("tests")) >= 11 and suite.get("failures") == "0"
    echo = tmp_path / "artifacts" / "Rpmsg" / "Largest_Payload"  # per-test artifacts
    assert "rpmsg-lat /dev/ttyRPMSG0 496 20" in (echo / "usart2.log").read_text()
    assert (echo / "trace.jsonl").stat().st_size > 0


def test_keyword_documentation_is_generated(tmp_path):
    out = tmp_path / "AmpBench.html"
    run = subprocess.run([sys.executable, "-m", "robot.libdoc", "bench.integrations.robot_library.AmpBench",
                          str(out)], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    html = out.read_text()
    for name in ("Create Machine", "Start Emulation", "Wait For Line On Uart", "Write Line To Uart",
                 "Start Remote Processor", "Stop Remote Processor", "Remote Processor State Should Be",
                 "Send RPMsg And Expect Echo", "Measure IPI Latency"):
        assert name in html
