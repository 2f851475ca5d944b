"""The bench's user-facing error type.

Why one type: every failure a user can cause (bad input, guest fault, hang)
must end as a clear message and a non-zero exit, never a traceback. Code
raises BenchError with that message; the CLI prints it and exits.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


class BenchError(Exception):
    """An error to report to the user as-is (no traceback).

    `result` carries a scenario's partial result document (written as --json even on failure).
    """

    exit_code = 2

    def __init__(self, message: str, result: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.result = result


class GuestError(BenchError):
    """The guest misbehaved: fault, unmapped access, hang or lockup."""

    exit_code = 3


def read_json(path: Path, what: str) -> Any:
    """A JSON document the user named, or a BenchError that says which and why."""
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise BenchError(f"{path}: {what} not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BenchError(f"{path}: not a JSON {what} ({exc})") from None

