"""The wire format between perpass and a session's supervisor: frames of a JSON header plus raw bytes.

A frame is 8 bytes (header length, payload length; big-endian), the header (a JSON object) and the
payload. Both sides use raw file descriptors; a short read means the peer is gone (EOFError)."""

from __future__ import annotations

import json
import os
import struct

PREFIX = struct.Struct(">II")
MAX_HEADER = 1 << 20


def write_frame(fd: int, header: dict, payload: bytes = b"") -> None:
    body = json.dumps(header, separators=(",", ":")).encode()
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
    header = json.loads(read_exact(fd, header_len))
    if not isinstance(header, dict):
        raise ValueError("frame header is not a JSON object")
    return header, read_exact(fd, payload_len) if payload_len else b""
