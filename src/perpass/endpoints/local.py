"""Local model servers started by perpass: llama-cpp-python's server or a user's llama-server.

The server runs in its own process group on a free loopback port, its log streams to a file,
and the whole group is stopped on exit, Ctrl-C, or when perpass itself dies (Linux parent-death
signal), so no orphan server survives perpass.
"""

from __future__ import annotations

import atexit
import ctypes
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import TracebackType

import httpx
import psutil

from perpass.config import RouteBase, resolve_gguf
from perpass.errors import UserError

OOM_PATTERNS = (
    "out of memory", "failed to allocate", "unable to allocate", "insufficient memory",
    "vk_error_out_of_device_memory", "std::bad_alloc", "cannot allocate memory",
)
# ggml type ids llama-cpp-python takes for --type_k/--type_v.
GGML_TYPE_IDS = {"f16": 1, "q4_0": 2, "q8_0": 8}

_live: set[LocalServer] = set()
_handlers_installed = False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_in_use(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _die_with_parent() -> None:
    """Run in the child before exec: new session, and SIGKILL when the parent thread dies."""
    os.setsid()
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def server_command(route: RouteBase, model_path: Path, port: int) -> list[str]:
    s = route.serving
    if s.server == "llama-server":
        binary = s.server_binary or "llama-server"
        cmd = [binary, "-m", str(model_path), "--host", "127.0.0.1", "--port", str(port),
               "-c", str(s.n_ctx), "-np", str(s.n_parallel), "--jinja"]
        if s.threads:
            cmd += ["-t", str(s.threads)]
        if s.kv_type != "f16":
            cmd += ["-ctk", s.kv_type, "-ctv", s.kv_type, "-fa", "on"]
        return cmd + list(s.extra_args)
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(model_path), "--host", "127.0.0.1",
           "--port", str(port), "--n_ctx", str(s.n_ctx), "--model_alias", route.model,
           # Its default keeps logits for every context token (n_ctx x n_vocab x 4 bytes: 1.5 GiB
           # for SmolLM2 at 8192), which a chat server never reads.
           "--logits_all", "false"]
    if s.threads:
        cmd += ["--n_threads", str(s.threads), "--n_threads_batch", str(s.threads)]
    if s.kv_type != "f16":
        # A quantized V cache needs flash attention in llama.cpp.
        cmd += ["--type_k", str(GGML_TYPE_IDS[s.kv_type]), "--type_v", str(GGML_TYPE_IDS[s.kv_type]),
                "--flash_attn", "true"]
    return cmd + list(s.extra_args)


class ServerFailed(Exception):
    """The local server exited or never became healthy. `oom` says if its log shows out-of-memory."""

    def __init__(self, message: str, oom: bool = False) -> None:
        super().__init__(message)
        self.oom = oom


class LocalServer:
    """A local OpenAI-compatible server. Use as a context manager."""

    def __init__(self, route: RouteBase, log_path: Path, port: int | None = None) -> None:
        self.route = route
        self.model_path = resolve_gguf(route.gguf or "")
        if route.serving.server == "llama-cpp-python" and importlib.util.find_spec("llama_cpp") is None:
            raise UserError("local routes need llama-cpp-python: pip install 'perpass[local]'")
        port = port or route.serving.port
        if port is not None and port_in_use(port):
            raise UserError(f"port {port} on 127.0.0.1 is already in use; pick another or omit it")
        self.port = port or free_port()
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self.peak_rss_bytes = 0
        self._watch_stop = threading.Event()
        self._watcher: threading.Thread | None = None
        self.startup_s: float | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    @property
    def exit_code(self) -> int | None:
        """The server process's exit code once it has exited; None while it runs (or before start)."""
        return self.proc.poll() if self.proc else None

    def start(self) -> LocalServer:
        _install_stop_handlers()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        cmd = server_command(self.route, self.model_path, self.port)
        started = time.perf_counter()
        try:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         preexec_fn=_die_with_parent)
        except FileNotFoundError:
            raise UserError(f"cannot start the local server: {cmd[0]} not found") from None
        finally:
            log.close()
        _live.add(self)
        self._watcher = threading.Thread(target=self._watch_rss, daemon=True, name="rss-watch")
        self._watcher.start()
        try:
            self._wait_healthy(self.route.serving.startup_timeout_s)
        except BaseException:
            self.stop()
            raise
        self.startup_s = time.perf_counter() - started
        return self

    def _wait_healthy(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        with httpx.Client(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self.exit_code is not None:
                    tail = self.log_tail()
                    raise ServerFailed(f"local server exited with code {self.exit_code} while "
                                       f"starting; log {self.log_path}: {tail[-300:]}", oom=log_shows_oom(tail))
                try:
                    if client.get(f"{self.base_url}/models").status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                time.sleep(0.2)
        raise ServerFailed(f"local server not healthy after {timeout_s:.0f}s (see log {self.log_path}); "
                           "raise serving.startup_timeout_s if the model is large")

    def _watch_rss(self) -> None:
        while not self._watch_stop.wait(0.2):
            rss = self.tree_rss_bytes()
            self.peak_rss_bytes = max(self.peak_rss_bytes, rss)

    def tree_rss_bytes(self) -> int:
        """Resident memory of the server and all its children."""
        if not self.proc:
            return 0
        try:
            root = psutil.Process(self.proc.pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.Error:
            return 0
        total = 0
        for p in procs:
            try:
                total += p.memory_info().rss
            except psutil.Error:
                pass
        return total

    def log_tail(self, nbytes: int = 4000) -> str:
        try:
            with self.log_path.open("rb") as f:
                f.seek(max(0, self.log_path.stat().st_size - nbytes))
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        self._watch_stop.set()
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(timeout=5)
        _live.discard(self)

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def log_shows_oom(text: str) -> bool:
    low = text.lower()
    return any(p in low for p in OOM_PATTERNS)


def _stop_all() -> None:
    for server in list(_live):
        server.stop()


def _on_sigterm(signum: int, frame: object) -> None:
    _stop_all()
    raise SystemExit(128 + signum)


def _install_stop_handlers() -> None:
    """At the first server start, not at import: stop every live server at exit and on SIGTERM
    (unless the program has its own SIGTERM handler). Importing this module changes nothing."""
    global _handlers_installed
    if _handlers_installed:
        return
    _handlers_installed = True
    atexit.register(_stop_all)
    if threading.current_thread() is threading.main_thread():
        try:
            if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
                signal.signal(signal.SIGTERM, _on_sigterm)
        except ValueError:
            pass
