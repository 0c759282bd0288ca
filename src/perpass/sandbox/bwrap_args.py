"""The bubblewrap command line: what the sandbox shows of the host, and nothing more."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from perpass.sandbox.task_python import TASK_PYTHON_INSIDE, cache_root
from perpass.sandbox.types import Limits, Workspace

WORKSPACE_INSIDE = "/workspace"
HOME_INSIDE = "/home/agent"
REMOTE_INSIDE = "/remote.git"
AGENT_UID = 1000
INSIDE_PATH = f"{TASK_PYTHON_INSIDE}/bin:/usr/bin:/bin"
# /etc pieces commands need: the loader cache (speed) and Debian's alternatives (awk, editor...).
ETC_FILES = ("/etc/ld.so.cache", "/etc/alternatives", "/etc/localtime")
TOP_LEVEL_LINKS = ("/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32")
PASSWD = (f"agent:x:{AGENT_UID}:{AGENT_UID}:agent:{HOME_INSIDE}:/bin/bash\n"
          "nobody:x:65534:65534::/:/bin/false\n")
GROUP = f"agent:x:{AGENT_UID}:\nnogroup:x:65534:\n"
# Environment of every command, sandboxed or not (--unsafe-no-sandbox adds only PATH and HOME).
COMMAND_ENV = {"LANG": "C.UTF-8", "TERM": "dumb", "PAGER": "cat", "GIT_PAGER": "cat", "GIT_CONFIG_NOSYSTEM": "1",
               # No __pycache__: it would end up in the agent's commits, and a .pyc keyed on
               # (mtime, size) goes stale when an edit keeps the size within the same second.
               "PYTHONDONTWRITEBYTECODE": "1"}


def find_bwrap() -> str | None:
    """$PERPASS_BWRAP (a path) wins; else bwrap on PATH, else /usr/bin/bwrap."""
    configured = os.environ.get("PERPASS_BWRAP")
    if configured:
        return configured if os.access(configured, os.X_OK) else None
    return shutil.which("bwrap") or ("/usr/bin/bwrap" if os.access("/usr/bin/bwrap", os.X_OK) else None)


def fake_etc() -> Path:
    """passwd/group naming only the agent user (the host's user list stays hidden)."""
    folder = cache_root() / "sandbox-etc"
    for name, content in (("passwd", PASSWD), ("group", GROUP)):
        target = folder / name
        if not target.exists() or target.read_text() != content:
            folder.mkdir(parents=True, exist_ok=True)
            scratch = folder / f".{name}.{os.getpid()}"
            scratch.write_text(content)
            scratch.replace(target)
    return folder


def system_binds() -> list[str]:
    """Read-only system: /usr (minus /usr/local, where host tools and other Pythons live)."""
    args = ["--ro-bind", "/usr", "/usr"]
    if os.path.isdir("/usr/local"):
        args += ["--tmpfs", "/usr/local"]
    for top in TOP_LEVEL_LINKS:
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    for path in ETC_FILES:
        if os.path.exists(path):
            args += ["--ro-bind", path, path]
    return args


def ulimit_line(limits: Limits) -> str:
    """Hard limits the command cannot raise. CPU: soft limit first (SIGXCPU, a clear exit 152),
    hard limit a little later (SIGKILL) for programs that catch SIGXCPU."""
    return (f"ulimit -S -t {limits.cpu_s} && ulimit -H -t {limits.cpu_s + 2} && ulimit -c 0"
            f" -v {limits.memory_mb * 1024} -f {limits.file_size_mb * 1024} -n {limits.open_files}")


def wrapper_script(limits: Limits, started_fd: int) -> str:
    """The login shell's script: set the hard per-process limits, report "started" on started_fd (a
    missing byte means bwrap itself failed), close it, then run the command as `bash -lc` would.
    One shell instead of a wrapper exec'ing `bash -lc` saves a few ms on every command."""
    return (
        f"{ulimit_line(limits)} || exit 125\n"
        f"printf 1 >&{started_fd}; exec {started_fd}>&-\n"
        '__perpass_command=$1; shift; set --; eval "unset __perpass_command; $__perpass_command"\n'
    )


def bwrap_argv(bwrap: str, limits: Limits, workspace: Workspace, task_venv: Path, etc: Path,
               command: str, started_fd: int, sync_fds: tuple[int, int] | None) -> list[str]:
    """sync_fds = (info_fd, block_fd): bwrap reports the sandbox's pid and waits until we put it in
    its cgroup, so every process the command forks is counted."""
    argv = [bwrap, "--unshare-all", "--unshare-user", "--uid", str(AGENT_UID), "--gid", str(AGENT_UID),
            "--disable-userns", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
            "--hostname", "sandbox"]
    if sync_fds is not None:
        argv += ["--info-fd", str(sync_fds[0]), "--block-fd", str(sync_fds[1])]
    argv += system_binds()
    argv += ["--ro-bind", str(etc / "passwd"), "/etc/passwd", "--ro-bind", str(etc / "group"), "/etc/group",
             "--ro-bind", str(task_venv), TASK_PYTHON_INSIDE,
             "--proc", "/proc", "--dev", "/dev", "--remount-ro", "/dev",
             "--size", str(16 * 1024 * 1024), "--tmpfs", "/dev/shm",
             "--size", str(limits.tmp_mb * 1024 * 1024), "--tmpfs", "/tmp",
             "--bind", str(workspace.work), WORKSPACE_INSIDE,
             "--bind", str(workspace.home), HOME_INSIDE]
    if workspace.remote is not None:
        argv += ["--bind", str(workspace.remote), REMOTE_INSIDE]
    argv += ["--remount-ro", "/", "--chdir", WORKSPACE_INSIDE, "--clearenv"]
    for key, value in inside_env().items():
        argv += ["--setenv", key, value]
    argv += ["--", "/bin/bash", "-lc", wrapper_script(limits, started_fd), "perpass-sandbox", command]
    return argv


def inside_env() -> dict[str, str]:
    return {"PATH": INSIDE_PATH, "HOME": HOME_INSIDE, "USER": "agent", "LOGNAME": "agent", "TMPDIR": "/tmp",
            "SHELL": "/bin/bash", **COMMAND_ENV}
