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


@pytest.fixture(scope="session")
def linux_booted(tmp_path_factory, platform):
    """Linux booted once for the whole session (with the M0 firmware in /lib/firmware) and a
    snapshot of that instant: boot once, test many."""
    from bench.emu.snapshot import take
    from bench.scenarios.remoteproc import LinuxOptions, booted_linux

    with booted_linux(LinuxOptions(platform, artifacts=str(tmp_path_factory.mktemp("linux")))) as linux:
        yield linux, take(linux.session.machine)


@pytest.fixture
def linux(linux_booted):
    """The booted machine, restored to just after boot for this test."""
    machine, snapshot = linux_booted
    machine.restore(snapshot)
    return machine


@pytest.fixture(scope="session", autouse=True)
def _firmware_built() -> None:
    if not (firmware_dir() / "lpc4337" / "m4_ipi.elf").exists():
        pytest.fail("firmware not built: run `make test` (it builds firmware/ first)")
