"""Bounded output capture: keep the first and last part of a command's output, count the rest."""

from __future__ import annotations


class HeadTail:
    """Keeps at most `cap` bytes: the first cap/2 and the last cap/2, with a marker between."""

    def __init__(self, cap: int) -> None:
        self.head_cap = cap // 2
        self.tail_cap = cap - self.head_cap
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def add(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = self.head_cap - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        if chunk:
            self.tail += chunk
            if len(self.tail) > 2 * self.tail_cap:  # trim in batches, not on every chunk
                del self.tail[: len(self.tail) - self.tail_cap]

    def text(self) -> str:
        tail = bytes(self.tail[-self.tail_cap:]) if self.tail_cap else b""
        dropped = self.total - len(self.head) - len(tail)
        if dropped <= 0:
            return (bytes(self.head) + tail).decode("utf-8", errors="replace")
        marker = f"\n[perpass sandbox: {dropped} bytes of output dropped]\n"
        return (bytes(self.head).decode("utf-8", errors="replace") + marker
                + tail.decode("utf-8", errors="replace"))
