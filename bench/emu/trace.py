"""The engine's event trace: what happened, on which core, at which cycle.

Why: the trace is the ground truth for non-intrusive measurement (IPI
latency is read from it, not from guest code) and for determinism checks:
two runs with the same inputs must give the same digest.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

HASH_BATCH = 256  # records hashed together


class Trace:
    """An append-only list of (cycle, core, kind, fields) records with a running digest."""

    def __init__(self, keep: bool = True) -> None:
        self.records: list[tuple[int, str, str, dict[str, Any]]] = []
        self.keep = keep
        self._hash = hashlib.sha256()
        self._lines: list[str] = []  # canonical lines not hashed yet (hashed in batches: cheaper)
        self.count = 0
        # Records made natively and not yet reported (Machine.drain_events): reported first,
        # so that the order is the order things happened in.
        self.pending: Callable[[], None] | None = None

    def record(self, cycle: int, core: str, kind: str, **fields: Any) -> None:
        text = " ".join(f"{k}={v}" for k, v in sorted(fields.items()))
        self._add(f"{cycle} {core} {kind} {text}" if text else f"{cycle} {core} {kind}", 1)
        if self.keep:
            self.records.append((cycle, core, kind, fields))

    def record_text(self, text: str, count: int) -> None:
        """`count` records given as their canonical lines, each ending in a newline (the native
        event report, Machine.drain_events); kept records get their fields back from the text."""
        self._add(text[:-1], count)
        if self.keep:
            for line in text.splitlines():
                cycle, core, kind, *fields = line.split(" ")
                self.records.append((int(cycle), core, kind,
                                     {key: int(value) for key, value in (f.split("=") for f in fields)}))

    def _add(self, lines: str, count: int) -> None:
        """`count` canonical lines (joined by newlines) into the digest, after what is pending."""
        if self.pending is not None:
            self.pending()
        self._lines.append(lines)
        if len(self._lines) >= HASH_BATCH:
            self._flush()
        self.count += count

    def _flush(self) -> None:
        if self._lines:
            self._hash.update(("\n".join(self._lines) + "\n").encode())
            self._lines.clear()

    def hash_state(self) -> Any:
        """A copy of the running digest's state (for snapshots)."""
        self._flush()
        return self._hash.copy()

    def restore_hash(self, state: Any, count: int) -> None:
        self._lines.clear()
        self._hash = state.copy()
        self.count = count

    @property
    def digest(self) -> str:
        """SHA-256 over the canonical text of every record so far."""
        if self.pending is not None:
            self.pending()
        self._flush()
        return self._hash.hexdigest()

    def write_jsonl(self, path: Path, start: int = 0) -> None:
        """One JSON object a line: cycle, core, kind and the record's fields (records from `start` on)."""
        with path.open("w") as out:
            for cycle, core, kind, fields in self.records[start:]:
                out.write(json.dumps({"cycle": cycle, "core": core, "kind": kind, **fields}, sort_keys=True) + "\n")
