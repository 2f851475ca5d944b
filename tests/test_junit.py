"""JUnit XML from bench runs: CI sees each run as test cases, with the console on failures."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from bench.cli import main


def test_a_failed_run_reports_a_failure_with_the_console_attached(tmp_path, platform):
    junit = tmp_path / "boot.xml"
    code = main(["run", "boot", "--platform", platform, "--expect", "NEVER-PRINTED", "--timeout", "0.2",
                 "--artifacts", str(tmp_path / "a"), "--junit", str(junit)])
    assert code == 3
    case = ET.parse(junit).getroot().find("testsuite/testcase")
    failure = case.find("failure")
    assert case.get("name") == "run boot" and failure is not None
    assert "NEVER-PRINTED" in failure.get("message")
    assert "Booting Linux" in failure.text  # the kernel's own console output


def test_a_passing_ipi_run_has_one_case_per_direction(tmp_path, platform):
    junit = tmp_path / "ipi.xml"
    assert main(["run", "ipi", "--platform", platform, "--rounds", "20", "--artifacts", str(tmp_path / "a"),
                 "--junit", str(junit)]) == 0
    suite = ET.parse(junit).getroot().find("testsuite")
    names = [case.get("name") for case in suite.findall("testcase")]
    assert names == ["run ipi", "run ipi m4_to_m0", "run ipi m0_to_m4"]
    assert suite.get("failures") == "0"
