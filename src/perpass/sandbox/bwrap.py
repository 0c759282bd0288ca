"""The `bwrap` backend (default): one bubblewrap sandbox per session, the supervisor as its PID 1.

What the sandbox shows of the host, and nothing more: /usr (without /usr/local), a few /etc files, the
task Python and perpass's in-sandbox code, all read-only; a private /proc (its /proc/sys read-only) and
/dev; size-limited tmpfs for /workspace, /tmp, HOME and /remote.git. No network (an empty network
namespace), no capabilities, no_new_privs, no nested user namespaces, and an unprivileged host uid
(user.py): nothing in it holds a privilege on the host, even when perpass runs as root.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any, ClassVar

from perpass.errors import UserError
from perpass.sandbox.cgroup import PidsCgroup
from perpass.sandbox.errors import SandboxError
from perpass.sandbox.kit import kit_dir
from perpass.sandbox.session import SessionSpec, SupervisorSession, supervisor_config
from perpass.sandbox.task_python import TASK_PYTHON_INSIDE, cache_root, task_python
from perpass.sandbox.types import INSIDE_PATHS, Limits, Mount
from perpass.sandbox.user import sandbox_ids

NO_BWRAP = ("bubblewrap (bwrap) is not installed; install it with: apt-get install bubblewrap "
            "(or choose another sandbox: --sandbox none runs commands unconfined)")
AGENT_UID = 1000
INSIDE_PATH = f"{TASK_PYTHON_INSIDE}/bin:/usr/bin:/bin"
# /etc pieces commands need: the loader cache (speed) and Debian's alternatives (awk, editor...).
ETC_FILES = ("/etc/ld.so.cache", "/etc/alternatives", "/etc/localtime")
TOP_LEVEL_LINKS = ("/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32")
PASSWD = (f"agent:x:{AGENT_UID}:{AGENT_UID}:agent:{INSIDE_PATHS.home}:/bin/bash\n"
          "nobody:x:65534:65534::/:/bin/false\n")
GROUP = f"agent:x:{AGENT_UID}:\nnogroup:x:65534:\n"
# Environment of every command, whatever the backend (`none` replaces the paths with host ones).
COMMAND_ENV = {"LANG": "C.UTF-8", "TERM": "dumb", "PAGER": "cat", "GIT_PAGER": "cat", "GIT_CONFIG_NOSYSTEM": "1",
               # No __pycache__: it would end up in the agent's commits, and a .pyc keyed on
               # (mtime, size) goes stale when an edit keeps the size within the same second.
               "PYTHONDONTWRITEBYTECODE": "1"}
SUPERVISOR = f"{INSIDE_PATHS.kit}/sandbox/supervisor.py"
SHM_BYTES = 16 * 1024 * 1024


def find_bwrap() -> str | None:
    """$PERPASS_BWRAP (a path) wins; else bwrap on PATH, else /usr/bin/bwrap."""
    configured = os.environ.get("PERPASS_BWRAP")
    if configured:
        return configured if os.access(configured, os.X_OK) else None
    return shutil.which("bwrap") or ("/usr/bin/bwrap" if os.access("/usr/bin/bwrap", os.X_OK) else None)


def inside_env() -> dict[str, str]:
    return {"PATH": INSIDE_PATH, "HOME": INSIDE_PATHS.home, "USER": "agent", "LOGNAME": "agent",
            "TMPDIR": INSIDE_PATHS.tmp, "SHELL": "/bin/bash", **COMMAND_ENV}


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


def tmpfs(size_mb: int, path: str) -> list[str]:
    return ["--size", str(size_mb * 1024 * 1024), "--perms", "0755", "--tmpfs", path]


def bwrap_argv(bwrap: str, limits: Limits, venv: Path, etc: Path, kit: Path, info_fd: int,
               block_fd: int | None, config: str,
               links: tuple[tuple[str, str], ...] = (), mounts: tuple[Mount, ...] = ()) -> list[str]:
    links = tuple((path, target) for path, target in links if path != target)  # /workspace is the workspace
    # A task whose fixed working folder is /workspace itself (a Harbor WORKDIR): in the verifier's session
    # /workspace is then a link to the checkout (made later), not a folder of its own.
    over_workspace = any(path == INSIDE_PATHS.workspace for path, _ in links)
    argv = [bwrap, "--unshare-all", "--unshare-user", "--uid", str(AGENT_UID), "--gid", str(AGENT_UID),
            "--disable-userns", "--die-with-parent", "--new-session", "--cap-drop", "ALL", "--as-pid-1",
            "--hostname", "sandbox", "--info-fd", str(info_fd)]
    if block_fd is not None:
        argv += ["--block-fd", str(block_fd)]
    argv += system_binds()
    argv += ["--ro-bind", str(etc / "passwd"), "/etc/passwd", "--ro-bind", str(etc / "group"), "/etc/group",
             "--ro-bind", str(venv), TASK_PYTHON_INSIDE, "--ro-bind", str(kit), INSIDE_PATHS.kit,
             *[arg for mount in mounts for arg in ("--ro-bind", mount.host, mount.inside)],
             # /proc/sys read-only whoever owns its files (its net/ part follows the reader's netns).
             "--proc", "/proc", "--ro-bind", "/proc/sys", "/proc/sys",
             "--dev", "/dev", "--remount-ro", "/dev",
             "--size", str(SHM_BYTES), "--tmpfs", "/dev/shm",
             *tmpfs(limits.tmp_mb, INSIDE_PATHS.tmp),
             *([] if over_workspace else tmpfs(limits.disk_mb, INSIDE_PATHS.workspace)),
             *tmpfs(limits.home_mb, INSIDE_PATHS.home), *tmpfs(limits.remote_mb, INSIDE_PATHS.remote),
             *[arg for path, target in links for arg in ("--symlink", target, path)],
             "--remount-ro", "/", "--chdir", INSIDE_PATHS.tmp if over_workspace else INSIDE_PATHS.workspace,
             "--clearenv",
             "--setenv", "PATH", INSIDE_PATH, "--",
             f"{TASK_PYTHON_INSIDE}/bin/python", "-I", "-S", SUPERVISOR, config]
    return argv


def check_readable(path: Path, ids: tuple[int, int] | None) -> None:
    """Every folder above a bound path must let the sandbox user through, or bwrap cannot bind it."""
    if ids is None:
        return
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        if not mode & 0o001 and not (parent.stat().st_uid == ids[0] and mode & 0o100):
            raise UserError(f"{parent} is closed to the sandbox user (uid {ids[0]}), so {path} cannot be shown "
                            "inside the sandbox; set PERPASS_CACHE to a folder every user can enter")


def as_sandbox_user(argv: list[str], ids: tuple[int, int] | None) -> tuple[list[str], dict[str, Any]]:
    """Start bwrap as the sandbox user: through util-linux `setpriv` when there is one (Popen's own
    user switch cannot use vfork, and forking a large perpass process costs tens of ms), else Popen's."""
    if ids is None:
        return argv, {}
    setpriv = shutil.which("setpriv")
    if setpriv:
        return [setpriv, f"--reuid={ids[0]}", f"--regid={ids[1]}", "--clear-groups", "--", *argv], {}
    return argv, {"user": ids[0], "group": ids[1], "extra_groups": []}


class BwrapBackend:
    name: ClassVar[str] = "bwrap"

    def __init__(self) -> None:
        self.bwrap = find_bwrap()
        if self.bwrap is None:
            raise UserError(NO_BWRAP)
        self.ids = sandbox_ids()
        self._prepared: tuple[Path, Path, Path] | None = None

    def prepare(self) -> tuple[Path, Path, Path]:
        """Built lazily (the first build of the task Python takes seconds), checked once."""
        if self._prepared is None:
            venv, etc, kit = task_python().parent.parent, fake_etc(), kit_dir()
            for path in (venv, etc, kit):
                check_readable(path, self.ids)
            self._prepared = (venv, etc, kit)
        return self._prepared

    def start(self, spec: SessionSpec) -> SupervisorSession:
        try:
            venv, etc, kit = self.prepare()
            if spec.venv is not None:
                venv = spec.venv
                check_readable(venv, self.ids)
            for mount in spec.mounts:
                check_readable(Path(mount.host), self.ids)
        except (OSError, RuntimeError) as exc:
            raise SandboxError(f"sandbox set-up: {exc}") from None
        assert self.bwrap is not None
        cgroup = PidsCgroup.create(spec.limits.processes)
        config = supervisor_config(spec, INSIDE_PATHS, inside_env(), pid1=True, nproc=cgroup is None)
        info_r, info_w = os.pipe()
        block_r, block_w = os.pipe() if cgroup is not None else (None, None)
        child_fds = [info_w] + ([block_r] if block_r is not None else [])
        argv = bwrap_argv(self.bwrap, spec.limits, venv, etc, kit, info_w, block_r, config, spec.links, spec.mounts)
        stderr = tempfile.TemporaryFile()
        argv, user = as_sandbox_user(argv, self.ids)
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
                                    pass_fds=child_fds, start_new_session=True, env={"PATH": "/usr/bin:/bin"},
                                    **user)
        except OSError as exc:
            for fd in (info_r, info_w, block_r, block_w):
                if fd is not None:
                    os.close(fd)
            if cgroup is not None:
                cgroup.remove()
            raise SandboxError(f"cannot start bwrap: {exc}") from None
        for fd in child_fds:
            os.close(fd)
        host_pid = _read_child_pid(info_r)
        os.close(info_r)
        if block_w is not None:
            assert cgroup is not None
            try:
                if host_pid is not None:
                    cgroup.add(host_pid)
            except OSError:
                pass  # the sandbox already died in set-up: reported below
            try:
                os.write(block_w, b"1")
            except BrokenPipeError:
                pass
            os.close(block_w)

        def release() -> None:
            if cgroup is not None:
                cgroup.kill_all()
                cgroup.remove()

        refused = [0]

        def refused_forks() -> str | None:
            """'pids' when the cgroup refused a fork since the last command (counted once)."""
            if cgroup is None:
                return None
            now = cgroup.refused_forks()
            hit, refused[0] = now > refused[0], now
            return "pids" if hit else None

        session = SupervisorSession(self.name, proc, INSIDE_PATHS, spec, stderr, host_pid, on_close=release,
                                    limit_probe=refused_forks)
        session.wait_ready()
        return session


def _read_child_pid(info_r: int) -> int | None:
    """bwrap writes {"child-pid": N} (the sandbox's PID 1 as the host sees it) once it is set up."""
    data = b""
    while b"}" not in data:
        ready, _, _ = select.select([info_r], [], [], 10.0)
        chunk = os.read(info_r, 4096) if ready else b""
        if not chunk:
            return None
        data += chunk
    try:
        return int(json.loads(data[: data.index(b"}") + 1])["child-pid"])
    except (ValueError, KeyError):
        return None
