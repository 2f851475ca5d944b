"""Probes: exact cycles of address probes, the probe file's checks, chain matching."""

from __future__ import annotations

import pytest

from bench.errors import BenchError
from bench.measure.probes import load_spec, match_chains
from tests.guest.build import assemble, machine, symbol

LOOP = """
    .thumb_func
    .global reset
reset:
    movs r0, #0             @ cycle 0
    movs r1, #3             @ 1
loop:
    adds r0, r0, #1         @ 2 + 5k
    nop
    .global target
target:
    nop                     @ 4 + 5k: the probe
    subs r1, r1, #1
    bne loop
    b .
"""


@pytest.mark.parametrize("precise", [False, True])
def test_address_probe_reports_the_exact_cycle_on_both_instances(tmp_path, precise):
    elf = assemble(tmp_path, LOOP)
    built = machine(tmp_path, elf)
    core = built.core("cpu")
    hits = []
    core.on_probe = lambda c, probe, cycle: hits.append((probe, cycle))
    core.set_probes([symbol(elf, "target")])
    core.run(60, precise=precise)
    core.drain_probes()
    assert hits == [(0, 4), (0, 9), (0, 14)]
    assert core.cycles == 60  # the split blocks still count every instruction once


@pytest.mark.parametrize("use_sites", [True, False], ids=["sites", "splits"])
def test_probe_set_in_code_already_run_is_reported(tmp_path, use_sites):
    """A probe inside a block that ran before the probe was set: what the block hook learnt of
    that block (its word, its cache entry) must not hide the probe."""
    elf = assemble(tmp_path, LOOP.replace("movs r1, #3", "movs r1, #6"))
    built = machine(tmp_path, elf)
    core = built.core("cpu")
    core.use_sites = use_sites
    hits = []
    core.on_probe = lambda c, probe, cycle: hits.append((probe, cycle))
    built.machine.run(12)  # two rounds of the loop, its blocks translated and known
    core.set_probes([symbol(elf, "target")])
    built.machine.run(40)
    core.drain_probes()
    assert hits == [(0, 14), (0, 19), (0, 24), (0, 29)]


def test_probes_off_leaves_counting_alone(tmp_path):
    elf = assemble(tmp_path, LOOP)
    built = machine(tmp_path, elf)
    core = built.core("cpu")
    core.set_probes([symbol(elf, "target")])
    core.set_probes([])
    built.machine.run(60)
    core.drain_probes()
    assert core.state.nhits == 0 and core.cycles >= 60


def _write(tmp_path, text: str):
    path = tmp_path / "p.toml"
    path.write_text(text)
    return path


GOOD = """
chain = ["a", "b"]
[points.a]
core = "cpu_m4"
event = "sev"
[points.b]
core = "cpu_m0"
event = "irq-entry"
irq = 1
[[sections]]
name = "ab"
from = "a"
to = "b"
"""


def test_the_shipped_probe_file_defines_the_studys_sections():
    spec = load_spec("probes/lpc4337-rpmsg-tty.toml")
    assert [spec.section(n).label for n in spec.paper_columns] == [
        "TTY-write", "TTY-read", "IPI to remote", "IPI to host", "Remote processing"]
    assert spec.section("round_trip").start == spec.chain[0] and spec.section("round_trip").end == spec.chain[-1]


@pytest.mark.parametrize("change, message", [
    (("event = \"sev\"\n[points.b]", "event = \"jump\"\n[points.b]"), "points.a.event"),
    (("irq = 1\n", ""), "needs `irq`"),
    (('chain = ["a", "b"]', 'chain = ["a", "c"]'), "point 'c' is not defined"),
    (('from = "a"\nto = "b"', 'from = "b"\nto = "a"'), "must come before"),
    (("[[sections]]", "[[sections]\n"), "p.toml: "),
])
def test_probe_file_mistakes_name_the_key(tmp_path, change, message):
    old, new = change
    assert old in GOOD
    with pytest.raises(BenchError, match=r"p\.toml") as info:
        load_spec(_write(tmp_path, GOOD.replace(old, new)))
    assert message in str(info.value)


def test_chain_matching_takes_the_first_of_each_point_in_time_order():
    a, b, c = 0, 1, 2
    hits = [
        (10, 0, a, 7), (15, 0, b, 0), (12, 1, b, 0), (30, 0, c, 7),  # 12 comes first: cores report late
        (40, 0, a, 7), (41, 0, c, 9),                                 # c from another thread: not ours
        (45, 0, b, 0), (50, 0, c, 7),
        (60, 0, a, 7), (61, 0, b, 0),                                 # incomplete: no sample
    ]
    assert match_chains(hits, [a, b, c], syscall_points={a, c}) == [(10, 12, 30), (40, 45, 50)]


INIT_PROBES = """
chain = ["call", "write"]
[points.call]
core = "cpu_m4"
event = "symbol"
image = "init"
symbol = "syscall3.isra.0"
[points.write]
core = "cpu_m4"
event = "syscall-entry"
syscall = 4
[[sections]]
name = "wrapper"
from = "call"
to = "write"
"""


def test_symbol_probes_resolve_in_the_init_where_the_kernel_loaded_it(tmp_path, linux):
    from bench.measure.probes import ProbeRecorder
    from bench.scenarios.boot import linux_inputs
    from bench.scenarios.campaign import probe_images, section_values
    from bench.session import firmware

    assert linux.init_offset is not None and linux.init_offset > 0x28000000  # loaded in SDRAM by the kernel
    kernel, _, _ = linux_inputs(None, None, None)
    spec = load_spec(_write(tmp_path, INIT_PROBES))
    recorder = ProbeRecorder(linux.session.machine, spec,
                             probe_images(linux, {"kernel": kernel, "m0-firmware": firmware("m0_rpmsg")}))
    try:
        linux.start_m0()
        recorder.clear()
        linux.agent.run("rpmsg-lat /dev/ttyRPMSG0 16 10 1")
        samples = recorder.samples()
    finally:
        recorder.detach()
    wrapper = section_values(spec, samples)["wrapper"]
    assert len(wrapper) >= 5  # the agent's write() calls that go through its (not inlined) syscall wrapper
    assert len(set(wrapper)) == 1 and 0 < wrapper[0] < 40  # the same few instructions, then SVC entry
