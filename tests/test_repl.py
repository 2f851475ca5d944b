"""Tests for the Renode platform-description (.repl) parser.

Why so many error cases: the parser's promise to users is that every broken
description ends as one ``file:line:column: message`` pointing at the
offending token, so each error test pins the exact prefix.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from bench.platforms.repl import (
    EMPTY,
    EnumValue,
    IrqConnection,
    Location,
    NewObject,
    Reference,
    ReplError,
    load_repl,
    parse_repl,
)


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def parse(text: str, filename: str = "t.repl"):
    return parse_repl(textwrap.dedent(text).lstrip("\n"), filename)


def raises_at(prefix: str, func, *args) -> ReplError:
    with pytest.raises(ReplError) as info:
        func(*args)
    assert str(info.value).startswith(prefix + ": "), str(info.value)
    return info.value


# --------------------------------------------------------------------------- a valid multi-core platform

MEMORIES = """
    // Memories shared by both cores (used without a prefix).
    flash: Memory.MappedMemory @ sysbus 0x08000000 { size: 0x100000 }

    sram: Memory.MappedMemory @ {
            sysbus 0x20000000;
            sysbus 0x30000000   // alias of the same RAM
        }
        size: 0x10000
"""

# Used with `prefixed "m0_"`: every name inside becomes m0_<name>, sysbus stays sysbus.
CORE = """
    cpu: CPU.CortexM @ sysbus
        cpuType: "cortex-m0+"
        cpuId: 1
        nvic: nvic

    nvic: IRQControllers.NVIC @ { sysbus new Bus.BusPointRegistration { address: 0xE000E000; cpu: cpu } }
        priorityMask: 0xC0
        -> cpu@0
"""

MAIN = """
    /* Dual-core test platform: a Cortex-M4 defined here and
       a Cortex-M0 taken from core.repl with a prefix. */
    using "memories.repl"
    using "core.repl" prefixed "m0_"

    cpu_m4: CPU.CortexM @ sysbus
        cpuType: "cortex-m4"
        cpuId: 0
        nvic: nvic_m4

    nvic_m4: IRQControllers.NVIC @ sysbus new Bus.BusPointRegistration {
            address: 0xE000E000;
            cpu: cpu_m4
        }
        priorityMask: 0xF0
        systickFrequency: 204_000_000
        IRQ -> cpu_m4@0

    uart0: UART.STM32_UART @ sysbus <0x40011000, +0x100>
        -> nvic_m4@26

    exti: IRQControllers.STM32F4_EXTI @ sysbus 0x40013C00
        numberOfOutputLines: 24
        [0-3] -> nvic_m4@[6-9]
        [4, 5] -> m0_nvic@[10, 11] | nvic_m4@[23, 23]
        [9-7] -> nvic_m4@[40-42]

    gpioPortA: GPIOPort.STM32_GPIOPort @ sysbus <0x40020000, +0x400>
        invertedAFPins: [[5, 3], [7, 1, 3]]
        [0-15] -> exti@[0-15]

    timer1: Timers.STM32_Timer @ sysbus 0x40010000
        frequency: 10000000
        0 -> gpioPortA#08@01 | gpioPortA#09@1

    // Updating entries: more RAM, a DMA interrupt for the UART and properties.
    sram:
        size: 0x20000

    uart0:
        DMA -> nvic_m4@30
        BaudRate: 115200

    sysbus:
        init:
            ApplySVD @https://example.com/svd/STM32F40x.svd.gz
            // a comment inside the monitor block
            Tag <0x40021000, 0x40021003> "GPIOE_MODER" 0xFFFFFFFF; Tag <0x0, 0x3> "A;B" 0x1
"""


@pytest.fixture
def multicore(tmp_path: Path) -> Path:
    write(tmp_path, "memories.repl", MEMORIES)
    write(tmp_path, "core.repl", CORE)
    return write(tmp_path, "main.repl", MAIN)


def test_multicore_entries_and_order(multicore: Path) -> None:
    platform = load_repl(multicore)
    directory = multicore.parent
    assert platform.files == [str(multicore), str(directory / "memories.repl"), str(directory / "core.repl")]
    # used files first (depth first, in 'using' order), then the file's own entries; sysbus last (first update)
    assert list(platform.entries) == [
        "flash",
        "sram",
        "m0_cpu",
        "m0_nvic",
        "cpu_m4",
        "nvic_m4",
        "uart0",
        "exti",
        "gpioPortA",
        "timer1",
        "sysbus",
    ]
    cpu = platform.entries["cpu_m4"]
    assert cpu.type == "CPU.CortexM"
    assert cpu.attributes == {"cpuType": "cortex-m4", "cpuId": 0, "nvic": Reference("nvic_m4", cpu.location)}
    assert [(r.target, r.address, r.size) for r in cpu.registrations] == [("sysbus", None, None)]
    assert cpu.location == Location(str(multicore), 6, 1)


def test_multicore_per_core_nvics(multicore: Path) -> None:
    platform = load_repl(multicore)
    for nvic, core in (("nvic_m4", "cpu_m4"), ("m0_nvic", "m0_cpu")):
        (registration,) = platform.entries[nvic].registrations
        assert registration.target == "sysbus"
        assert registration.address == 0xE000E000
        assert registration.size is None
        assert registration.point_type == "Bus.BusPointRegistration"
        assert registration.attributes["cpu"] == Reference(core, registration.location)
        assert isinstance(registration.point, NewObject)
    assert platform.entries["nvic_m4"].attributes["systickFrequency"] == 204_000_000
    assert platform.entries["m0_cpu"].attributes["nvic"].name == "m0_nvic"
    m0_irq = platform.entries["m0_nvic"].irqs
    assert [(c.source, c.destination, c.destination_line) for c in m0_irq] == [(None, "m0_cpu", 0)]
    assert m0_irq[0].location.file == str(multicore.parent / "core.repl")


def test_multicore_memories_and_update(multicore: Path) -> None:
    platform = load_repl(multicore)
    flash = platform.entries["flash"]
    assert [(r.address, r.size) for r in flash.registrations] == [(0x08000000, None)]
    assert flash.attributes == {"size": 0x100000}
    sram = platform.entries["sram"]
    assert [r.address for r in sram.registrations] == [0x20000000, 0x30000000]
    assert sram.attributes == {"size": 0x20000}  # the update in main.repl wins
    assert sram.location.file.endswith("memories.repl")
    assert [str(loc) for loc in sram.update_locations] == [f"{multicore}:37:1"]


def test_multicore_interrupts(multicore: Path) -> None:
    platform = load_repl(multicore)
    uart = platform.entries["uart0"]
    assert [(r.address, r.size) for r in uart.registrations] == [(0x40011000, 0x100)]
    assert [(c.source, c.destination, c.destination_line) for c in uart.irqs] == [
        (None, "nvic_m4", 26),
        ("DMA", "nvic_m4", 30),
    ]
    assert uart.attributes["BaudRate"] == 115200
    assert str(uart.irqs[0].location) == f"{multicore}:20:8"

    exti = [(c.source, c.destination, c.destination_line) for c in platform.entries["exti"].irqs]
    assert exti == [
        (0, "nvic_m4", 6),
        (1, "nvic_m4", 7),
        (2, "nvic_m4", 8),
        (3, "nvic_m4", 9),
        (4, "m0_nvic", 10),
        (5, "m0_nvic", 11),
        (4, "nvic_m4", 23),
        (5, "nvic_m4", 23),
        (9, "nvic_m4", 40),
        (8, "nvic_m4", 41),
        (7, "nvic_m4", 42),
    ]
    assert len(platform.entries["gpioPortA"].irqs) == 16
    assert platform.entries["gpioPortA"].attributes["invertedAFPins"] == [[5, 3], [7, 1, 3]]
    timer = platform.entries["timer1"].irqs
    assert [(c.source, c.destination, c.destination_index, c.destination_line) for c in timer] == [
        (0, "gpioPortA", 8, 1),
        (0, "gpioPortA", 9, 1),
    ]


def test_multicore_sysbus_init(multicore: Path) -> None:
    sysbus = load_repl(multicore).entries["sysbus"]
    assert sysbus.type is None
    assert sysbus.init == [
        "ApplySVD @https://example.com/svd/STM32F40x.svd.gz",
        'Tag <0x40021000, 0x40021003> "GPIOE_MODER" 0xFFFFFFFF',
        'Tag <0x0, 0x3> "A;B" 0x1',
    ]


def test_parse_repl_resolves_using_relative_to_filename(multicore: Path) -> None:
    platform = parse_repl(multicore.read_text(), str(multicore))
    assert "m0_cpu" in platform.entries
    platform.references_resolved()


# --------------------------------------------------------------------------- values, registrations, merging


def test_values() -> None:
    platform = parse(
        """
        dev: Misc.Device @ sysbus 0x1000
            negative: -5
            negativeHex: -0x10
            ratio: 1.5
            text: "say \\"hi\\" \\\\ bye"
            long: '''two
        lines \\''' quoted'''
            yes: true
            no: false
            endian: Endianess.BigEndian
            short: .GICv3
            span: <0x1000, +0x100>
            closed: <0x1000, 0x1fff>
            items: [1, "a", other, [2, 3], ]
            nothing: []
            point: new Point { x: 640; y: 480 }
            bare: new Some.Type
            unset: none
            default: empty
            other: other
        other: Misc.Device
        """
    )
    attributes = platform.entries["dev"].attributes
    assert attributes["negative"] == -5
    assert attributes["negativeHex"] == -16
    assert attributes["ratio"] == 1.5
    assert attributes["text"] == 'say "hi" \\ bye'
    assert attributes["long"] == "two\nlines ''' quoted"
    assert attributes["yes"] is True and attributes["no"] is False
    assert attributes["endian"] == EnumValue("Endianess.BigEndian")
    assert attributes["endian"].member == "BigEndian"
    assert attributes["short"] == EnumValue(".GICv3")
    assert attributes["span"] == (0x1000, 0x100)
    assert attributes["closed"] == (0x1000, 0xFFF)  # Renode: <begin, end> has size end - begin
    assert attributes["items"] == [1, "a", Reference("other", None), [2, 3]]  # type: ignore[arg-type]
    assert attributes["nothing"] == []
    assert attributes["point"] == NewObject("Point", {"x": 640, "y": 480})
    assert attributes["bare"] == NewObject("Some.Type", {})
    assert attributes["unset"] is None
    assert attributes["default"] is EMPTY
    assert isinstance(attributes["other"], Reference)
    assert str(attributes["other"].location) == "t.repl:20:12"


def test_one_line_entries_and_registration_forms() -> None:
    platform = parse(
        """
        cpu: CPU.CortexM @ sysbus { cpuType: "cortex-m33"; nvic: nvic; enableTrustZone: true; }
        nvic: IRQControllers.NVIC @ {
        sysbus new Bus.BusPointRegistration { address: 0xE000E000; cpu: cpu };
        sysbus new Bus.BusMultiRegistration { address: 0xE002E000; size: 0x1000; region: "NonSecure"; cpu: cpu }
        } {-> cpu@0}
        a: Memory.MappedMemory @ sysbus 0x0 { size: 0x1000 }; b: Memory.MappedMemory @ none
        semihosting: CPU.SemihostingHandler @ cpu
        uart: UART.X @ sysbus <0x100, +0x10> as "console"
        rng: Misc.Rng @ sysbus new Bus.BusRangeRegistration { range: <0x200, +0x20>; cpu: cpu }
        """
    )
    entries = platform.entries
    assert entries["cpu"].attributes == {
        "cpuType": "cortex-m33",
        "nvic": Reference("nvic", None),  # type: ignore[arg-type]
        "enableTrustZone": True,
    }
    point, multi = entries["nvic"].registrations
    assert (point.address, point.size, point.attributes["cpu"].name) == (0xE000E000, None, "cpu")
    assert (multi.address, multi.size, multi.attributes["region"]) == (0xE002E000, 0x1000, "NonSecure")
    assert multi.point_type == "Bus.BusMultiRegistration"
    assert [c.destination for c in entries["nvic"].irqs] == ["cpu"]
    assert [(r.address, r.size) for r in entries["a"].registrations] == [(0, None)]
    assert entries["b"].registrations == []
    assert [(r.target, r.address) for r in entries["semihosting"].registrations] == [("cpu", None)]
    assert entries["uart"].alias == "console"
    assert [(r.address, r.size) for r in entries["rng"].registrations] == [(0x200, 0x20)]
    platform.references_resolved()


def test_updates_merge_irqs_init_and_registration() -> None:
    platform = parse(
        """
        dev: Misc.Device @ sysbus 0x1000
            a: 1
            b: 2
            IRQ -> nvic@1
            Other -> nvic@2
            init:
                first
                second
            reset:
                r1
        nvic: IRQControllers.NVIC @ sysbus 0xE000E000
        dev: @ sysbus <0x2000, +0x10>
            b: 3
            IRQ -> nvic@5 | nvic@6
            Other -> none
            init add:
                third
            reset: { r2; r3 }
        dev:
            init:
                only
        """
    )
    dev = platform.entries["dev"]
    assert dev.attributes == {"a": 1, "b": 3}
    assert [(c.source, c.destination_line) for c in dev.irqs] == [("IRQ", 5), ("IRQ", 6)]
    assert dev.init == ["only"]
    assert dev.reset == ["r2", "r3"]
    assert [(r.address, r.size) for r in dev.registrations] == [(0x2000, 0x10)]
    assert [loc.line for loc in dev.update_locations] == [12, 19]
    assert list(platform.entries) == ["dev", "nvic"]


def test_update_before_create_and_init_add() -> None:
    platform = parse(
        """
        dev:
            size: 1
            init add:
                a
        dev: Misc.Device
            size: 2
            init add: { b; c }
        """
    )
    dev = platform.entries["dev"]
    assert dev.type == "Misc.Device"
    assert dev.attributes == {"size": 2}
    assert dev.init == ["a", "b", "c"]
    assert dev.location.line == 5


def test_block_comments_and_blank_lines() -> None:
    platform = parse(
        """

        /* leading
           comment */
        a: Misc.Device // trailing
            /* alone on a line */

            x: 1 /* inline */ // and more
        /* between
        entries */
        b: Misc.Device { y: /* inside braces */ 2 }
        """
    )
    assert platform.entries["a"].attributes == {"x": 1}
    assert platform.entries["b"].attributes == {"y": 2}


def test_crlf_and_bom() -> None:
    platform = parse_repl("\ufeffa: Misc.Device @ sysbus 0x10\r\n    size: 4\r\n", "w.repl")
    assert platform.entries["a"].attributes == {"size": 4}


def test_irq_forms() -> None:
    platform = parse(
        """
        nvic: IRQControllers.NVIC @ sysbus 0xE000E000
        gic: IRQControllers.GIC @ sysbus 0x1000
        dev: Misc.Device
            IRQ->nvic@35
            [TriggerInterrupt, CommutationInterrupt] -> nvic@[26, 26]
            [0-7] -> nvic@[11-17,47]
            0x10 -> gic#2@0x20
        """
    )
    irqs = platform.entries["dev"].irqs
    assert irqs[0] == IrqConnection("IRQ", "nvic", 35, None)  # type: ignore[arg-type]
    assert [(c.source, c.destination_line) for c in irqs[1:3]] == [
        ("TriggerInterrupt", 26),
        ("CommutationInterrupt", 26),
    ]
    assert [(c.source, c.destination_line) for c in irqs[3:11]] == [
        (0, 11),
        (1, 12),
        (2, 13),
        (3, 14),
        (4, 15),
        (5, 16),
        (6, 17),
        (7, 47),
    ]
    assert (irqs[11].source, irqs[11].destination, irqs[11].destination_index, irqs[11].destination_line) == (
        16,
        "gic",
        2,
        32,
    )


def test_local_entries_are_file_private(tmp_path: Path) -> None:
    write(tmp_path, "inner.repl", "local helper: Misc.Device\n    x: 1\nuser: Misc.Device\n    peer: helper\n")
    main = write(tmp_path, "main.repl", 'using "inner.repl"\nother: Misc.Device\n    peer: helper\n')
    error = raises_at(f"{main}:3:11", load_repl, main)
    assert "local to" in error.message
    write(tmp_path, "ok.repl", 'using "inner.repl"\n')
    assert load_repl(tmp_path / "ok.repl").entries["helper"].local


def test_search_paths(tmp_path: Path) -> None:
    cpus = tmp_path / "renode" / "platforms" / "cpus"
    cpus.mkdir(parents=True)
    write(cpus, "chip.repl", "cpu: CPU.CortexM @ sysbus\n")
    main = write(tmp_path, "board.repl", 'using "platforms/cpus/chip.repl"\ncpu:\n    cpuType: "cortex-m4"\n')
    platform = load_repl(main, search_paths=[tmp_path / "renode"])
    assert platform.entries["cpu"].attributes == {"cpuType": "cortex-m4"}


def test_location_and_error_strings() -> None:
    location = Location("a.repl", 3, 7)
    assert str(location) == "a.repl:3:7"
    error = ReplError("expected ':'", location)
    assert str(error) == "a.repl:3:7: expected ':'"
    assert error.location == location and error.message == "expected ':'"


# --------------------------------------------------------------------------- malformed input

SYNTAX_ERRORS = [
    # (name, source, line:column, words in the message)
    ("indent not a multiple of 4", "uart: UART.X @ sysbus 0x1000\n   size: 1\n", "2:4", "multiple of 4"),
    ("indent two levels", "uart: UART.X @ sysbus 0x1000\n        size: 1\n", "2:9", "at most 4 spaces"),
    ("first line indented", "    uart: UART.X\n", "1:5", "first line"),
    ("tab indentation", "uart: UART.X\n\tsize: 1\n", "2:1", "tab"),
    ("missing colon after name", "uart UART.X @ sysbus 0x1000\n", "1:6", "expected ':' after entry name 'uart'"),
    ("missing colon after property", "uart: UART.X\n    size 0x100\n", "2:10", "expected ':' after property name"),
    ("missing value", "uart: UART.X\n    size:\n", "2:10", "expected a value for 'size', found end of line"),
    ("unterminated string", 'cpu: CPU.X\n    cpuType: "cortex-m4\n', "2:14", "unterminated string"),
    ("bad escape", 'cpu: CPU.X\n    cpuType: "a\\qb"\n', "2:16", "escape"),
    ("unterminated block comment", "a: X\n\n/* never\nclosed\n", "3:1", "unterminated block comment"),
    ("comment not ending the line", "a: X /* two\nlines */ b: Y\n", "2:10", "end of a line"),
    ("bad hex number", "mem: M.X @ sysbus 0x1000\n    size: 0x10G0\n", "2:11", "invalid number '0x10G0'"),
    ("bad decimal number", "mem: M.X\n    size: 12ab\n", "2:11", "invalid number '12ab'"),
    ("empty hex number", "mem: M.X @ sysbus 0x\n", "1:19", "invalid number '0x'"),
    ("garbage after value", "mem: M.X\n    size: 0x1000 0x2000\n", "2:18", "expected end of line after the attribute"),
    ("garbage after entry", "mem: M.X @ sysbus 0x1000 junk\n", "1:26", "after the entry"),
    ("garbage in braces", "mem: M.X { size: 1 2 }\n", "1:20", "expected ';' or '}'"),
    ("unclosed brace", "mem: M.X { size: 1\n", "1:19", "'}' to close the '{' at t.repl:1:10"),
    ("stray closing brace", "mem: M.X }\n", "1:10", "without a matching"),
    ("unexpected character", "mem: M.X\n    size: $x\n", "2:11", "unexpected character '$'"),
    ("range end before start", "mem: M.X @ sysbus <0x2000, 0x1000>\n", "1:28", "before its start"),
    ("range with negative", "mem: M.X @ sysbus <-1, +2>\n", "1:20", "range start"),
    ("irq arity", "n: N.X\nd: D.X\n    [0-3] -> n@[1, 2]\n", "3:14", "4 source(s) but 2"),
    ("irq missing at", "n: N.X\nd: D.X\n    -> n 5\n", "3:10", "'@'"),
    ("irq same range ends", "n: N.X\nd: D.X\n    [3-3] -> n@[1]\n", "3:8", "other than 3"),
    ("using after entries", 'a: X\nusing "b.repl"\n', "2:1", "before all other entries"),
    ("empty entry", "a:\nb: X\n", "1:1", "is empty"),
    ("keyword as name", "none: X\n", "1:1", "expected an entry name, found keyword 'none'"),
    ("init without block", "a: X\n    init:\nb: Y\n", "2:9", "indented block of monitor statements"),
    ("init inline text", "a: X\n    init: foo\n", "2:11", "expected '{'"),
    ("init unterminated braces", "a: X\n    init: { foo\n", "2:11", "unterminated monitor block"),
    ("init over-indented", "a: X\n    init:\n        ok\n            deeper\n", "4:13", "unexpected indentation"),
    ("empty registration list", "a: X @ { }\n", "1:8", "empty registration list"),
    ("builtin created", "sysbus: Bus.X\n", "1:1", "provided by the machine"),
]


@pytest.mark.parametrize(
    ("source", "where", "words"), [case[1:] for case in SYNTAX_ERRORS], ids=[case[0] for case in SYNTAX_ERRORS]
)
def test_syntax_errors(source: str, where: str, words: str) -> None:
    error = raises_at(f"t.repl:{where}", parse_repl, source, "t.repl")
    assert words in error.message


def test_unknown_reference(tmp_path: Path) -> None:
    main = write(
        tmp_path,
        "main.repl",
        """
        nvic_m4: IRQControllers.NVIC @ sysbus 0xE000E000
        cpu: CPU.CortexM @ sysbus
            nvic: nvic_m5
        """,
    )
    error = raises_at(f"{main}:3:11", load_repl, main)
    assert "unknown entry 'nvic_m5'" in error.message and "nvic_m4" in error.message
    parse_repl(main.read_text(), str(main))  # parsing alone does not check references


@pytest.mark.parametrize(
    ("source", "where"),
    [
        ("uart: U.X @ sysbus 0x1\n    -> nvic@3\n", "2:8"),  # interrupt destination
        ("uart: U.X @ bus2 0x1\n", "1:13"),  # registration target
        ("n: N.X @ sysbus new Bus.BusPointRegistration { address: 0x0; cpu: cpu9 }\n", "1:67"),  # inside the point
        ("d: D.X\n    list: [d, new P { peer: ghost }]\n", "2:29"),  # inside a list and an object
    ],
)
def test_unknown_reference_kinds(tmp_path: Path, source: str, where: str) -> None:
    main = write(tmp_path, "main.repl", source)
    raises_at(f"{main}:{where}", load_repl, main)


def test_duplicate_creating_entry() -> None:
    error = raises_at("t.repl:4:1", parse_repl, "cpu: CPU.X @ sysbus\n    a: 1\n\ncpu: CPU.Y\n", "t.repl")
    assert "already created at t.repl:1:1" in error.message


def test_duplicate_creating_entry_across_files(tmp_path: Path) -> None:
    write(tmp_path, "inner.repl", "cpu: CPU.X\n")
    main = write(tmp_path, "main.repl", 'using "inner.repl"\ncpu: CPU.Y\n')
    raises_at(f"{main}:2:1", load_repl, main)


def test_update_of_unknown_entry() -> None:
    error = raises_at("t.repl:3:1", parse_repl, "cpu: CPU.X\n\nghost:\n    size: 1\n", "t.repl")
    assert "'ghost'" in error.message and "never created" in error.message


def test_include_cycle(tmp_path: Path) -> None:
    a = write(tmp_path, "a.repl", 'using "b.repl"\nx: X\n')
    b = write(tmp_path, "b.repl", '// b uses a back\nusing "a.repl"\ny: Y\n')
    error = raises_at(f"{b}:2:7", load_repl, a)
    assert error.message == f"include cycle: {a} -> {b} -> {a}"


def test_include_of_itself(tmp_path: Path) -> None:
    a = write(tmp_path, "a.repl", 'using "./a.repl"\n')
    raises_at(f"{a}:1:7", load_repl, a)


def test_missing_include(tmp_path: Path) -> None:
    main = write(tmp_path, "main.repl", 'using "nope.repl" prefixed "x_"\n')
    error = raises_at(f"{main}:1:7", load_repl, main)
    assert "'nope.repl' not found" in error.message and str(tmp_path / "nope.repl") in error.message


def test_duplicate_using(tmp_path: Path) -> None:
    write(tmp_path, "b.repl", "x: X\n")
    main = write(tmp_path, "main.repl", 'using "b.repl"\nusing "b.repl"\n')
    raises_at(f"{main}:2:7", load_repl, main)


def test_same_file_with_two_prefixes(tmp_path: Path) -> None:
    write(tmp_path, "core.repl", CORE)
    main = write(tmp_path, "main.repl", 'using "core.repl" prefixed "a_"\nusing "core.repl" prefixed "b_"\n')
    platform = load_repl(main)
    assert list(platform.entries) == ["a_cpu", "a_nvic", "b_cpu", "b_nvic"]
    assert platform.entries["b_nvic"].registrations[0].attributes["cpu"].name == "b_cpu"


def test_error_in_included_file_names_that_file(tmp_path: Path) -> None:
    inner = write(tmp_path, "inner.repl", "ok: X\nbroken X\n")
    main = write(tmp_path, "main.repl", 'using "inner.repl"\n')
    raises_at(f"{inner}:2:8", load_repl, main)


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.repl"
    error = raises_at(f"{path}:1:1", load_repl, path)
    assert str(path) in error.message


def test_invalid_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.repl"
    path.write_bytes(b'a: X\n    name: "caf\xe9"\n')
    raises_at(f"{path}:2:15", load_repl, path)


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    source = "a: X\n    v: " + "[" * 500 + "]" * 500 + "\n"
    error = raises_at("t.repl:2:108", parse_repl, source, "t.repl")
    assert "nested" in error.message


# Constructs copied in spirit from Renode's own platforms/cpus/stm32f4.repl.
UPSTREAM_STYLE = """
flash_controller: MTD.STM32F4_FlashController @ {
        sysbus 0x40023C00;
        sysbus new Bus.BusMultiRegistration { address: 0x1FFFC000; size: 0x100; region: "optionBytes" }
    }
    flash: flash

flash: Memory.MappedMemory @ sysbus 0x08000000
    size: 0x200000

nvic: IRQControllers.NVIC @ sysbus 0xE000E000
    priorityMask: 0xF0
    systickFrequency: 72000000
    IRQ -> cpu@0

cpu: CPU.CortexM @ sysbus
    cpuType: "cortex-m4"
    nvic: nvic

crc: CRC.STM32_CRC @ sysbus 0x40023000
    series: STM32Series.F4

nvicInput23: Miscellaneous.CombinedInput @ none
    numberOfInputs: 5
    -> nvic@23

dma1: DMA.STM32DMA @ sysbus 0x40026000
    [0-7] -> nvic@[11-17,47]

spi2: SPI.STM32SPI @ sysbus 0x40003800
    IRQ->nvic@36
    DMAReceive->dma1@3

timer1: Timers.STM32_Timer @ sysbus 0x40010000
    [TriggerInterrupt, CommutationInterrupt] -> nvic@[26, 26]
    frequency: 10000000

gpioPortA: GPIOPort.STM32_GPIOPort @ sysbus <0x40020000, +0x400>
    invertedAFPins: [[5, 3], [7, 1, 3]]
    [0-4] -> nvicInput23@[0-4]

timer1:
    0 -> gpioPortA#08@01 | gpioPortA#07@01

sysbus:
    init:
        ApplySVD @https://dl.antmicro.com/projects/renode/svd/STM32F40x.svd.gz
        // FLASH and USB tags are required for CubeMX-based projects
        Tag <0x50000010, 0x5000003f> "USB:RESET" 0x80000000
"""


def test_upstream_style_file() -> None:
    platform = parse_repl(UPSTREAM_STYLE.lstrip("\n"), "stm32f4.repl")
    platform.references_resolved()
    controller = platform.entries["flash_controller"]
    assert [(r.address, r.size) for r in controller.registrations] == [(0x40023C00, None), (0x1FFFC000, 0x100)]
    assert controller.attributes == {"flash": Reference("flash", None)}  # type: ignore[arg-type]
    assert platform.entries["crc"].attributes["series"] == EnumValue("STM32Series.F4")
    assert platform.entries["nvicInput23"].registrations == []
    assert [c.destination_line for c in platform.entries["dma1"].irqs] == [11, 12, 13, 14, 15, 16, 17, 47]
    spi2 = platform.entries["spi2"].irqs
    assert [(c.source, c.destination) for c in spi2] == [("IRQ", "nvic"), ("DMAReceive", "dma1")]
    timer = platform.entries["timer1"]
    assert [c.source for c in timer.irqs] == ["TriggerInterrupt", "CommutationInterrupt", 0, 0]
    assert platform.entries["sysbus"].init[1] == 'Tag <0x50000010, 0x5000003f> "USB:RESET" 0x80000000'


def test_broken_variants_raise_only_repl_errors() -> None:
    """Cutting or dropping lines anywhere must give a ReplError or a platform, never another exception."""
    lines = UPSTREAM_STYLE.lstrip("\n").splitlines(keepends=True)
    for index in range(len(lines)):
        cut = "".join(lines[:index]) + lines[index][: len(lines[index]) // 2]
        dropped = "".join(lines[:index] + lines[index + 1 :])
        for text in (cut, dropped):
            try:
                parse_repl(text, "cut.repl")
            except ReplError as error:
                assert str(error).startswith("cut.repl:")
