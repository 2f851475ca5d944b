"""Linux-side benchmark: boot, remoteproc cycles and RPMsg round trips per second.

Wall-clock figures of one run on this machine, next to the exact emulated
figures (instructions, cycles) that do not depend on the host.
"""

from __future__ import annotations

import tempfile
import time
from typing import Any

from bench.emu.snapshot import restore, take
from bench.scenarios.remoteproc import LinuxOptions, booted_linux


def run_linux_perf(platform: str, cycles: int = 100, messages: int = 200, size: int = 496) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        with booted_linux(LinuxOptions(platform, artifacts=tmp)) as linux:
            boot_wall = time.perf_counter() - start
            m4 = linux.session.built.core("cpu_m4")
            boot_instructions = m4.instructions
            snapshot = take(linux.session.machine)
            restore_s = min(restore(linux.session.machine, snapshot) for _ in range(3))

            start = time.perf_counter()
            for _ in range(cycles):
                linux.start_m0()
                linux.stop_m0()
            lifecycle_wall = time.perf_counter() - start

            linux.start_m0()
            start = time.perf_counter()
            out = linux.agent.run(f"rpmsg-echo /dev/rpmsg0 {size} {messages}", timeout=60.0)
            echo_wall = time.perf_counter() - start
            if f"messages {messages} mismatches 0" not in out:
                raise RuntimeError(f"echo failed during the benchmark: {out[-200:]!r}")
    document = {
        "boot": {"wall_s": round(boot_wall, 3), "instructions": boot_instructions,
                 "mips": round(boot_instructions / boot_wall / 1e6, 1)},
        "snapshot": {"take_s": round(snapshot.seconds_to_take, 4), "restore_s": round(restore_s, 4)},
        "rproc_lifecycle": {"cycles": cycles, "wall_s": round(lifecycle_wall, 3),
                            "cycles_per_s": round(cycles / lifecycle_wall, 2)},
        "rpmsg_echo": {"messages": messages, "size": size, "wall_s": round(echo_wall, 3),
                       "round_trips_per_s": round(messages / echo_wall, 1)},
    }
    print("Linux on the M4 (real kernel, driver, M0 firmware); wall figures of this run:")
    print(f"  boot to the agent's prompt   {boot_wall:6.2f} s   {boot_instructions} instructions "
          f"({document['boot']['mips']} MIPS)")
    print(f"  snapshot of the booted machine: take {snapshot.seconds_to_take:.3f} s, restore {restore_s:.3f} s")
    print(f"  remoteproc start+stop        {document['rproc_lifecycle']['cycles_per_s']:6.2f} cycles/s "
          f"({cycles} cycles in {lifecycle_wall:.2f} s)")
    print(f"  RPMsg echo {size} bytes        {document['rpmsg_echo']['round_trips_per_s']:6.1f} round trips/s "
          f"({messages} in {echo_wall:.2f} s)")
    return document
