"""The wire format between perpass and a session's supervisor: frames of a header plus raw bytes.

A frame is 8 bytes (header length, payload length; big-endian), the header (a `marshal`-encoded dict of
str, int, float, bool and None: the supervisor starts faster without json's imports) and the payload.
Both sides use raw file descriptors; a short read means the peer is gone (EOFError). Only perpass's own
code writes headers (the supervisor's reply fields are numbers and its own messages; what commands print
travels in the payload, never in a header)."""

from __future__ import annotations

import marshal
import os
import struct

PREFIX = struct.Struct(">II")
MAX_HEADER = 1 << 20


def write_frame(fd: int, header: dict, payload: bytes = b"") -> None:
    body = marshal.dumps(header)
    data = memoryview(PREFIX.pack(len(body), len(payload)) + body + payload)
    while data:
        written = os.write(fd, data)
        data = data[written:]


def read_exact(fd: int, size: int) -> bytes:
    chunks = []
    while size:
        chunk = os.read(fd, min(size, 1 << 20))
        if not chunk:
            raise EOFError("the other side closed the channel")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def read_frame(fd: int, max_payload: int) -> tuple[dict, bytes]:
    """One frame; ValueError when it breaks the format or a limit (the peer is then not trusted)."""
    header_len, payload_len = PREFIX.unpack(read_exact(fd, PREFIX.size))
    if header_len > MAX_HEADER or payload_len > max_payload:
        raise ValueError(f"frame too large: header {header_len} B, payload {payload_len} B")
    try:
        header = marshal.loads(read_exact(fd, header_len))
    except (EOFError, TypeError) as exc:
        raise ValueError(f"unreadable frame header: {exc}") from None
    if not isinstance(header, dict):
        raise ValueError("frame header is not a dict")
    return header, read_exact(fd, payload_len) if payload_len else b""
