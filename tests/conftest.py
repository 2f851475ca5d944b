"""Shared fixtures: the platform file and the built firmware (make builds it before pytest)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.session import firmware_dir

ROOT = Path(__file__).resolve().parent.parent
PLATFORM = str(ROOT / "platforms" / "lpc4337.repl")


@pytest.fixture(scope="session")
def platform() -> str:
    return PLATFORM


@pytest.fixture(scope="session", autouse=True)
def _firmware_built() -> None:
    if not (firmware_dir() / "lpc4337" / "m4_ipi.elf").exists():
        pytest.fail("firmware not built: run `make test` (it builds firmware/ first)")
