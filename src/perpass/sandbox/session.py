"""A sandbox session from the host's side: the Protocols every backend meets, and the one client that
talks to the in-sandbox supervisor (inside/supervisor.py) for all of them.

A backend (bwrap, none, docker) only knows how to start the supervisor in its kind of sandbox; the
requests (run a command, put or get a folder as a tar, kill everything, stop) are the same everywhere.
"""

from __future__ import annotations

import marshal
import os
import select
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, ClassVar, Protocol

from perpass.sandbox.archive import bundle_to_tar, tar_to_bundle
from perpass.sandbox.errors import SandboxError, SessionLost
from perpass.sandbox.inside.frames import read_frame, write_frame
from perpass.sandbox.types import CommandResult, Limits, Mount, SessionPaths, ShellMode

START_TIMEOUT_S = 20.0
REPLY_GRACE_S = 10.0  # beyond a command's own timeout, how long the supervisor may take to answer
MAX_REPLY_PAYLOAD = 1 << 31


@dataclass(frozen=True)
class Seed:
    """What a session starts with: bundles (inside/bundle.py) of the repository (with .git), the bare
    remote and HOME."""

    work: bytes
    remote: bytes | None
    home: bytes


@dataclass(frozen=True)
class SessionSpec:
    limits: Limits
    shell: ShellMode = "persistent"
    seed: Seed | None = None
    label: str = "session"  # for error messages and logs
    # The task's own Python (a venv with its dependencies, task_python.task_env) in place of the default
    # task Python; None = the default.
    venv: Path | None = None
    # Absolute paths a task's own scripts use (a Harbor task's /app, /tests, /logs), made as symlinks
    # inside the sandbox: (path inside, its target inside). Only backends with a private root can.
    links: tuple[tuple[str, str], ...] = ()
    mounts: tuple[Mount, ...] = ()  # extra read-only folders (only backends with a file-system view show them)
    # Folders of the workspace (relative, checked by the task loader) on its commands' PYTHONPATH: a
    # src-layout repository's src/ (task.toml python_path).
    python_path: tuple[str, ...] = ()


class Session(Protocol):
    backend: str
    paths: SessionPaths
    host_pid: int | None  # the supervisor's pid on the host, when the backend knows it

    def run(self, command: str, timeout_s: float, *, channel: bool = False) -> CommandResult: ...
    def put_tar(self, dest: str, data: bytes) -> None: ...
    def put_bundle(self, dest: str, data: bytes) -> None: ...
    def export_tar(self, path: str, skip: tuple[str, ...] = ()) -> bytes: ...
    def export_bundle(self, path: str, skip: tuple[str, ...] = ()) -> bytes: ...
    def kill_all(self) -> None: ...
    def interrupt(self) -> None: ...
    def close(self) -> None: ...


class SandboxBackend(Protocol):
    name: ClassVar[str]

    def start(self, spec: SessionSpec) -> Session: ...


def supervisor_config(spec: SessionSpec, paths: SessionPaths, env: dict[str, str], *, pid1: bool,
                      nproc: bool, make_dirs: tuple[str, ...] = ()) -> str:
    """The supervisor's configuration, as its one argument (hex of a marshal dict: no json to import)."""
    limits = spec.limits
    if spec.python_path:
        env = {**env, "PYTHONPATH": ":".join(f"{paths.workspace}/{folder}" for folder in spec.python_path)}
    return marshal.dumps({
        "workspace": paths.workspace, "shell": spec.shell, "env": env, "pid1": pid1,
        "make_dirs": list(make_dirs),
        "quota_paths": [paths.workspace, paths.tmp, paths.home, paths.remote],
        "limits": {"cpu_s": limits.cpu_s, "session_cpu_s": limits.session_cpu_s, "memory_mb": limits.memory_mb,
                   "processes": limits.processes, "file_size_mb": limits.file_size_mb,
                   "open_files": limits.open_files, "nproc": limits.processes if nproc else None,
                   # counted on the session's own tmpfs mounts only (under `none` they are host folders)
                   "files": limits.files if pid1 else None},
    }).hex()


class SupervisorSession:
    """A started supervisor process and the frames exchanged with it. Not thread-safe: one episode's
    loop drives one session."""

    def __init__(self, backend: str, proc: subprocess.Popen[bytes], paths: SessionPaths, spec: SessionSpec,
                 stderr: IO[bytes], host_pid: int | None = None,
                 on_close: Callable[[], None] | None = None,
                 limit_probe: Callable[[], str | None] | None = None, pid_namespace: bool = True) -> None:
        self.backend, self.proc, self.paths, self.spec = backend, proc, paths, spec
        self.host_pid = host_pid
        self.stderr = stderr
        self.on_close = on_close
        self.limit_probe = limit_probe  # the backend's own view of a session limit (a cgroup's counters)
        self.pid_namespace = pid_namespace  # the supervisor is PID 1: its death ends every process
        assert proc.stdin is not None and proc.stdout is not None
        self.out_fd, self.in_fd = proc.stdin.fileno(), proc.stdout.fileno()
        self.closed = False
        self.dead = False

    # --- start-up -------------------------------------------------------------------------------------

    def wait_ready(self) -> None:
        """Wait for the supervisor's first frame, then unpack the seed. SandboxError (infra) otherwise."""
        try:
            header, _ = self._receive(START_TIMEOUT_S)
        except (SessionLost, TimeoutError, ValueError) as exc:
            self._kill_process()
            why = self.stderr_text() or str(exc)
            self.close()
            raise SandboxError(f"{self.backend} sandbox did not start: {why}") from None
        if header.get("op") != "ready":
            self.close()
            raise SandboxError(f"{self.backend} sandbox sent {header!r} instead of ready")
        seed = self.spec.seed
        if seed is None:
            return
        try:
            self.put_bundle(self.paths.workspace, seed.work)
            self.put_bundle(self.paths.home, seed.home)
            if seed.remote is not None:
                self.put_bundle(self.paths.remote, seed.remote)
        except (SessionLost, SandboxError) as exc:
            self.close()
            raise SandboxError(f"could not unpack the workspace into the {self.backend} sandbox: {exc}") from None

    def stderr_text(self) -> str:
        try:
            self.stderr.seek(0)
            return self.stderr.read(4000).decode("utf-8", "replace").strip()
        except (OSError, ValueError):
            return ""

    # --- requests --------------------------------------------------------------------------------------

    def _request(self, header: dict[str, object], payload: bytes = b"", timeout_s: float = 60.0
                 ) -> tuple[dict[str, object], bytes]:
        if self.dead or self.closed:
            raise SessionLost("the session is no longer running")
        try:
            write_frame(self.out_fd, header, payload)
        except (BrokenPipeError, OSError) as exc:
            self._lose()
            raise SessionLost(f"the session stopped taking requests ({exc})") from None
        reply, data = self._receive(timeout_s)
        if reply.get("op") == "error":
            raise SandboxError(f"{header.get('op')} failed in the session: {reply.get('error')}")
        return reply, data

    def _receive(self, timeout_s: float) -> tuple[dict[str, object], bytes]:
        ready, _, _ = select.select([self.in_fd], [], [], timeout_s)
        if not ready:
            self._lose()
            raise SessionLost(f"the session did not answer within {timeout_s:.0f} s")
        try:
            return read_frame(self.in_fd, MAX_REPLY_PAYLOAD)
        except (EOFError, OSError, ValueError) as exc:
            self._lose()
            raise SessionLost(f"the session ended ({type(exc).__name__})") from None

    def _lose(self) -> None:
        self.dead = True
        self._kill_process()

    def run(self, command: str, timeout_s: float, *, channel: bool = False) -> CommandResult:
        started = time.monotonic()
        request = {"op": "run", "command": command, "timeout": timeout_s, "channel": channel,
                   "cap": self.spec.limits.output_cap_bytes}
        try:
            reply, data = self._request(request, timeout_s=timeout_s + REPLY_GRACE_S)
        except SessionLost as exc:
            return CommandResult(None, f"[perpass sandbox: the session ended while this command ran: {exc}]",
                                 False, time.monotonic() - started, lost=True)
        except SandboxError as exc:
            return CommandResult(None, "", False, time.monotonic() - started, error=str(exc))
        stopped = reply.get("killed_by")
        killed_by = stopped if isinstance(stopped, str) else None
        split = int(reply.get("output_len", 0))  # type: ignore[call-overload]
        reported = reply.get("limit")
        limit = reported if isinstance(reported, str) else None
        probe = self.limit_probe
        if probe is not None and (probed := probe()) and not limit:
            # the supervisor did not see it (forks refused mid-churn): stop it all now
            limit = probed
            try:
                self.kill_all()
            except (SessionLost, SandboxError):
                pass
            probe()  # forks refused while the kill ran are this command's too, not the next's
        output = data[:split].decode("utf-8", "replace") + kill_note(killed_by, self.spec.limits, timeout_s)
        if limit and limit != killed_by:
            output += limit_note(limit, self.spec.limits)
        return CommandResult(
            exit_code=reply.get("exit_code"), output=output,  # type: ignore[arg-type]
            timed_out=bool(reply.get("timed_out")), wall_s=time.monotonic() - started,
            killed_by=killed_by, output_bytes=int(reply.get("output_bytes", 0)),  # type: ignore[call-overload]
            limit=limit, channel=data[split:])  # type: ignore[arg-type]

    def put_tar(self, dest: str, data: bytes) -> None:
        """Unpack a tar (folders, files, links) into dest inside the session."""
        self.put_bundle(dest, tar_to_bundle(data))

    def put_bundle(self, dest: str, data: bytes) -> None:
        try:
            self._request({"op": "put", "dest": dest, "budget": self.spec.limits.quota_bytes}, data)
        except SessionLost as exc:
            raise SandboxError(f"the session ended while receiving files: {exc}") from None

    def export_tar(self, path: str, skip: tuple[str, ...] = ()) -> bytes:
        """A tar of a folder of the session (links not followed; FIFOs, sockets, devices left out).
        Raises SessionLost if the session is gone (what the agent ran killed it) and SandboxError if the
        folder cannot be read."""
        return bundle_to_tar(self.export_bundle(path, skip))

    def export_bundle(self, path: str, skip: tuple[str, ...] = ()) -> bytes:
        _, data = self._request({"op": "get", "path": path, "budget": self.spec.limits.quota_bytes,
                                 "skip": list(skip)}, timeout_s=120.0)
        return data

    def kill_all(self) -> None:
        """Kill every process of the session but the supervisor (before reading what the agent left)."""
        self._request({"op": "kill_all"}, timeout_s=30.0)

    def interrupt(self) -> None:
        """From another thread, while a command runs: kill every process of the session but the supervisor,
        by signal from the host (the request pipe belongs to the running command). The command's result
        comes back as killed. Used when the metering gateway ends an external agent's episode."""
        if self.host_pid is not None and not self.closed:
            kill_descendants(self.host_pid)

    def close(self) -> None:
        """End the session: every process in it dies. Where the supervisor is PID 1 of a pid namespace,
        killing the sandbox's process group takes the namespace and its tmpfs with it; elsewhere (the
        `none` backend) the supervisor first kills its own descendants."""
        if self.closed:
            return
        self.closed = True
        if not self.dead and not self.pid_namespace:
            try:
                write_frame(self.out_fd, {"op": "exit"})
                self.proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self._kill_process()
        for stream in (self.proc.stdin, self.proc.stdout, self.stderr):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass
        if self.on_close is not None:
            self.on_close()

    def _kill_process(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, 9)
            except (ProcessLookupError, PermissionError):
                self.proc.kill()
            self.proc.wait()

    def __enter__(self) -> SupervisorSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def limit_text(limit: str, limits: Limits) -> str:
    return {
        "memory": f"the session's processes used more than {limits.memory_mb} MB of memory",
        "pids": f"the session reached its limit of {limits.processes} processes",
        "cpu": f"the session used more than {limits.session_cpu_s} s of CPU time",
        "disk": "a disk quota of the session is full "
                f"(/workspace {limits.disk_mb} MB, /tmp {limits.tmp_mb} MB, HOME {limits.home_mb} MB, "
                f"/remote.git {limits.remote_mb} MB, {limits.files:,} files and folders in all)",
    }.get(limit, limit)


def kill_note(killed_by: object, limits: Limits, timeout_s: float) -> str:
    """The line appended to the output when perpass killed the command ("" when it did not)."""
    if not killed_by:
        return ""
    note = f"timeout after {timeout_s:g} s" if killed_by == "timeout" else limit_text(str(killed_by), limits)
    return f"\n[perpass sandbox: killed: {note}]\n"


def limit_note(limit: str, limits: Limits) -> str:
    return f"\n[perpass sandbox: session limit reached: {limit_text(limit, limits)}]\n"


def kill_descendants(pid: int, rounds: int = 3) -> None:
    """SIGKILL every descendant of `pid` (not pid itself), a few rounds to catch what forked meanwhile."""
    for _ in range(rounds):
        children: dict[int, list[int]] = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat", "rb") as stat:
                    fields = stat.read().rsplit(b")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry))
        found, todo = [], list(children.get(pid, []))
        while todo:
            child = todo.pop()
            found.append(child)
            todo += children.get(child, [])
        if not found:
            return
        for child in found:
            try:
                os.kill(child, 9)
            except (ProcessLookupError, PermissionError):
                pass
        time.sleep(0.02)
