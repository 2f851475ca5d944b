"""pytest plugin (entry point `pytest11`): the emulated LPC4337 as test fixtures.

Boot once, test many: each pytest process (each pytest-xdist worker too) boots Linux
on the M4 once, with the M0 firmware in /lib/firmware, and keeps a snapshot of that
instant; every test that asks for `amp_linux` starts from the snapshot, so tests
neither share state nor pay for a boot. Waits are in emulated time, so host load
cannot make them flaky.

Per test, `--amp-artifacts` (default `artifacts/pytest`) receives a directory named
after the test with every UART's output during the test, the engine's event trace
since the snapshot (`trace.jsonl`) and, when the test failed, a dump of the machine
state (`state/`: memories and registers) and the last console lines in the report.

Fixtures: `amp_linux` (the booted machine: `.agent`, `.session`, `start_m0()`,
`stop_m0()`, `state()`), `amp_console` (its console: `expect`, `sendline`...),
`amp_rproc` (remoteproc through sysfs), `amp_rpmsg` (RPMsg echo checked byte for
byte), `amp_machine` (the engine's Machine), `amp_platform` (the .repl path).
Markers: `amp_timeout(seconds)` (default emulated timeout of console waits) and
`amp_fail_on(*patterns)` (console strings that end the test at once).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bench.session import REPO_ROOT

ARTIFACTS_DEFAULT = "artifacts/pytest"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("amp-bench", "amp-bench emulated AMP target")
    group.addoption("--amp-platform", default=None,
                    help="platform description (.repl); default: the bench's platforms/lpc4337.repl")
    group.addoption("--amp-artifacts", default=ARTIFACTS_DEFAULT,
                    help=f"directory for per-test artifacts (default {ARTIFACTS_DEFAULT})")
    group.addoption("--amp-kernel", default=None, help="vmlinux to boot (default: the cached build)")
    group.addoption("--amp-m0-firmware", default=None, help="M0 firmware with a resource table (default m0_rpmsg)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "amp_timeout(seconds): default emulated-time timeout of console waits")
    config.addinivalue_line("markers", "amp_fail_on(*patterns): console strings that fail the test at once")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Remember each phase's report on the item (fixtures see whether the test failed), and show
    the last console lines of a machine under a failed test."""
    report = yield
    setattr(item, f"amp_report_{report.when}", report)
    log = getattr(item, "amp_console_log", None)
    if report.failed and report.when == "call" and log is not None:
        log.flush()
        tail = Path(log.name).read_bytes()[-2000:].decode(errors="replace")
        report.sections.append(("amp-bench console (last lines)", tail))
    return report


# --------------------------------------------------------------------- helpers
@dataclass
class RemoteProc:
    """The M0 through Linux remoteproc (sysfs), as a test uses it."""

    linux: Any

    def start(self) -> str:
        return self.linux.start_m0()

    def stop(self) -> str:
        return self.linux.stop_m0()

    @property
    def state(self) -> str:
        return self.linux.state()


@dataclass
class RPMsg:
    """RPMsg round trips through Linux, checked byte for byte by the agent."""

    linux: Any

    def echo(self, size: int = 496, count: int = 1, device: str = "/dev/ttyRPMSG0", seed: int = 1) -> dict[str, int]:
        """Send `count` messages of `size` bytes and check each echo; returns messages/mismatches/splits."""
        counts = self.linux.rpmsg_lat(device, size, count, seed)
        return dict(zip(("messages", "mismatches", "splits"), counts, strict=True))


def _test_dir(root: Path, nodeid: str) -> Path:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid).strip("_")
    return root / name[:150]


def _dump_state(machine: Any, directory: Path) -> None:
    """Memories as raw images plus registers and core states as JSON: what a failure looked like."""
    from bench.emu.cortexm import _save_registers

    directory.mkdir(parents=True, exist_ok=True)
    layout = {}
    for name, memory in machine.memories.items():
        (directory / f"{name}.bin").write_bytes(bytes(memory.read(memory.base, memory.size)))
        layout[name] = {"base": memory.base, "size": memory.size, "file": f"{name}.bin"}
    cores = {}
    for core in machine.cores:
        core._select(False)
        cores[core.name] = {"cycles": core.cycles, "pc": core.pc, "sleep": core.sleep, "in_reset": core.in_reset,
                            "registers": {str(k): v for k, v in _save_registers(core.regs, core.is_v7m).items()}}
    (directory / "state.json").write_text(json.dumps({"memories": layout, "cores": cores}, indent=1))


# -------------------------------------------------------------------- fixtures
@pytest.fixture(scope="session")
def amp_platform(pytestconfig: pytest.Config) -> str:
    return pytestconfig.getoption("--amp-platform") or str(REPO_ROOT / "platforms" / "lpc4337.repl")


@pytest.fixture(scope="session")
def amp_artifacts(pytestconfig: pytest.Config) -> Path:
    return Path(pytestconfig.getoption("--amp-artifacts"))


@pytest.fixture(scope="session")
def _amp_booted(pytestconfig: pytest.Config, amp_platform: str, amp_artifacts: Path) -> Iterator[tuple[Any, Any]]:
    """One boot per pytest process (per xdist worker): the machine and the snapshot after boot."""
    from bench.emu.snapshot import take
    from bench.scenarios.remoteproc import LinuxOptions, booted_linux

    worker_id = os.environ.get("PYTEST_XDIST_WORKER", "main")
    options = LinuxOptions(amp_platform, kernel=pytestconfig.getoption("--amp-kernel"),
                           m0_firmware=pytestconfig.getoption("--amp-m0-firmware"),
                           artifacts=str(amp_artifacts / f"boot-{worker_id}"))
    with booted_linux(options) as linux:
        yield linux, take(linux.session.machine)


@pytest.fixture
def amp_linux(request: pytest.FixtureRequest, _amp_booted: tuple[Any, Any], amp_artifacts: Path) -> Iterator[Any]:
    """The booted machine, restored to just after boot, with this test's artifacts recorded."""
    linux, snapshot = _amp_booted
    machine = linux.session.machine
    linux.restore(snapshot)
    console = linux.agent.console
    timeout = request.node.get_closest_marker("amp_timeout")
    fail_on = request.node.get_closest_marker("amp_fail_on")
    saved_timeout, saved_failures = linux.agent.timeout, list(console.failures)
    if timeout is not None:
        linux.agent.timeout = float(timeout.args[0])
    if fail_on is not None:
        console.failures.extend(re.compile(re.escape(p).encode()) if isinstance(p, str) else p for p in fail_on.args)

    directory = _test_dir(amp_artifacts, request.node.nodeid)
    directory.mkdir(parents=True, exist_ok=True)
    logs: dict[str, Any] = {}
    listeners = []
    for name, uart in linux.session.built.uarts.items():
        handle = logs[name] = (directory / f"{name}.log").open("wb")
        uart.listeners.append(handle.write)
        listeners.append((uart, handle.write))
    request.node.amp_console_log = logs.get(console.uart.name)
    first_record = len(machine.trace.records)
    try:
        yield linux
    finally:
        for uart, listener in listeners:
            uart.listeners.remove(listener)
        for handle in logs.values():
            handle.close()
        machine.trace.write_jsonl(directory / "trace.jsonl", start=first_record)
        (directory / "result.json").write_text(json.dumps({"trace_digest": machine.trace.digest,
                                                           "cycles": {c.name: c.cycles for c in machine.cores}}))
        report = getattr(request.node, "amp_report_call", None)
        if report is not None and report.failed:
            _dump_state(machine, directory / "state")
        linux.agent.timeout = saved_timeout
        console.failures[:] = saved_failures


@pytest.fixture
def amp_machine(amp_linux: Any) -> Any:
    return amp_linux.session.machine


@pytest.fixture
def amp_console(amp_linux: Any) -> Any:
    return amp_linux.agent.console


@pytest.fixture
def amp_rproc(amp_linux: Any) -> RemoteProc:
    return RemoteProc(amp_linux)


@pytest.fixture
def amp_rpmsg(amp_linux: Any) -> RPMsg:
    return RPMsg(amp_linux)
