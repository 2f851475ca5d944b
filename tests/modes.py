"""Run one scenario under each value of an engine switch (an environment variable), to compare."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bench.scenarios.ipi import IpiOptions, run_ipi


def ipi_in_modes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str, modes: tuple[str, ...],
                 platform: str, rounds: int, load: int, seed: int) -> dict[str, dict[str, Any]]:
    """The IPI ping-pong's result with `variable` set to each of `modes`, by mode."""
    results = {}
    for mode in modes:
        monkeypatch.setenv(variable, mode)
        results[mode] = run_ipi(IpiOptions(platform=platform, rounds=rounds, load=load, seed=seed,
                                           artifacts=str(tmp_path / mode)))
    return results
