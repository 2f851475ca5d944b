"""Mainline Linux 6.1 on the emulated M4: boot to the bench's init, drive it over the console."""

from __future__ import annotations

import json

from bench.cli import main


def test_boot_reaches_the_init_prompt(linux):
    text = linux.agent.console.log_path.read_text()  # the console log on disk, written as output arrives
    for line in ("Booting Linux on physical CPU", "Machine model: CIAA NXP LPC4337",
                 "clocksource: Switched to clocksource lpc3220 timer", "console [ttyS0] enabled",
                 "Run /init as init process", "amp-bench init ready"):
        assert line in text


def test_agent_commands(linux):
    assert linux.agent.run("echo hello from the bench") == "hello from the bench\n"
    assert linux.agent.run("cat /proc/version").startswith("Linux version 6.1")
    assert "errno 2" in linux.agent.run("cat /does/not/exist")
    assert "unknown command" in linux.agent.run("frobnicate")


def test_remoteproc_and_rpmsg_frameworks_are_in_the_kernel(linux):
    classes = linux.agent.run("ls /sys/class").split()
    assert "remoteproc" in classes and "rpmsg" in classes


def test_timer_interrupts_drive_the_kernel(linux):
    interrupts = linux.agent.run("cat /proc/interrupts")
    assert "lpc3220 clockevent" in interrupts and "ttyS0" in interrupts


def test_boot_cli_is_deterministic(tmp_path, capsys, platform):
    documents, logs = [], []
    for n in range(2):
        out = tmp_path / f"b{n}.json"
        assert main(["run", "boot", "--platform", platform, "--artifacts", str(tmp_path / f"a{n}"),
                     "--json", str(out)]) == 0
        documents.append(json.loads(out.read_text()))
        logs.append((tmp_path / f"a{n}" / "usart2.log").read_bytes())
    assert documents[0]["passed"] and documents[0]["boot_instructions"] > 10_000_000
    assert documents[0]["boot_instructions"] == documents[1]["boot_instructions"]
    assert documents[0]["trace_digest"] == documents[1]["trace_digest"]
    assert logs[0] == logs[1] and b"Run /init as init process" in logs[0]
