"""A pexpect-style console on an emulated UART, with timeouts in emulated time.

Why not a pexpect spawn: pexpect measures timeouts with the host clock, so a
loaded CI machine makes tests flaky. Here `timeout` is emulated seconds, the
emulation pauses on the exact byte that completes a match, and nothing is
consumed by anyone but the caller. The API follows pexpect (`expect`,
`expect_exact`, `send`, `sendline`, `before`, `after`, `match`, pexpect's
TIMEOUT/EOF exceptions) so existing habits and helpers carry over.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Union

import pexpect

from bench.emu.machine import Machine
from bench.platforms.uart16550 import Uart16550

Pattern = Union[str, bytes, "re.Pattern[bytes]", type]
SEARCH_WINDOW = 8192


class ConsoleFailure(pexpect.ExceptionPexpect):
    """A declared failure string (kernel oops, firmware panic) appeared."""


class Console:
    """Expect/send on a UART of a running machine (or on several, merged in emulated-time order)."""

    def __init__(self, machine: Machine, uart: Uart16550 | Sequence[Uart16550], log: Path | None = None,
                 failures: Sequence[str | bytes] = (), default_timeout: float = 1.0) -> None:
        self.machine = machine
        self.uarts = [uart] if isinstance(uart, Uart16550) else list(uart)
        self.uart = self.uarts[0]  # where send() types
        self.name = "+".join(u.name for u in self.uarts)
        self.timeout = default_timeout
        self.buffer = b""
        self.before = b""
        self.after: bytes | type = b""
        self.match: re.Match[bytes] | type | None = None
        self.failures = [re.compile(re.escape(_bytes(f))) for f in failures]
        self.log_path = log
        self._log: IO[bytes] | None = log.open("ab") if log is not None else None
        self._patterns: list[re.Pattern[bytes]] = []
        self._hit: re.Match[bytes] | None = None
        self._failed: re.Match[bytes] | None = None
        for each in self.uarts:
            each.listeners.append(self._on_output)

    def reset(self) -> None:
        """Forget what was seen (after the machine was restored to a snapshot)."""
        self.buffer = self.before = b""
        self.after, self.match = b"", None
        self._hit = self._failed = None

    # ------------------------------------------------------------- output
    def _on_output(self, data: bytes) -> None:
        self.buffer += data
        if self._log is not None:
            self._log.write(data)
            if data == b"\n":
                self._log.flush()
        start = max(0, len(self.buffer) - SEARCH_WINDOW)
        for failure in self.failures:
            found = failure.search(self.buffer, start)
            if found:
                self._failed = found
                self.machine.request_stop()
                return
        if self._patterns and self._hit is None:
            hit = self._search(start)
            if hit is not None:
                self._hit = hit
                self.machine.request_stop()

    def _search(self, start: int = 0) -> re.Match[bytes] | None:
        best: re.Match[bytes] | None = None
        for pattern in self._patterns:
            found = pattern.search(self.buffer, start)
            if found and (best is None or found.start() < best.start()):
                best = found
        return best

    def close(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None
        for each in self.uarts:
            if self._on_output in each.listeners:
                each.listeners.remove(self._on_output)

    # ------------------------------------------------------------- expect
    def expect(self, pattern: Pattern | Sequence[Pattern], timeout: float | None = -1) -> int:
        """Wait (in emulated seconds) for a regex; return the index of the pattern that matched first."""
        patterns = list(pattern) if isinstance(pattern, (list, tuple)) else [pattern]
        return self._expect([p if p in (pexpect.TIMEOUT, pexpect.EOF) else _regex(p) for p in patterns], timeout)

    def expect_exact(self, pattern: str | bytes | Sequence[str | bytes], timeout: float | None = -1) -> int:
        patterns = list(pattern) if isinstance(pattern, (list, tuple)) else [pattern]
        return self._expect([p if p in (pexpect.TIMEOUT, pexpect.EOF) else re.compile(re.escape(_bytes(p)))
                             for p in patterns], timeout)

    def _expect(self, patterns: list[object], timeout: float | None) -> int:
        regexes = [p for p in patterns if isinstance(p, re.Pattern)]
        self._patterns = regexes  # type: ignore[assignment]
        self._hit = self._search()
        try:
            if self._hit is None and self._failed is None:
                seconds = self.timeout if timeout == -1 else timeout
                cycles = self.machine.cycles_for(seconds) if seconds is not None else (1 << 60)
                outcome = self.machine.run_for(cycles, stop=lambda: self._hit is not None or self._failed is not None)
            else:
                outcome = "stopped"
            if self._failed is not None:
                found, self._failed = self._failed, None
                raise ConsoleFailure(f"{self.name}: failure string {found.group(0)!r} appeared")
            if self._hit is not None:
                hit = self._hit
                self.before, self.after, self.match = self.buffer[: hit.start()], hit.group(0), hit
                self.buffer = self.buffer[hit.end():]
                return next(i for i, p in enumerate(patterns) if p is hit.re)
            special = pexpect.EOF if outcome == "idle" else pexpect.TIMEOUT
            self.before, self.after, self.match = self.buffer, special, special
            if special in patterns:
                return patterns.index(special)
            if outcome == "idle":
                raise pexpect.EOF(f"{self.name}: every core is asleep or halted with nothing pending; "
                                  f"{self.machine.describe_cores()}")
            raise pexpect.TIMEOUT(f"{self.name}: no match within {self.timeout if timeout == -1 else timeout} s "
                                  f"of emulated time; {self.machine.describe_cores()}")
        finally:
            self._patterns, self._hit = [], None

    # --------------------------------------------------------------- send
    def send(self, data: str | bytes) -> int:
        raw = _bytes(data)
        self.uart.feed(raw)
        self.machine.trace.record(self.machine.now(), self.name, "input", data=raw.hex())
        return len(raw)

    def sendline(self, line: str | bytes = "") -> int:
        return self.send(_bytes(line) + b"\r")


def _bytes(value: str | bytes) -> bytes:
    return value.encode() if isinstance(value, str) else value


def _regex(pattern: object) -> re.Pattern[bytes]:
    if isinstance(pattern, re.Pattern):
        return pattern if isinstance(pattern.pattern, bytes) else re.compile(pattern.pattern.encode(), pattern.flags
                                                                              & ~re.UNICODE)
    return re.compile(_bytes(pattern))  # type: ignore[arg-type]
