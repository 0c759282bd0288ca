"""The result channel: sealed JSON records on a pipe the session's supervisor reads as they arrive.

A record is one line `JSON<TAB>HMAC-SHA256(key, JSON)`; every record carries a sequence number.
The key reaches the test process in a file it deletes before any repository code is imported,
so the tested code can write to the pipe (if it finds the descriptor) but cannot produce a record
the host accepts: a line that does not verify, or a gap in the sequence, makes the run `tampered`.
The host imports this module for `unseal`, so the format has one definition.

Lines stay under PIPE_BUF, so each os.write is atomic: a kill can lose a record, never cut one.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import threading
from typing import Any

MAX_LINE = 4000  # < PIPE_BUF (4096): atomic writes on a pipe
FIELD_CAPS = (1000, 300, 80)  # string fields are cut to these lengths in turn until the line fits


def seal(key: bytes, record: dict[str, Any]) -> bytes:
    body = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    mac = hmac.new(key, body.encode(), hashlib.sha256).hexdigest()
    return f"{body}\t{mac}\n".encode()


def unseal(key: bytes, line: bytes) -> dict[str, Any] | None:
    """The record of one line (without its newline), or None when the line was not sealed with key."""
    body, tab, mac = line.rpartition(b"\t")
    if not tab:
        return None
    expected = hmac.new(key, body, hashlib.sha256).hexdigest().encode()
    if not hmac.compare_digest(expected, mac):
        return None
    try:
        record = json.loads(body)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


def shrunk(value: Any, cap: int) -> Any:
    if isinstance(value, str):
        return value[:cap]
    if isinstance(value, list):
        return [shrunk(item, cap) for item in value[: max(1, cap // 50)]]
    return value


def fitted(record: dict[str, Any], key: bytes) -> bytes:
    line = seal(key, record)
    for cap in FIELD_CAPS:
        if len(line) <= MAX_LINE:
            return line
        line = seal(key, {k: shrunk(v, cap) for k, v in record.items()})
    if len(line) > MAX_LINE:
        line = seal(key, {"seq": record["seq"], "kind": record["kind"], "cut": True})
    return line


class Channel:
    """Writes sealed records to a private descriptor; a forked child closes it (register_at_fork)."""

    def __init__(self, fd: int, key: bytes) -> None:
        self.fd: int | None = fd
        self.key = key
        self.seq = 0
        self.lock = threading.RLock()  # re-entrant: an audit event may fire inside send
        os.register_at_fork(after_in_child=self.close)

    def send(self, kind: str, **fields: Any) -> None:
        with self.lock:
            if self.fd is None:
                return
            line = fitted({"seq": self.seq, "kind": kind, **fields}, self.key)
            try:
                os.write(self.fd, line)
            except OSError:
                return  # the reader is gone: what follows is lost anyway
            self.seq += 1

    def close(self) -> None:
        fd, self.fd = self.fd, None
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass


def private_channel(key: bytes, inherited_fd: int = 3) -> Channel | None:
    """Move the inherited channel (fd 3) to a close-on-exec descriptor and close 3, so no child
    process inherits it and no code finds it at the well-known number."""
    try:
        fd = os.dup(inherited_fd)  # os.dup makes a non-inheritable (O_CLOEXEC) descriptor
    except OSError:
        return None
    os.close(inherited_fd)
    return Channel(fd, key)
