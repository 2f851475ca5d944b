"""Example suite for the amp-bench pytest plugin: the emulated LPC4337 as a device under test.

Run:  .venv/bin/pytest examples/pytest --junitxml=artifacts/pytest/junit.xml
      (add -n 2 to spread the tests over two processes; each boots its own machine)

Every test starts from the same snapshot of Linux booted on the M4 (the M0 firmware
is in /lib/firmware, the M0 held in reset); waits are in emulated time.
"""

from __future__ import annotations

import pytest


def test_linux_reports_the_remote_processor_offline(amp_rproc):
    assert amp_rproc.state == "offline"


def test_start_and_stop_the_m0_through_remoteproc(amp_rproc, amp_console):
    seen = amp_rproc.start()
    assert "remote processor 10080000.remoteproc is now up" in seen + amp_console.buffer.decode()
    assert amp_rproc.state == "running"
    amp_rproc.stop()
    assert amp_rproc.state == "offline"


@pytest.mark.parametrize("size", [1, 64, 496])
def test_rpmsg_echo_is_byte_exact(amp_rproc, amp_rpmsg, size):
    amp_rproc.start()
    result = amp_rpmsg.echo(size=size, count=20)
    assert result == {"messages": 20, "mismatches": 0, "splits": 0}


@pytest.mark.amp_fail_on("Unable to handle kernel", "Oops")
def test_the_agent_answers_on_the_console(amp_console):
    amp_console.sendline("echo hello from the bench")
    amp_console.expect_exact("hello from the bench\r\n", timeout=0.1)


@pytest.mark.amp_timeout(2.0)
def test_m0_crash_is_recovered(amp_linux, amp_rproc):
    amp_rproc.start()
    amp_linux.crash_m0_and_wait_for_recovery()
    assert amp_rproc.state == "running"


def test_kick_reaches_the_m0_isr_in_exact_cycles(amp_machine, amp_rproc, amp_rpmsg):
    """The engine's trace times the IPI: M4 SEV (the driver's kick) to the M0's IRQ 1 handler."""
    amp_rproc.start()
    first = len(amp_machine.trace.records)
    amp_rpmsg.echo(size=16, count=5)
    records = amp_machine.trace.records[first:]
    kicks = [cycle for cycle, core, kind, _ in records if core == "cpu_m4" and kind == "sev"]
    entries = [cycle for cycle, core, kind, f in records if core == "cpu_m0" and kind == "exc-entry" and f["exc"] == 17]
    latencies = [min(e for e in entries if e > k) - k for k in kicks]
    # SEV lands on the M0 one cycle later; it wakes from WFI and enters the handler (16 cycles).
    assert latencies and set(latencies) == {18}
