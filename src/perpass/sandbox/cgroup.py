"""A per-command pids cgroup: the process-count limit that also holds for root, and the exact list
of the command's processes (for the memory watchdog and the final kill).

RLIMIT_NPROC does not work here: it counts per uid and root (uid 0 outside the user namespace)
bypasses it. A pids cgroup counts the command's processes only, whoever owns them, so a fork bomb
hits pids.max and the host and other episodes are untouched. cgroup v1 (`/sys/fs/cgroup/pids`)
and a delegated cgroup v2 subtree are supported; without either, `PidsCgroup.create` returns None
and the caller falls back to the pid namespace + timeout (documented in docs/sandbox.md)."""

from __future__ import annotations

import atexit
import itertools
import os
import signal
import threading
import time
from pathlib import Path

V1_ROOT = Path("/sys/fs/cgroup/pids")
V2_ROOT = Path("/sys/fs/cgroup")
GROUP_NAME = "perpass-sandbox"
_counter = itertools.count()
_parent_cache: list[Path | None] = []


def _v2_own_dir() -> Path | None:
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith("0::"):
            return V2_ROOT / line[3:].lstrip("/")
    return None


def pids_cgroup_parent() -> Path | None:
    """perpass's own group of per-command cgroups, made once per process; None if not allowed."""
    if _parent_cache:
        return _parent_cache[0]
    found: Path | None = None
    candidates = [V1_ROOT] if (V1_ROOT / "cgroup.procs").exists() else []
    own_v2 = _v2_own_dir()
    if own_v2 is not None and (V2_ROOT / "cgroup.controllers").exists():
        candidates.append(own_v2)
    for base in candidates:
        parent = base / GROUP_NAME
        try:
            parent.mkdir(exist_ok=True)
            if base != V1_ROOT:
                (parent / "cgroup.subtree_control").write_text("+pids")
            probe = parent / f"probe-{os.getpid()}"
            probe.mkdir(exist_ok=True)
            usable = (probe / "pids.max").exists()
            probe.rmdir()
        except OSError:
            continue
        if usable:
            found = parent
            _sweep_stale(parent)
            break
    _parent_cache.append(found)
    return found


def _sweep_stale(parent: Path) -> None:
    """Remove empty groups left by perpass processes that died mid-command (named <pid>-<n>)."""
    for child in parent.iterdir():
        owner = child.name.split("-", 1)[0]
        if child.is_dir() and owner.isdigit() and not Path(f"/proc/{owner}").exists():
            try:
                child.rmdir()
            except OSError:
                pass


class PidsCgroup:
    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def create(cls, max_pids: int) -> PidsCgroup | None:
        parent = pids_cgroup_parent()
        if parent is None:
            return None
        path = parent / f"{os.getpid()}-{next(_counter)}"
        try:
            path.mkdir()
            (path / "pids.max").write_text(str(max_pids))
        except OSError:
            return None
        return cls(path)

    def add(self, pid: int) -> None:
        (self.path / "cgroup.procs").write_text(str(pid))

    def refused_forks(self) -> int:
        """How many forks pids.max has refused so far (the "max" counter of pids.events)."""
        try:
            for line in (self.path / "pids.events").read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "max":
                    return int(value)
        except (OSError, ValueError):
            pass
        return 0

    def pids(self) -> list[int]:
        try:
            return [int(p) for p in (self.path / "cgroup.procs").read_text().split()]
        except OSError:
            return []

    def kill_all(self, grace_s: float = 2.0) -> None:
        """SIGKILL until empty: a fork bomb keeps forking while we kill, but pids.max bounds it."""
        end = time.monotonic() + grace_s
        while time.monotonic() < end:
            pids = self.pids()
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.002)

    def remove(self) -> None:
        """rmdir fails (EBUSY) while dead processes are still leaving the group; rather than wait for
        them, retry later: on the next removal, and once more at the end of the process."""
        with _pending_lock:  # Sandbox.run may be called from several threads at once
            _pending.append(self.path)
            for path in list(_pending):
                try:
                    path.rmdir()
                except FileNotFoundError:
                    pass
                except OSError:
                    continue
                _pending.remove(path)


_pending: list[Path] = []
_pending_lock = threading.Lock()


@atexit.register
def _remove_pending() -> None:
    for path in _pending:
        for _ in range(50):
            try:
                path.rmdir()
                break
            except FileNotFoundError:
                break
            except OSError:
                PidsCgroup(path).kill_all(grace_s=0.05)
                time.sleep(0.01)
