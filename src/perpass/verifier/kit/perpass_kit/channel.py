"""The result channel: sealed JSON records on a pipe the session's supervisor reads as they arrive.

A record is one line `JSON<TAB>HMAC-SHA256(key, JSON)`; every record carries a sequence number.
The key reaches the test process in a file it deletes before any repository code is imported,
so the tested code can write to the pipe (if it finds the descriptor) but cannot produce a record
the host accepts: a line that does not verify, or a gap in the sequence, makes the run `tampered`.

Encoding and sealing use only references taken when this module is imported, before any
repository code runs: the C functions os.write and hashlib.sha256, the builtin types, and a small
JSON encoder of our own. A repository that rebinds json.dumps, hmac.new, os.write or a builtin
changes nothing here. The key itself is not kept: only the two SHA-256 states HMAC starts from.

The host imports this module for `unseal`, so the format has one definition. Lines stay under
PIPE_BUF, so each write is atomic: a kill can lose a record, never cut one.
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

# Taken now, before any repository import; a later rebinding of the module attributes or builtins
# does not reach the functions below (they take these as default arguments).
_write, _sha256, _type, _ord, _sorted, _str, _len = os.write, hashlib.sha256, type, ord, sorted, str, len
_int_repr, _float_repr = int.__repr__, float.__repr__
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(text: str, _ord: Any = _ord, _escapes: dict[str, str] = _ESCAPES) -> str:
    out = []
    for char in text:
        code = _ord(char)
        if char in _escapes:
            out.append(_escapes[char])
        elif 0x20 <= code < 0x7F:
            out.append(char)
        elif code <= 0xFFFF:
            out.append(f"\\u{code:04x}")
        else:  # a surrogate pair, as JSON wants it
            code -= 0x10000
            out.append(f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}")
    return "".join(out)


def encode(value: Any, _type: Any = _type, _sorted: Any = _sorted, _str: Any = _str, _int_repr: Any = _int_repr,
           _float_repr: Any = _float_repr, _escape: Any = _escape) -> str:
    """Compact JSON (sorted keys, ASCII) of None/bool/int/float/str/list/tuple/dict values."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    kind = _type(value)
    if kind is int:
        return _int_repr(value)
    if kind is float:
        text = _float_repr(value)
        return text if text not in ("nan", "inf", "-inf") else "null"
    if kind is list or kind is tuple:
        return "[" + ",".join([encode(item) for item in value]) + "]"
    if kind is dict:
        return "{" + ",".join([encode(_str(k)) + ":" + encode(v) for k, v in _sorted(value.items())]) + "}"
    return '"' + _escape(value if kind is str else _str(value)) + '"'


class Sealer:
    """HMAC-SHA256 from the two pre-keyed SHA-256 states; the key bytes are dropped."""

    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes) -> None:
        block = (key if len(key) <= 64 else hashlib.sha256(key).digest()).ljust(64, b"\0")
        self._inner = _sha256(bytes(b ^ 0x36 for b in block))
        self._outer = _sha256(bytes(b ^ 0x5C for b in block))

    def mac(self, body: bytes) -> str:
        inner = self._inner.copy()
        inner.update(body)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()


def seal(sealer: Sealer, record: dict[str, Any], _encode: Any = encode) -> bytes:
    body = _encode(record).encode("ascii")
    return body + b"\t" + sealer.mac(body).encode("ascii") + b"\n"


def unseal(key: bytes, line: bytes) -> dict[str, Any] | None:
    """The record of one line (without its newline), or None when the line was not sealed with key.
    Runs on the host."""
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


def fitted(sealer: Sealer, record: dict[str, Any], _seal: Any = seal, _len: Any = _len) -> bytes:
    line = _seal(sealer, record)
    for cap in FIELD_CAPS:
        if _len(line) <= MAX_LINE:
            return line
        line = _seal(sealer, {k: shrunk(v, cap) for k, v in record.items()})
    if _len(line) > MAX_LINE:
        line = _seal(sealer, {"seq": record["seq"], "kind": record["kind"], "cut": True})
    return line


class Channel:
    """Writes sealed records to a private descriptor; a forked child closes it (register_at_fork)."""

    __slots__ = ("fd", "seq", "lock", "sealer")

    def __init__(self, fd: int, key: bytes) -> None:
        self.fd: int | None = fd
        self.seq = 0
        self.lock = threading.RLock()  # re-entrant: an audit event may fire inside send
        self.sealer = Sealer(key)
        os.register_at_fork(after_in_child=self.close)

    def send(self, kind: str, _fitted: Any = fitted, _write: Any = _write, **fields: Any) -> None:
        with self.lock:
            if self.fd is None:
                return
            line = _fitted(self.sealer, {"seq": self.seq, "kind": kind, **fields})
            try:
                _write(self.fd, line)
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
