"""The pexpect-style console: matching pauses the emulation exactly, timeouts are emulated time."""

from __future__ import annotations

import pexpect
import pytest

from bench.console import Console, ConsoleFailure
from tests.guest.build import assemble, machine

ECHO = r"""
    .thumb_func
    .global reset
reset:
    ldr r4, =0x40000000
    adr r5, hello
    bl puts
poll:
    ldr r1, [r4, #0x14]     @ LSR
    tst r1, #1              @ data ready?
    beq poll
    ldr r0, [r4]            @ RBR
    cmp r0, #'p'
    beq panic
    cmp r0, #'q'
    beq sleep
    cmp r0, #'a'
    blo 1f
    cmp r0, #'z'
    bhi 1f
    subs r0, r0, #32        @ upper case
1:  str r0, [r4]
    b poll
panic:
    adr r5, oops
    bl puts
    b .
sleep:
    cpsid i
    wfi
    b sleep
puts:
    ldrb r0, [r5], #1
    cbz r0, 2f
    str r0, [r4]
    b puts
2:  bx lr
    .align 2
hello: .asciz "hello\r\n"
    .align 2
oops: .asciz "PANIC: guest gave up\r\n"
    .align 2
    .ltorg
"""


@pytest.fixture
def console(tmp_path):
    built = machine(tmp_path, assemble(tmp_path, ECHO))
    uart = built.uart("uart")
    con = Console(built.machine, uart, log=tmp_path / "uart.log", failures=["PANIC"])
    yield con
    con.close()


def test_expect_pauses_on_the_matching_byte(console):
    assert console.expect([r"nothing", r"hel+o"]) == 1
    assert console.after == b"hello"
    assert console.uart.output == b"hello"  # nothing ran past the match
    console.expect_exact("\r\n")
    assert console.before == b""


def test_sendline_reaches_the_guest_and_echo_comes_back(console, tmp_path):
    console.expect_exact("hello\r\n")
    console.sendline("abc")
    console.expect_exact("ABC\r")
    console.close()
    assert (tmp_path / "uart.log").read_bytes() == b"hello\r\nABC\r"


def test_timeout_is_emulated_time(console):
    console.expect_exact("hello\r\n")
    start = console.machine.now()
    with pytest.raises(pexpect.TIMEOUT, match="emulated time"):
        console.expect("never", timeout=0.0005)
    elapsed = console.machine.now() - start
    assert 50_000 <= elapsed < 50_100  # 0.5 ms at 100 MHz, to the block
    assert console.expect([r"never", pexpect.TIMEOUT], timeout=0.0001) == 1


def test_failure_string_ends_the_wait_at_once(console):
    console.expect_exact("hello\r\n")
    console.send("p")
    with pytest.raises(ConsoleFailure, match="PANIC"):
        console.expect("never", timeout=1.0)
    assert console.machine.now() < 1_000_000  # it did not wait for the timeout


def test_eof_when_nothing_can_ever_happen(console):
    console.expect_exact("hello\r\n")
    console.send("q")
    with pytest.raises(pexpect.EOF, match="asleep in WFI"):
        console.expect("never", timeout=1.0)
