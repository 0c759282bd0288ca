"""Tar at the edges, bundles on the wire: sessions speak the bundle format (inside/bundle.py); everyone
else (the verifier, tests, users) hands over and receives tars. Conversions happen on the host, in
memory; a bundle read out of a session is hostile and parsed with bounds checks only."""

from __future__ import annotations

import io
import tarfile

from perpass.sandbox.inside.bundle import decode, encode


def tar_to_bundle(data: bytes) -> bytes:
    """Folders, files (the exec bit kept) and symlinks of a tar; anything else is left out."""
    entries = []
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
        for member in tar:
            if member.isdir():
                entries.append((b"d", member.name, b""))
            elif member.issym():
                entries.append((b"l", member.name, member.linkname.encode("utf-8", "surrogateescape")))
            elif member.isreg():
                handle = tar.extractfile(member)
                body = handle.read() if handle is not None else b""
                entries.append((b"x" if member.mode & 0o111 else b"f", member.name, body))
    return encode(entries)


def bundle_to_tar(data: bytes) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for kind, name, body in decode(data):
            member = tarfile.TarInfo(name)
            if kind == b"d":
                member.type, member.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(member)
            elif kind == b"l":
                member.type, member.linkname = tarfile.SYMTYPE, body.decode("utf-8", "surrogateescape")
                tar.addfile(member)
            else:
                member.size, member.mode = len(body), 0o755 if kind == b"x" else 0o644
                tar.addfile(member, io.BytesIO(body))
    return buffer.getvalue()
