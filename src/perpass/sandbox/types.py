"""The sandbox's data: a session's limits and paths, and one command's result."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ShellMode = Literal["persistent", "fresh"]
SessionLimit = Literal["memory", "pids", "cpu", "disk"]


@dataclass(frozen=True)
class Limits:
    """Limits of one sandbox session (one episode). The session-wide ones (session_cpu_s, memory_mb,
    processes, the four folder quotas) end the episode with `resource_limit` when hit; the per-process
    ones (cpu_s, memory_mb as address space, file_size_mb, open_files) only fail the process that hits them.
    The quotas are sizes of tmpfs mounts: at most disk_mb + tmp_mb + home_mb + remote_mb in all, and at
    most `files` files and folders."""

    cpu_s: int = 120  # CPU seconds of any one process (soft limit: SIGXCPU; SIGKILL 2 s later)
    session_cpu_s: int = 1800  # CPU seconds of all the session's processes together
    memory_mb: int = 2048  # resident memory of all processes together; also each process's address space
    processes: int = 256  # processes alive at once
    file_size_mb: int = 100  # the largest file one process may write
    disk_mb: int = 1024  # /workspace
    tmp_mb: int = 256  # /tmp
    home_mb: int = 128  # /home/agent
    remote_mb: int = 256  # /remote.git, the push target
    open_files: int = 1024
    # Files and folders in the four folders together. Each costs the host ~1 KB of kernel memory that the
    # memory limit does not see, and an empty file costs no quota bytes: without a count, one command
    # made 1.9 million files (1.9 GB of host memory) in its 20 CPU seconds. Enforced where the folders
    # are the session's own tmpfs mounts (bwrap, docker), not under `none`.
    files: int = 200_000
    output_cap_bytes: int = 2 * 1024 * 1024  # kept as head + tail; the agent truncates further itself

    @property
    def quota_bytes(self) -> int:
        return (self.disk_mb + self.tmp_mb + self.home_mb + self.remote_mb) * 1024 * 1024


@dataclass(frozen=True)
class Mount:
    """A host folder shown read-only inside the session (an installed agent, the gateway's socket)."""

    host: str
    inside: str


@dataclass(frozen=True)
class SessionPaths:
    """Where things are as the session's commands see them."""

    workspace: str
    home: str
    tmp: str
    remote: str
    kit: str  # perpass's in-sandbox code (read-only)


INSIDE_PATHS = SessionPaths(workspace="/workspace", home="/home/agent", tmp="/tmp", remote="/remote.git",
                            kit="/opt/perpass-kit")


@dataclass
class CommandResult:
    """exit_code is None when the command was killed (timeout, limit) or never started.
    output = stdout+stderr merged, decoded with errors="replace".
    error is set only when the SANDBOX itself failed (infra), never for what the command did.
    lost: the session died while this command ran (the agent's doing: a fail, never infra).
    limit: a session-wide limit was hit (the episode ends with resource_limit)."""

    exit_code: int | None
    output: str
    timed_out: bool
    wall_s: float
    error: str | None = None
    killed_by: str | None = None  # "timeout", or the session limit that killed it
    output_bytes: int = 0  # bytes the command wrote, including the part dropped by the cap
    limit: SessionLimit | None = None
    lost: bool = False
    channel: bytes = field(default=b"", repr=False)  # what the command wrote to fd 3 (run(..., channel=True))
