"""The Python the agent's commands (and the hidden tests) run with: a venv with pytest, built once
from Debian's /usr/bin/python3, separate from perpass's own environment, bound at /opt/task-python."""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

TASK_PYTHON_INSIDE = "/opt/task-python"
READY_MARKER = ".perpass-ready"
BASE_PYTHON_CANDIDATES = ("/usr/bin/python3",)
TASK_PACKAGES = ("pytest",)


def cache_root() -> Path:
    """What sandboxes see of the host lives here (the task Python, perpass's in-sandbox code), so it must
    be readable by the sandbox's user: $PERPASS_CACHE, else /var/cache/perpass when perpass runs as root
    (root's own HOME is closed to other users), else ~/.cache/perpass (or under $XDG_CACHE_HOME)."""
    configured = os.environ.get("PERPASS_CACHE")
    if configured:
        return Path(configured)
    if os.geteuid() == 0:
        return Path("/var/cache/perpass")
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "perpass"


def task_python_dir() -> Path:
    """Where the venv lives: $PERPASS_TASK_PYTHON, else ~/.cache/perpass/task-python."""
    configured = os.environ.get("PERPASS_TASK_PYTHON")
    return Path(configured) if configured else cache_root() / "task-python"


def task_python() -> Path:
    """Path (on the host) of the task venv's python, building the venv on first use."""
    return ensure_venv(task_python_dir(), TASK_PACKAGES) / "bin" / "python"


def task_env_key(requirements: tuple[str, ...]) -> str:
    """The cache key of a dependency set: the same requirements (in any order) share one venv."""
    text = "\n".join(sorted({r.strip() for r in requirements}))
    return hashlib.sha256(f"{_base_python()}\n{TASK_PACKAGES}\n{text}".encode()).hexdigest()[:24]


def task_env(requirements: tuple[str, ...]) -> Path:
    """The venv (its root, on the host) of a task with its own Python dependencies: pytest plus them, one
    per distinct set, built on first use under <cache>/task-envs/<key> and reused after. RuntimeError
    (with pip's reason) when the set cannot be installed. The hit path is one stat."""
    venv = cache_root() / "task-envs" / task_env_key(requirements)
    return ensure_venv(venv, (*TASK_PACKAGES, *sorted(set(requirements))))


def ensure_venv(venv: Path, packages: tuple[str, ...]) -> Path:
    """A venv from Debian's python with `packages`, built once at `venv` (also for installed agents)."""
    return ensure_built(venv, lambda scratch: _build(scratch, packages))


def ensure_built(folder: Path, build: Callable[[Path], None]) -> Path:
    """`folder`, made once by `build(scratch)`: parallel callers are serialised by an fcntl lock, and the
    folder is built in a scratch folder and renamed into place, so a reader never sees a half-built one."""
    if (folder / READY_MARKER).exists():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / f".{folder.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / READY_MARKER).exists():
            scratch = folder.with_name(f"{folder.name}.building-{os.getpid()}")
            shutil.rmtree(scratch, ignore_errors=True)
            try:
                build(scratch)
                (scratch / READY_MARKER).write_text("ok\n")
                if folder.exists():  # a stale, unfinished one from an interrupted build
                    shutil.rmtree(folder)
                scratch.rename(folder)
            finally:
                shutil.rmtree(scratch, ignore_errors=True)
    return folder


def _base_python() -> str:
    for candidate in BASE_PYTHON_CANDIDATES:
        if os.access(candidate, os.X_OK):
            return candidate
    # Fall back to the interpreter perpass runs on; it must live under /usr to be visible inside.
    return os.path.realpath(sys.executable)


def _build(scratch: Path, packages: tuple[str, ...]) -> None:
    base = _base_python()
    if _run([base, "-m", "venv", str(scratch)]) == 0:
        _pip_install([str(scratch / "bin" / "python"), "-m", "pip"], packages)
    else:
        # Debian without python3-venv has no ensurepip: make a bare venv and let perpass's own
        # pip install into it (pip >= 22.3 understands --python).
        shutil.rmtree(scratch, ignore_errors=True)
        if _run([base, "-m", "venv", "--without-pip", str(scratch)]) != 0:
            raise RuntimeError(f"cannot create a venv with {base}; install python3-venv")
        _pip_install([sys.executable, "-m", "pip", "--python", str(scratch / "bin" / "python")], packages)
    _relocate_scripts(scratch)


def _run(argv: list[str]) -> int:
    return subprocess.run(argv, capture_output=True, text=True).returncode


def _pip_install(pip: list[str], packages: tuple[str, ...]) -> None:
    # "--" keeps a requirement that starts with a dash from being read as a pip option.
    done = subprocess.run([*pip, "install", "-q", "--disable-pip-version-check", "--", *packages],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"installing {' '.join(packages)} into {pip[0]} failed: {done.stderr.strip()[-500:]}")


def _relocate_scripts(venv: Path) -> None:
    """Console scripts (pytest, pip) carry the build path in their shebang, but the venv is seen at
    /opt/task-python inside the sandbox and at its own path on the host (--unsafe-no-sandbox).
    Rewrite them to pip's own sh/python polyglot header, which runs the python next to the script."""
    for script in (venv / "bin").iterdir():
        if script.is_symlink() or not script.is_file():
            continue
        text = script.read_bytes()
        if not text.startswith(b"#!" + str(venv).encode()):
            continue
        _, _, body = text.partition(b"\n")
        script.write_bytes(RELOCATABLE_HEADER + body)


# sh runs line 2 (exec the python beside this script); Python sees a string literal and skips it.
RELOCATABLE_HEADER = (
    b"#!/bin/sh\n"
    b"'''exec' \"$(dirname -- \"$0\")/python\" \"$0\" \"$@\"\n"
    b"' '''\n"
)
