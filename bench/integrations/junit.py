"""JUnit XML for every bench run, so CI systems show bench results like test results.

One test suite per run. The run itself is a test case; a latency campaign adds one
case per section (its sample count checked) and an IPI run one per direction. A
failed case carries the error and the tail of every console log of the run, so the
CI page shows what the guest printed without downloading artifacts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from junit_xml import TestCase, TestSuite, to_xml_report_string

CONSOLE_TAIL = 64 * 1024


def _console_logs(result: dict[str, Any]) -> str:
    artifacts = result.get("artifacts") or {}
    paths = [v for k, v in artifacts.items() if k.startswith("console") and isinstance(v, str)]
    if result.get("console_log") and result["console_log"] not in paths:
        paths.append(result["console_log"])
    parts = []
    for path in paths:
        try:
            data = Path(path).read_bytes()
        except OSError:
            continue
        parts.append(f"===== {path} (last {min(len(data), CONSOLE_TAIL)} bytes) =====\n"
                     + data[-CONSOLE_TAIL:].decode(errors="replace"))
    return "\n".join(parts)


def _summary(result: dict[str, Any]) -> str:
    keep = {k: v for k, v in result.items() if isinstance(v, (int, float, str, bool)) and k != "error"}
    return json.dumps(keep, sort_keys=True)


def cases_for(name: str, result: dict[str, Any]) -> list[TestCase]:
    passed = bool(result.get("passed"))
    wall = result.get("wall_s") or result.get("boot_wall_s") or (result.get("throughput") or {}).get("wall_s")
    main = TestCase(name, classname="amp-bench", elapsed_sec=wall, stdout=_summary(result))
    if not passed:
        message = result.get("error") or "the run's checks failed"
        main.add_failure_info(message=message[:500], output=_console_logs(result) or message)
    cases = [main]
    for section, figures in (result.get("sections") or {}).items():
        case = TestCase(f"{name} section {section}", classname="amp-bench.campaign",
                        stdout=json.dumps(figures, sort_keys=True))
        if figures.get("count") != result.get("samples"):
            case.add_failure_info(message=f"{figures.get('count')} samples of {result.get('samples')} round trips")
        cases.append(case)
    for direction, figures in (result.get("directions") or {}).items():
        case = TestCase(f"{name} {direction}", classname="amp-bench.ipi", stdout=json.dumps(figures, sort_keys=True))
        if not figures.get("count"):
            case.add_failure_info(message="no IPI was answered in this direction")
        cases.append(case)
    return cases


def write_junit(path: Path, name: str, result: dict[str, Any]) -> None:
    suite = TestSuite(f"amp-bench {name}", cases_for(name, result))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(to_xml_report_string([suite]))
