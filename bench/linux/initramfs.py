"""A deterministic initramfs (cpio "newc") holding the bench's init.

Why our own writer: the archive is a few entries, and building it in Python keeps
it byte-identical across runs and machines (mtime 0, uid/gid 0, fixed inode
numbers) without needing root for the /dev/console device node.
"""

from __future__ import annotations

from dataclasses import dataclass

S_IFDIR, S_IFREG, S_IFCHR = 0o040000, 0o100000, 0o020000


@dataclass(frozen=True)
class Entry:
    name: str
    mode: int
    data: bytes = b""
    rdev: tuple[int, int] = (0, 0)


def _pad4(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 4)


def newc(entries: list[Entry]) -> bytes:
    """Serialize entries as a cpio newc archive with its trailer."""
    out = bytearray()
    for ino, entry in enumerate([*entries, Entry("TRAILER!!!", 0)], start=1):
        name = entry.name.encode() + b"\0"
        fields = (ino, entry.mode, 0, 0, 2 if entry.mode & S_IFDIR else 1, 0, len(entry.data), 0, 0,
                  entry.rdev[0], entry.rdev[1], len(name), 0)
        header = b"070701" + b"".join(f"{field:08X}".encode() for field in fields)
        out += _pad4(header + name)
        out += _pad4(entry.data)
    return bytes(out)


def bench_initramfs(init: bytes, firmware: dict[str, bytes] | None = None) -> bytes:
    """/init (the bench's agent), /dev/console for its stdio, mount points, and
    /lib/firmware/<name> for each coprocessor image (where remoteproc looks for it)."""
    entries = [
        Entry("dev", S_IFDIR | 0o755),
        Entry("dev/console", S_IFCHR | 0o600, rdev=(5, 1)),
        Entry("proc", S_IFDIR | 0o555),
        Entry("sys", S_IFDIR | 0o555),
        Entry("lib", S_IFDIR | 0o755),
        Entry("lib/firmware", S_IFDIR | 0o755),
    ]
    entries += [Entry(f"lib/firmware/{name}", S_IFREG | 0o644, data) for name, data in sorted((firmware or {}).items())]
    entries.append(Entry("init", S_IFREG | 0o755, init))
    return newc(entries)
