"""Moving a core between its fast and precise Unicorn instances keeps every register.

Found by booting Linux with the M0 running: Unicorn drops CONTROL writes that regain
privilege in thread mode and reads banked stack pointers as 0 when unprivileged, so a
naive transfer lost the kernel's MSP after user space had run.
"""

from __future__ import annotations

import itertools

import pytest
from unicorn import UC_ARCH_ARM, UC_MODE_THUMB, Uc
from unicorn import arm_const as A

from bench.emu.cortexm import _load_registers, _save_registers
from bench.emu.registers import Registers


@pytest.fixture
def regs():
    uc = Uc(UC_ARCH_ARM, UC_MODE_THUMB)
    uc.ctl_set_cpu_model(A.UC_CPU_ARM_CORTEX_M4)
    return Registers(uc)


@pytest.mark.parametrize(("ipsr", "control", "previous"),
                         list(itertools.product((0, 11), (0, 1, 2, 3), ((0, 3), (11, 1), (0, 0)))))
def test_every_mode_and_privilege_round_trips(regs, ipsr, control, previous):
    start = _save_registers(regs, True)
    start[A.UC_ARM_REG_IPSR], start[A.UC_ARM_REG_CONTROL] = previous
    start[A.UC_ARM_REG_MSP], start[A.UC_ARM_REG_PSP] = 0x3000, 0x4000
    _load_registers(regs, start, True)  # leave the instance in another (maybe unprivileged) state

    want = dict(start)
    want.update({A.UC_ARM_REG_IPSR: ipsr, A.UC_ARM_REG_CONTROL: control, A.UC_ARM_REG_MSP: 0x1008,
                 A.UC_ARM_REG_PSP: 0x2010, A.UC_ARM_REG_R5: 0x55, A.UC_ARM_REG_LR: 0xFFFFFFFD})
    _load_registers(regs, want, True)
    got = _save_registers(regs, True)

    assert got[A.UC_ARM_REG_IPSR] == ipsr
    assert got[A.UC_ARM_REG_CONTROL] & 3 == (control & 1 if ipsr else control)  # handler mode: SPSEL 0
    assert (got[A.UC_ARM_REG_MSP], got[A.UC_ARM_REG_PSP]) == (0x1008, 0x2010)
    assert (got[A.UC_ARM_REG_R5], got[A.UC_ARM_REG_LR]) == (0x55, 0xFFFFFFFD)
    on_psp = ipsr == 0 and control & 2
    assert regs.get(A.UC_ARM_REG_SP) == (0x2010 if on_psp else 0x1008)
