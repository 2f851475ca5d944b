"""Robot Framework library: the emulated LPC4337 with Renode's vocabulary plus AMP keywords.

Import it as ``Library    bench.integrations.robot_library.AmpBench``. Keywords that
Renode users know keep their names and meaning where they fit (`Create Machine`,
`Start Emulation`, `Reset Emulation`, `Create Terminal Tester`, `Wait For Line On Uart`,
`Wait For Prompt On Uart`, `Write Line To Uart`); the AMP keywords drive Linux
remoteproc and RPMsg on the M4 and measure latency exactly, in emulated cycles.

Boot once, test many: the first `Start Emulation` of a process boots Linux on the M4
(the M0 firmware in /lib/firmware) and keeps a snapshot of that instant; every later
`Start Emulation` or `Reset Emulation` restores it, so tests start from the same
state in milliseconds. Timeouts are emulated seconds: host load cannot make a wait
flaky. Console logs and the event trace are written under ``artifacts``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from robot.api import logger
from robotlibcore import DynamicCore, keyword

from bench.session import REPO_ROOT

__version__ = "0.1.0"


class AmpBench(DynamicCore):
    """Keywords for the amp-bench emulated AMP target (NXP LPC4337: Cortex-M4 Linux + Cortex-M0).

    Typical suite:

    | ***** Settings *****
    | Library           bench.integrations.robot_library.AmpBench
    | Suite Setup       Create Machine    platforms/lpc4337.repl
    | Test Setup        Start Emulation
    |
    | ***** Test Cases *****
    | Echo Through The M0
    |     Start Remote Processor
    |     Remote Processor State Should Be    running
    |     Send RPMsg And Expect Echo    size=496    count=10

    All waits count emulated time at the modelled 204 MHz clock.
    """

    ROBOT_LIBRARY_SCOPE = "GLOBAL"
    ROBOT_LIBRARY_VERSION = __version__
    ROBOT_LISTENER_API_VERSION = 3

    def __init__(self, artifacts: str = "artifacts/robot") -> None:
        self._artifacts = Path(artifacts)
        self._platform: str | None = None
        self._context: Any = None
        self._linux: Any = None
        self._snapshot: Any = None
        self._recorder: Any = None
        self._timeout = 1.0
        self._test_output: dict[str, bytearray] = {}  # per UART, since the current test started
        self._trace_start = 0
        self.ROBOT_LIBRARY_LISTENER = self  # start_test/end_test: per-test artifacts; close(): the run's logs
        DynamicCore.__init__(self, [])

    # ------------------------------------------------------------ machine
    @keyword
    def create_machine(self, platform: str = "platforms/lpc4337.repl") -> None:
        """Choose the platform description (.repl) of the machine that `Start Emulation` boots.

        A relative path is taken from the current directory, else from the bench's own tree.
        """
        path = Path(platform)
        if not path.exists() and (REPO_ROOT / platform).exists():
            path = REPO_ROOT / platform
        if not path.exists():
            raise AssertionError(f"{platform}: platform file not found")
        if self._linux is not None and str(path) != self._platform:
            self._shutdown()
        self._platform = str(path)

    @keyword
    def start_emulation(self) -> None:
        """Boot Linux on the M4 to the agent's prompt (first time), or restore that instant (later)."""
        if self._platform is None:
            self.create_machine()
        if self._linux is None:
            from bench.emu.snapshot import take
            from bench.scenarios.remoteproc import LinuxOptions, booted_linux

            self._context = booted_linux(LinuxOptions(self._platform, artifacts=str(self._artifacts)))
            self._linux = self._context.__enter__()
            self._snapshot = take(self._linux.session.machine)
            self._record_uarts()
            logger.info(f"booted Linux on the M4 in {self._linux.session.machine.now()} cycles")
        else:
            self.reset_emulation()

    @keyword
    def reset_emulation(self) -> None:
        """Put the machine back to the instant right after boot (the M0 offline)."""
        linux = self._require()
        linux.restore(self._snapshot)
        self._trace_start = len(linux.session.machine.trace.records)

    @keyword
    def create_terminal_tester(self, uart: str = "usart2", timeout: float = 1.0) -> None:
        """Set the default timeout (emulated seconds) of console waits; the Linux console is ``usart2``."""
        linux = self._require()
        if uart != linux.agent.console.name:
            raise AssertionError(f"{uart}: the console of this machine is {linux.agent.console.name}")
        self._timeout = float(timeout)

    @keyword
    def register_failure_string(self, text: str) -> None:
        """Fail the current wait at once if ``text`` appears on the console (e.g. ``Kernel panic``)."""
        console = self._require().agent.console
        console.failures.append(re.compile(re.escape(text.encode())))

    # ---------------------------------------------------------------- uart
    @keyword
    def write_line_to_uart(self, line: str) -> None:
        """Type ``line`` and Enter on the console."""
        self._require().agent.console.sendline(line)

    @keyword
    def wait_for_line_on_uart(self, content: str, timeout: float | None = None, treat_as_regex: bool = False) -> str:
        """Wait (emulated time) for a console line containing ``content``; returns the whole line."""
        console = self._require().agent.console
        pattern = content if treat_as_regex else re.escape(content)
        console.expect(rf"[^\r\n]*(?:{pattern})[^\r\n]*\r?\n", timeout=self._wait(timeout))
        return console.match.group(0).decode(errors="replace").rstrip("\r\n")

    @keyword
    def wait_for_prompt_on_uart(self, prompt: str = "amp-bench# ", timeout: float | None = None) -> None:
        """Wait (emulated time) for ``prompt`` on the console."""
        self._require().agent.console.expect_exact(prompt, timeout=self._wait(timeout))

    @keyword
    def execute_linux_command(self, command: str, timeout: float | None = None) -> str:
        """Run one command of the bench's agent (``cat``, ``write``, ``ls``, ``echo``...); returns its output."""
        return self._require().agent.run(command, timeout=self._wait(timeout))

    # ---------------------------------------------------------- remoteproc
    @keyword
    def start_remote_processor(self) -> None:
        """Start the M0 through Linux remoteproc (sysfs ``state``) and wait for its RPMsg channels."""
        self._require().start_m0()

    @keyword
    def stop_remote_processor(self) -> None:
        """Stop the M0 through Linux remoteproc and wait for the kernel to report it stopped."""
        self._require().stop_m0()

    @keyword
    def remote_processor_state_should_be(self, state: str) -> None:
        """Check remoteproc's sysfs ``state`` (``offline``, ``running``, ``crashed``...)."""
        actual = self._require().state()
        if actual != state:
            raise AssertionError(f"remote processor state is {actual!r}, expected {state!r}")

    @keyword
    def crash_remote_processor_and_wait_for_recovery(self) -> None:
        """Make the M0 firmware fault (payload ``M0CRASH!``) and wait until Linux has restarted it."""
        self._require().crash_m0_and_wait_for_recovery()

    # --------------------------------------------------------------- rpmsg
    @keyword("Send RPMsg And Expect Echo")
    def send_rpmsg_and_expect_echo(self, size: int = 496, count: int = 1, device: str = "/dev/ttyRPMSG0",
                                   seed: int = 1) -> int:
        """Send ``count`` messages of ``size`` bytes (1-496) to the M0 and check each echo byte for byte.

        Returns the number of messages echoed; fails on any mismatch.
        """
        messages, mismatches, _ = self._require().rpmsg_lat(device, int(size), int(count), int(seed))
        if mismatches or messages != int(count):
            raise AssertionError(f"RPMsg echo: {messages} messages, {mismatches} mismatches")
        return messages

    # ------------------------------------------------------------- latency
    @keyword("Measure RPMsg Latency")
    def measure_rpmsg_latency(self, size: int = 496, count: int = 100, seed: int = 1) -> dict[str, Any]:
        """Measure ``count`` RPMsg round trips and return each section of the reference study's breakdown
        (TTY-write, IPI to remote, remote processing, IPI to host, TTY-read, round trip): a dictionary of
        section name to ``count``, ``min``, ``max``, ``mean``, ``std``, ``p999`` in cycles. The M0 must run.
        """
        from bench.measure.histogram import LatencyHistogram
        from bench.measure.probes import ProbeRecorder, load_spec
        from bench.scenarios.boot import linux_inputs
        from bench.scenarios.campaign import (
            DEFAULT_DEVICE,
            DEFAULT_PROBES,
            probe_images,
            round_trips_measured,
            section_values,
        )
        from bench.session import firmware

        linux = self._require()
        if self._recorder is None:
            kernel, _dtb, _init = linux_inputs(None, None, None)
            images = probe_images(linux, {"kernel": kernel, "m0-firmware": firmware("m0_rpmsg")})
            self._recorder = ProbeRecorder(linux.session.machine, load_spec(DEFAULT_PROBES), images)
        chains, messages, mismatches, _ = round_trips_measured(linux, self._recorder, DEFAULT_DEVICE, int(size),
                                                               int(count), int(seed))
        if mismatches:
            raise AssertionError(f"{mismatches} of {messages} echoes differed")
        figures = {}
        for name, values in section_values(self._recorder.spec, chains).items():
            histogram = LatencyHistogram()
            histogram.extend(values)
            figures[name] = histogram.summary().as_dict()
        logger.info(f"RPMsg latency (cycles): {figures}")
        return figures

    @keyword("Measure IPI Latency")
    def measure_ipi_latency(self, rounds: int = 1000, load: int = 1, seed: int = 1) -> dict[str, Any]:
        """Run the bare-metal IPI ping-pong (M4 and M0 interrupt each other ``rounds`` times) on a machine
        of its own and return per direction (``m4_to_m0``, ``m0_to_m4``) the SEV-to-ISR latency figures in
        cycles. ``load=0``: receivers wait in WFI (exact, constant latency); ``load=1``: both cores busy.
        """
        from bench.scenarios.ipi import IpiOptions, run_ipi

        platform = self._platform or str(REPO_ROOT / "platforms" / "lpc4337.repl")
        result = run_ipi(IpiOptions(platform, rounds=int(rounds), load=int(load), seed=int(seed),
                                    artifacts=str(self._artifacts / "ipi")))
        if not result["passed"]:
            raise AssertionError(f"IPI ping-pong failed: {result.get('error', result.get('verdict'))}")
        logger.info(f"IPI latency (cycles): {result['directions']}")
        return result["directions"]

    @keyword
    def latency_should_be_at_most(self, figures: dict[str, Any], statistic: str, cycles: int) -> None:
        """Check one statistic (``max``, ``p999``, ``mean``...) of a latency result against a bound."""
        value = figures[statistic]
        if value > int(cycles):
            raise AssertionError(f"{statistic} is {value} cycles, above {cycles}")

    # ------------------------------------------------------------ internals
    def _record_uarts(self) -> None:
        for name, uart in self._linux.session.built.uarts.items():
            uart.listeners.append(self._test_output.setdefault(name, bytearray()).extend)

    def _require(self) -> Any:
        if self._linux is None:
            raise AssertionError("no machine is running: call `Start Emulation` first")
        return self._linux

    def _wait(self, timeout: float | None) -> float:
        return self._timeout if timeout in (None, "") else float(timeout)  # type: ignore[arg-type]

    def _shutdown(self) -> None:
        if self._context is not None:
            self._context.__exit__(None, None, None)
        self._context = self._linux = self._snapshot = self._recorder = None

    def start_test(self, data: Any, result: Any) -> None:
        """Listener hook: a test starts; its artifacts collect from here."""
        for buffer in self._test_output.values():
            buffer.clear()
        if self._linux is not None:
            self._trace_start = len(self._linux.session.machine.trace.records)

    def end_test(self, data: Any, result: Any) -> None:
        """Listener hook: write the test's UART output and event trace under artifacts/<suite>/<test>/."""
        if self._linux is None:
            return
        directory = self._artifacts / _safe(result.parent.name) / _safe(result.name)
        directory.mkdir(parents=True, exist_ok=True)
        for name, buffer in self._test_output.items():
            (directory / f"{name}.log").write_bytes(bytes(buffer))
        self._linux.session.machine.trace.write_jsonl(directory / "trace.jsonl", start=self._trace_start)

    def close(self) -> None:
        """Listener hook: the run is over; the session writes its console logs and trace."""
        self._shutdown()


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_")[:100] or "unnamed"

