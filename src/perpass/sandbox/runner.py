"""`Sandbox.run`: one shell command, confined by bubblewrap, limited, timed out, output bounded."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import time
from pathlib import Path

import psutil

from perpass.errors import UserError
from perpass.sandbox.bwrap_args import bwrap_argv, fake_etc, find_bwrap
from perpass.sandbox.capture import HeadTail, kill_note
from perpass.sandbox.cgroup import PidsCgroup
from perpass.sandbox.task_python import task_python
from perpass.sandbox.types import CommandResult, Limits, Workspace
from perpass.sandbox.unsafe import run_unsafe
from perpass.sandbox.workspace import write_home

NO_BWRAP = ("bubblewrap (bwrap) is not installed; install it with: apt-get install bubblewrap "
            "(or pass --unsafe-no-sandbox)")
POLL_S = 0.05  # how often the watchdog looks at memory while a command runs
DISK_POLL_S = 0.5
MIN_FREE_DISK_BYTES = 512 * 1024 * 1024  # never let a command take the host's last half GB
SYNC_TIMEOUT_S = 10.0


class Sandbox:
    def __init__(self, limits: Limits | None = None, unsafe_no_sandbox: bool = False) -> None:
        self.limits = limits or Limits()
        self.unsafe_no_sandbox = unsafe_no_sandbox
        self.bwrap = None if unsafe_no_sandbox else find_bwrap()
        if not unsafe_no_sandbox and self.bwrap is None:
            raise UserError(NO_BWRAP)
        self._venv: Path | None = None
        self._etc: Path | None = None

    def _prepare(self) -> tuple[Path, Path]:
        """Built lazily so constructing a Sandbox stays instant (the first build takes seconds)."""
        if self._venv is None or self._etc is None:
            self._venv = task_python().parent.parent
            self._etc = fake_etc()
        return self._venv, self._etc

    def run(self, command: str, workspace: Workspace, timeout_s: float) -> CommandResult:
        start = time.monotonic()
        try:
            venv, etc = self._prepare()
            write_home(workspace.home)
        except (OSError, RuntimeError) as exc:
            return CommandResult(None, "", False, time.monotonic() - start, error=f"sandbox set-up: {exc}")
        if self.unsafe_no_sandbox:
            return run_unsafe(command, workspace, venv, self.limits, timeout_s)
        assert self.bwrap is not None
        return _Execution(self.bwrap, self.limits, workspace, venv, etc, command, timeout_s).run()


class _Execution:
    """One command's life: spawn, place in its cgroup, pump output, watch limits, kill, collect."""

    def __init__(self, bwrap: str, limits: Limits, workspace: Workspace, venv: Path, etc: Path,
                 command: str, timeout_s: float) -> None:
        self.limits, self.workspace, self.timeout_s = limits, workspace, timeout_s
        self.start = time.monotonic()
        self.cgroup = PidsCgroup.create(limits.processes)
        self.capture = HeadTail(limits.output_cap_bytes)
        self.started = False
        self.killed_by: str | None = None
        self.fds: list[int] = []
        out_r, out_w = self._pipe()
        started_r, started_w = self._pipe()
        child_fds = [out_w, started_w]
        sync_fds = None
        if self.cgroup is not None:
            info_r, info_w = self._pipe()
            block_r, block_w = self._pipe()
            sync_fds = (info_w, block_r)
            child_fds += [info_w, block_r]
        argv = bwrap_argv(bwrap, limits, workspace, venv, etc, command, started_w, sync_fds)
        self.out_r, self.started_r = out_r, started_r
        self.argv, self.child_fds = argv, child_fds
        self.sync = None if sync_fds is None else (info_r, block_w)

    def _pipe(self) -> tuple[int, int]:
        r, w = os.pipe()
        self.fds += [r, w]
        return r, w

    def _close(self, fd: int) -> None:
        if fd in self.fds:
            self.fds.remove(fd)
            os.close(fd)

    def run(self) -> CommandResult:
        try:
            return self._run()
        finally:
            for fd in list(self.fds):
                self._close(fd)
            if self.cgroup is not None:
                self.cgroup.kill_all()
                self.cgroup.remove()

    def _run(self) -> CommandResult:
        try:
            self.proc = subprocess.Popen(
                self.argv, stdin=subprocess.DEVNULL, stdout=self.child_fds[0], stderr=self.child_fds[0],
                pass_fds=self.child_fds[1:], start_new_session=True, env={"PATH": "/usr/bin:/bin"})
        except OSError as exc:
            return self._result(None, error=f"cannot start bwrap: {exc}")
        for fd in self.child_fds:
            self._close(fd)
        if self.sync is not None:
            error = self._enter_cgroup(*self.sync)
            if error:
                self._kill()
                self._drain([self.out_r])
                return self._result(None, error=error)
        self._pump()
        code = self.proc.wait()
        if not self.started:
            return self._result(None, error=f"bwrap failed (exit {code}): {self.capture.text().strip()}")
        if self.killed_by is not None:
            return self._result(None)
        return self._result(code if code >= 0 else 128 - code)

    def _enter_cgroup(self, info_r: int, block_w: int) -> str | None:
        assert self.cgroup is not None
        data = b""
        deadline = time.monotonic() + SYNC_TIMEOUT_S
        while b"}" not in data:
            ready, _, _ = select.select([info_r], [], [], max(0.0, deadline - time.monotonic()))
            chunk = os.read(info_r, 4096) if ready else b""
            if not chunk:
                return None if self.proc.poll() is not None else "bwrap did not report its sandbox pid"
            data += chunk
        try:
            child = int(json.loads(data[: data.index(b"}") + 1])["child-pid"])
            # Only the sandbox's init: bwrap itself forks nothing more, and each write costs ms.
            self.cgroup.add(child)
        except ProcessLookupError:
            pass  # the sandbox already died in set-up: reported below as "bwrap failed"
        except (ValueError, KeyError, OSError) as exc:
            return f"cannot put the sandbox in its pids cgroup: {exc}"
        try:
            os.write(block_w, b"1")
        except BrokenPipeError:
            pass  # bwrap already gave up; "never started" reports it
        self._close(block_w)
        return None

    def _pump(self) -> None:
        """Read output until EOF and exit, enforcing the deadline and the watchdog limits."""
        deadline = self.start + self.timeout_s
        open_fds = [self.out_r, self.started_r]
        self.next_disk = self.start + DISK_POLL_S
        self.disk_free_at_start = _free_bytes(self.workspace.work)
        while open_fds or self.proc.poll() is None:
            if self.killed_by is None and time.monotonic() >= deadline:
                self._kill("timeout")
            if self.killed_by is not None:
                self._drain(open_fds)
                return
            wait = max(0.0, min(POLL_S, deadline - time.monotonic()))
            if open_fds:
                ready, _, _ = select.select(open_fds, [], [], wait)
                for fd in ready:
                    self._read(fd, open_fds)
            else:  # the command closed its output but is still running
                try:
                    self.proc.wait(timeout=wait)
                except subprocess.TimeoutExpired:
                    pass
            self._watchdog()

    def _read(self, fd: int, open_fds: list[int]) -> None:
        chunk = os.read(fd, 65536)
        if not chunk:
            open_fds.remove(fd)
        elif fd == self.started_r:
            self.started = True
        else:
            self.capture.add(chunk)

    def _drain(self, open_fds: list[int]) -> None:
        """After a kill: collect what is still in the pipes; everything that held them is dead."""
        self.proc.wait()
        while open_fds:
            ready, _, _ = select.select(open_fds, [], [], 2.0)
            if not ready:
                return
            for fd in ready:
                self._read(fd, open_fds)

    def _watchdog(self) -> None:
        if self.killed_by is not None or time.monotonic() - self.start < POLL_S:
            return  # most commands finish before the first poll; don't pay for it
        if self._resident_bytes() > self.limits.memory_mb * 1024 * 1024:
            self._kill("memory")
        elif time.monotonic() >= self.next_disk:
            self.next_disk = time.monotonic() + DISK_POLL_S
            free = _free_bytes(self.workspace.work)
            used = self.disk_free_at_start - free
            if used > self.limits.disk_mb * 1024 * 1024 or free < MIN_FREE_DISK_BYTES:
                self._kill("disk")

    def _resident_bytes(self) -> int:
        pids = self.cgroup.pids() if self.cgroup is not None else _tree_pids(self.proc.pid)
        page = os.sysconf("SC_PAGE_SIZE")
        total = 0
        for pid in pids:
            try:
                with open(f"/proc/{pid}/statm") as statm:
                    total += int(statm.read().split()[1]) * page
            except (OSError, IndexError, ValueError):
                pass
        return total

    def _kill(self, reason: str | None = None) -> None:
        """Kill bwrap's process group; bwrap's death takes the sandbox's pid namespace with it
        (--die-with-parent), and the cgroup sweep catches anything still alive."""
        if reason is not None and self.killed_by is None:
            self.killed_by = reason
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        if self.cgroup is not None:
            self.cgroup.kill_all()

    def _result(self, exit_code: int | None, error: str | None = None) -> CommandResult:
        output = self.capture.text() + kill_note(self.killed_by, self.limits, self.timeout_s)
        return CommandResult(exit_code=exit_code, output=output, timed_out=self.killed_by == "timeout",
                             wall_s=time.monotonic() - self.start, error=error, killed_by=self.killed_by,
                             output_bytes=self.capture.total)


def _free_bytes(path: Path) -> int:
    try:
        stats = os.statvfs(path)
    except OSError:
        return 0
    return stats.f_bavail * stats.f_frsize


def _tree_pids(root: int) -> list[int]:
    try:
        parent = psutil.Process(root)
        return [root] + [child.pid for child in parent.children(recursive=True)]
    except psutil.Error:
        return []
