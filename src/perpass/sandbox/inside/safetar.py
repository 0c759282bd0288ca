"""Tar in and out of a session without trusting either side's content.

`pack` never follows a symlink and skips FIFOs, sockets and devices (reading a FIFO would block).
`unpack` writes only regular files, folders and symlinks, refuses absolute paths, `..` and any member
below a symlink it created (a link to /etc followed by "link/passwd" must not write through the link),
and stops at a byte budget. It needs no tarfile filter (the task Python may predate them)."""

from __future__ import annotations

import io
import os
import stat
import tarfile


class UnsafeMember(ValueError):
    pass


def pack(root: str, budget: int, skip_top: tuple[str, ...] = ()) -> bytes:
    """A tar of the folder `root` (paths relative to it); ValueError past `budget` bytes of content."""
    buffer = io.BytesIO()
    total = 0
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
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
                if stat.S_ISDIR(info.st_mode):
                    if os.path.islink(path):
                        continue
                    member = tarfile.TarInfo(rel)
                    member.type, member.mode = tarfile.DIRTYPE, 0o755
                    tar.addfile(member)
                elif stat.S_ISLNK(info.st_mode):
                    member = tarfile.TarInfo(rel)
                    member.type, member.linkname = tarfile.SYMTYPE, os.readlink(path)
                    tar.addfile(member)
                elif stat.S_ISREG(info.st_mode):
                    total += info.st_size
                    if total > budget:
                        raise ValueError(f"more than {budget} bytes under {root}")
                    member = tarfile.TarInfo(rel)
                    member.size, member.mode = info.st_size, 0o755 if info.st_mode & 0o111 else 0o644
                    with open(path, "rb") as handle:
                        tar.addfile(member, handle)
    return buffer.getvalue()


def _checked_name(name: str, links: set[str]) -> str:
    norm = os.path.normpath(name)
    if os.path.isabs(name) or norm == ".." or norm.startswith("../") or "\x00" in name:
        raise UnsafeMember(f"unsafe path in archive: {name!r}")
    parts = norm.split("/")
    for i in range(1, len(parts)):
        if "/".join(parts[:i]) in links:
            raise UnsafeMember(f"archive member {name!r} lies below a symlink")
    return norm


def unpack(data: bytes, dest: str, budget: int) -> int:
    """Unpack into dest (created if missing); returns the number of members written."""
    os.makedirs(dest, exist_ok=True)
    links: set[str] = set()
    written = total = 0
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
        for member in tar:
            rel = _checked_name(member.name, links)
            if rel == ".":
                continue
            target = os.path.join(dest, rel)
            if member.isdir():
                os.makedirs(target, exist_ok=True)
            elif member.issym():
                os.makedirs(os.path.dirname(target), exist_ok=True)
                if os.path.lexists(target):
                    raise UnsafeMember(f"archive member {member.name!r} appears twice")
                os.symlink(member.linkname, target)
                links.add(rel)
            elif member.isreg():
                total += member.size
                if total > budget:
                    raise ValueError(f"archive holds more than {budget} bytes")
                os.makedirs(os.path.dirname(target), exist_ok=True)
                source = tar.extractfile(member)
                flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW
                fd = os.open(target, flags, 0o755 if member.mode & 0o111 else 0o644)
                with os.fdopen(fd, "wb") as out:
                    while chunk := source.read(1 << 20):
                        out.write(chunk)
            else:
                continue  # hard links, devices, FIFOs: never written
            written += 1
    return written
