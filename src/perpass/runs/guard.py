"""The OOM guard for local routes: never let a model server push the machine into swap or a freeze.

Two parts. Before a server starts, its estimated memory (weights, KV cache and buffers from GGUF
metadata, as `perpass fit` counts them) is checked against what is available above the floor: a
config that cannot fit is skipped as `oom_predicted`. While it runs, a watcher thread polls
MemAvailable; when it drops below the floor the watcher kills the server's whole process group at
once (a polite SIGTERM could take seconds the machine does not have) and the running episode and
cell are recorded as `oom`.
"""

from __future__ import annotations

import os
import signal
import threading
from dataclasses import dataclass

import psutil

from perpass.config import RouteBase, resolve_gguf
from perpass.endpoints.local import LocalServer, log_shows_oom
from perpass.hardware.memory import estimate_gguf_memory

GIB = 2**30
POLL_S = 0.1


def default_floor_bytes() -> int:
    """max(10 % of RAM, 2 GiB): below this much available memory the guard stops the server."""
    return max(int(psutil.virtual_memory().total * 0.10), 2 * GIB)


def available_bytes() -> int:
    return int(psutil.virtual_memory().available)


def estimate_server_bytes(route: RouteBase) -> tuple[int | None, str]:
    """Memory a local server for `route` will need, or None (with why) when it cannot be estimated.

    perpass starts llama-cpp-python with `--logits_all false`, so no logits history is counted.
    """
    s = route.serving
    try:
        estimate = estimate_gguf_memory(
            resolve_gguf(route.gguf or ""), s.n_ctx, s.kv_type, s.n_parallel, server=s.server, logits_all=False
        )
    except Exception as err:  # a file that is not a readable GGUF: the watcher still guards it
        return None, f"cannot estimate ({type(err).__name__}: {err})"
    return estimate.total_bytes, "estimated"


@dataclass
class Prediction:
    fits: bool
    needed_bytes: int | None
    available_bytes: int
    floor_bytes: int
    reason: str


def predict_fit(route: RouteBase, floor_bytes: int) -> Prediction:
    needed, why = estimate_server_bytes(route)
    free = available_bytes()
    if needed is None:
        return Prediction(True, None, free, floor_bytes, why)
    fits = needed <= free - floor_bytes
    reason = (
        f"needs ~{needed / GIB:.2f} GiB; {free / GIB:.2f} GiB available, floor {floor_bytes / GIB:.2f} GiB"
        + ("" if fits else " (lower n_ctx, a smaller quant, or a q8_0/q4_0 KV cache)")
    )
    return Prediction(fits, needed, free, floor_bytes, reason)


class MemoryWatcher:
    """Polls memory while a local server runs; kills its process group below the floor.

    Use as a context manager around the server's life. `tripped` tells whether it fired and why.
    """

    def __init__(self, server: LocalServer, floor_bytes: int, poll_s: float = POLL_S) -> None:
        self.server = server
        self.floor_bytes = floor_bytes
        self.poll_s = poll_s
        self.reason: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="oom-guard", daemon=True)

    @property
    def tripped(self) -> bool:
        return self.reason is not None

    def start(self) -> MemoryWatcher:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2)

    def __enter__(self) -> MemoryWatcher:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def check_now(self) -> bool:
        """One poll; True when it killed the server."""
        free = available_bytes()
        if free < self.floor_bytes and self.reason is None:
            rss = self.server.tree_rss_bytes()  # only for the message: LocalServer tracks its own peak
            self.reason = (
                f"available memory {free / GIB:.2f} GiB fell below the floor {self.floor_bytes / GIB:.2f}"
                f" GiB (server tree RSS {rss / GIB:.2f} GiB); server stopped"
            )
            self.kill_server()
            return True
        return False

    def kill_server(self) -> None:
        pid = self.server.pid
        if pid is None:
            return
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def _watch(self) -> None:
        while not self._stop.wait(self.poll_s):
            if self.check_now():
                return


def server_log_oom(server: LocalServer | None) -> str | None:
    """The OOM line of a server's log, when its log shows one."""
    if server is None:
        return None
    tail = server.log_tail()
    if not log_shows_oom(tail):
        return None
    lines = [line for line in tail.splitlines() if log_shows_oom(line)]
    return f"server log shows out-of-memory: {lines[-1].strip()[:200]}" if lines else "server log shows OOM"


def server_died(server: LocalServer | None) -> bool:
    return server is not None and server.exit_code is not None
