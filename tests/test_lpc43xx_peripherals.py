"""LPC43xx peripheral models against the behaviour mainline Linux relies on."""

from __future__ import annotations

import pytest

from bench.platforms.builder import load_platform

MR0I, MR0R, MR0S = 1, 2, 4


@pytest.fixture
def built(platform):
    return load_platform(platform)


def test_timer_periodic_match_resets_every_mr_plus_one_ticks(built):
    machine, timer = built.machine, built.peripherals["timer1"]
    timer.write(None, 0x14, 4, MR0I | MR0R)
    timer.write(None, 0x18, 4, 999)
    timer.write(None, 0x04, 4, 2)  # counter reset
    timer.write(None, 0x04, 4, 1)  # enable
    machine.run(2_500)
    assert timer.read(None, 0x08, 4) == 500  # matches at 999 and 1999, back to 0 at 1000 and 2000
    assert timer.read(None, 0x00, 4) == 1  # MR0 interrupt flag
    assert built.core("cpu_m4").nvic.pending[16 + 13]  # TIMER1 -> IRQ 13 on the M4
    timer.write(None, 0x00, 4, 1)  # clear
    assert timer.read(None, 0x00, 4) == 0 and not built.core("cpu_m4").nvic.line_level[13]


def test_timer_oneshot_stops_on_match(built):
    machine, timer = built.machine, built.peripherals["timer1"]
    timer.write(None, 0x14, 4, MR0I | MR0R | MR0S)
    timer.write(None, 0x04, 4, 2)
    timer.write(None, 0x18, 4, 500)
    timer.write(None, 0x04, 4, 1)
    machine.run(400)
    assert timer.read(None, 0x00, 4) == 0 and timer.read(None, 0x08, 4) == 400
    machine.run(5_000)
    assert timer.read(None, 0x00, 4) == 1
    assert timer.read(None, 0x04, 4) & 1 == 0  # stopped
    assert timer.read(None, 0x08, 4) == 0  # and reset


def test_free_running_counter_is_virtual_time(built):
    machine, timer = built.machine, built.peripherals["timer0"]
    timer.write(None, 0x04, 4, 2)
    timer.write(None, 0x0C, 4, 1)  # prescale by 2
    timer.write(None, 0x04, 4, 1)
    machine.schedule(1_001, lambda: None)  # with every core in reset, only events move time
    machine.run(1_001)
    assert timer.read(None, 0x08, 4) == 500


def test_cgu_reports_pll1_locked_at_204mhz_and_ccu_mirrors_gates(built):
    cgu, ccu = built.peripherals["cgu"], built.peripherals["ccu1"]
    assert cgu.read(None, 0x40, 4) & 1 and cgu.read(None, 0x44, 4) == 0x061008C0
    assert cgu.read(None, 0x6C, 4) >> 24 == 0x09  # BASE_M4_CLK on PLL1
    assert ccu.read(None, 0x104, 4) & 1  # branch clocks run at reset
    ccu.write(None, 0x100, 4, 0)
    assert ccu.read(None, 0x104, 4) & 1 == 0
