"""Drive the bench's init (linux/init/init.c) over the Linux console.

The agent prints a prompt after every command; kernel messages share the
console and may arrive at any time, so command output is what the agent printed
between the echoed command line and the next prompt, and kernel lines are
waited for explicitly with `wait_for`.
"""

from __future__ import annotations

import re

from bench.console import Console

PROMPT = b"amp-bench# "


class Agent:
    def __init__(self, console: Console, timeout: float = 2.0) -> None:
        self.console = console
        self.timeout = timeout

    def run(self, command: str, timeout: float | None = None) -> str:
        """Run one command; return its output (kernel lines that interleave are kept)."""
        self.console.sendline(command)
        self.console.expect_exact(PROMPT, timeout=timeout or self.timeout)
        text = self.console.before.decode(errors="replace")
        echoed = text.find(command)
        if echoed >= 0:
            text = text[echoed + len(command):]
        return text.lstrip("\r\n").replace("\r\n", "\n")

    def wait_for(self, pattern: str, timeout: float | None = None) -> re.Match[bytes]:
        """Wait for a console line (a kernel message) in emulated time."""
        self.console.expect(pattern, timeout=timeout or self.timeout)
        return self.console.match  # type: ignore[return-value]

    def read(self, path: str) -> str:
        return self.run(f"cat {path}").strip()

    def write(self, path: str, text: str) -> str:
        return self.run(f"write {path} {text}")
