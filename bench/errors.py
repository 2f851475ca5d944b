"""The bench's user-facing error type.

Why one type: every failure a user can cause (bad input, guest fault, hang)
must end as a clear message and a non-zero exit, never a traceback. Code
raises BenchError with that message; the CLI prints it and exits.
"""

from __future__ import annotations


class BenchError(Exception):
    """An error to report to the user as-is (no traceback)."""

    exit_code = 2


class GuestError(BenchError):
    """The guest misbehaved: fault, unmapped access, hang or lockup."""

    exit_code = 3
