"""The real LiteLLM proxy for tests: installed once into its own venv, started on loopback, stopped after.

LiteLLM pins some of perpass's dependencies differently (rich<14), and the proxy runs as its own
process anyway, as it does in production: so it lives in a separate venv, made on first use from
the `proxy-test` extra of pyproject.toml and cached in ~/.cache/perpass/litellm-venv. Set
PERPASS_LITELLM to a `litellm` executable to use another install.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
VENV = Path(os.environ.get("PERPASS_CACHE", Path.home() / ".cache" / "perpass")) / "litellm-venv"


def proxy_requirements() -> list[str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return list(data["project"]["optional-dependencies"]["proxy-test"])


def litellm_executable() -> Path:
    """`litellm` from PERPASS_LITELLM, from this venv (extra installed), or the cached proxy venv."""
    if os.environ.get("PERPASS_LITELLM"):
        return Path(os.environ["PERPASS_LITELLM"])
    here = Path(sys.executable).parent / "litellm"
    if here.exists():
        return here
    wanted = "\n".join(proxy_requirements())
    stamp = VENV / ".perpass-installed"
    VENV.parent.mkdir(parents=True, exist_ok=True)
    with open(VENV.parent / "litellm-venv.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two test runs at once: one installs, the other waits
        if not (stamp.exists() and stamp.read_text() == wanted):
            shutil.rmtree(VENV, ignore_errors=True)
            subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
            subprocess.run([str(VENV / "bin" / "python"), "-m", "pip", "install", "-q", *proxy_requirements()],
                           check=True, timeout=1200)
            stamp.write_text(wanted)
    return VENV / "bin" / "litellm"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Proxy:
    def __init__(self, port: int, master_key: str, log: Path) -> None:
        self.port, self.master_key, self.log = port, master_key, log

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def chat(self, group: str, text: str, timeout: float = 60) -> httpx.Response:
        return httpx.post(f"{self.url}/v1/chat/completions", timeout=timeout,
                          headers={"Authorization": f"Bearer {self.master_key}"},
                          json={"model": group, "messages": [{"role": "user", "content": text}]})


@contextmanager
def litellm_proxy(config: Path, env: dict[str, str], log: Path, startup_s: float = 300) -> Iterator[Proxy]:
    """`litellm --config CONFIG --host 127.0.0.1 --port P`, as the config's header says; stopped after."""
    port = free_port()
    master_key = f"sk-{secrets.token_hex(32)}"
    full_env = {**os.environ, **env, "LITELLM_MASTER_KEY": master_key, "LITELLM_LOG": "ERROR",
                "LITELLM_TELEMETRY": "False", "NO_PROXY": "127.0.0.1,localhost"}
    with open(log, "w") as out:
        proc = subprocess.Popen([str(litellm_executable()), "--config", str(config), "--host", "127.0.0.1",
                                 "--port", str(port)], stdout=out, stderr=subprocess.STDOUT, env=full_env,
                                start_new_session=True)
    proxy = Proxy(port, master_key, log)
    try:
        deadline = time.monotonic() + startup_s
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"the proxy exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{proxy.url}/health/liveliness", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"the proxy was not up after {startup_s:.0f}s:\n{log.read_text()[-3000:]}")
            time.sleep(1)
        yield proxy
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
