"""Folders in and out of a session as bundles: a plain list of entries, no tar parser inside the sandbox
(the supervisor starts faster without tarfile) and nothing that trusts either side's content.

A bundle is a sequence of entries: kind (1 byte: d folder, f file, x executable file, l symlink), path
length (u32), data length (u64), the path (UTF-8, relative), the data (file bytes or link target).
`pack` never follows a symlink and skips FIFOs, sockets and devices (reading a FIFO would block).
`unpack` writes only files, folders and symlinks, refuses absolute paths, `..` and any entry below a
symlink it created (a link to /etc followed by "link/passwd" must not write through the link), and stops
at a byte budget. The host converts to and from tar (perpass.sandbox.archive) for everyone else."""

from __future__ import annotations

import os
import stat
import struct

ENTRY = struct.Struct(">cIQ")


class UnsafeMember(ValueError):
    pass


def entries_of(root: str, budget: int, skip_top: tuple[str, ...] = ()):  # noqa: ANN201 - a generator
    """(kind, relative path, data) for every folder, file and link under root, sorted, links not followed."""
    total = 0
    for folder, dirs, files in os.walk(root):
        rel_folder = os.path.relpath(folder, root)
        if rel_folder == ".":
            dirs[:] = [d for d in dirs if d not in skip_top]
            files = [f for f in files if f not in skip_top]
        dirs.sort()
        for name in sorted(dirs) + sorted(files):
            path = os.path.join(folder, name)
            rel = os.path.normpath(os.path.join(rel_folder, name))
            try:
                info = os.lstat(path)
            except OSError:
                continue
            if stat.S_ISLNK(info.st_mode):
                yield b"l", rel, os.readlink(path).encode("utf-8", "surrogateescape")
            elif stat.S_ISDIR(info.st_mode):
                yield b"d", rel, b""
            elif stat.S_ISREG(info.st_mode):
                total += info.st_size
                if total > budget:
                    raise ValueError(f"more than {budget} bytes under {root}")
                try:
                    with open(path, "rb") as handle:
                        body = handle.read()
                except OSError:
                    continue  # unreadable (chmod 000 by the agent): left out, like what os.walk cannot list
                yield (b"x" if info.st_mode & 0o111 else b"f"), rel, body


def encode(entries) -> bytes:  # noqa: ANN001 - an iterable of (kind, path, data)
    parts = []
    for kind, rel, data in entries:
        path = rel.encode("utf-8", "surrogateescape")
        parts += [ENTRY.pack(kind, len(path), len(data)), path, data]
    return b"".join(parts)


def pack(root: str, budget: int, skip_top: tuple[str, ...] = ()) -> bytes:
    return encode(entries_of(root, budget, skip_top))


def decode(data: bytes):  # noqa: ANN201 - a generator of (kind, path, data)
    view, offset = memoryview(data), 0
    while offset < len(data):
        if offset + ENTRY.size > len(data):
            raise UnsafeMember("truncated bundle")
        kind, path_len, data_len = ENTRY.unpack_from(view, offset)
        offset += ENTRY.size
        end = offset + path_len + data_len
        if end > len(data):
            raise UnsafeMember("truncated bundle")
        path = bytes(view[offset:offset + path_len]).decode("utf-8", "surrogateescape")
        yield kind, path, bytes(view[offset + path_len:end])
        offset = end


def checked_path(name: str, links: set[str]) -> str:
    norm = os.path.normpath(name)
    if not name or os.path.isabs(name) or norm == ".." or norm.startswith("../") or "\x00" in name:
        raise UnsafeMember(f"unsafe path in bundle: {name!r}")
    parts = norm.split("/")
    for i in range(1, len(parts)):
        if "/".join(parts[:i]) in links:
            raise UnsafeMember(f"bundle entry {name!r} lies below a symlink")
    return norm


def unpack(data: bytes, dest: str, budget: int) -> int:
    """Unpack into dest (created if missing); returns the number of entries written."""
    os.makedirs(dest, exist_ok=True)
    links: set[str] = set()
    written = total = 0
    for kind, name, body in decode(data):
        rel = checked_path(name, links)
        if rel == ".":
            continue
        target = os.path.join(dest, rel)
        if kind == b"d":
            os.makedirs(target, exist_ok=True)
        elif kind == b"l":
            os.makedirs(os.path.dirname(target), exist_ok=True)
            if os.path.lexists(target):
                raise UnsafeMember(f"bundle entry {name!r} appears twice")
            os.symlink(body.decode("utf-8", "surrogateescape"), target)
            links.add(rel)
        elif kind in (b"f", b"x"):
            total += len(body)
            if total > budget:
                raise ValueError(f"bundle holds more than {budget} bytes")
            os.makedirs(os.path.dirname(target), exist_ok=True)
            flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW
            fd = os.open(target, flags, 0o755 if kind == b"x" else 0o644)
            with os.fdopen(fd, "wb") as out:
                out.write(body)
        else:
            raise UnsafeMember(f"unknown bundle entry kind {kind!r}")
        written += 1
    return written
