"""The sandbox's data: resource limits, a command's result, an episode's workspace."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass
class Limits:
    """Per-command limits. Every process of the command gets cpu_s, memory_mb (address space) and
    file_size_mb; processes counts the whole command (pid cgroup); the others bound the command as a
    whole: memory_mb also caps the summed resident memory of all its processes (watchdog), tmp_mb sizes
    its private /tmp, disk_mb is how much the host disk may shrink while the command runs."""

    cpu_s: int = 120
    memory_mb: int = 2048
    processes: int = 256
    file_size_mb: int = 100
    tmp_mb: int = 256
    disk_mb: int = 2048
    open_files: int = 1024
    output_cap_bytes: int = 2 * 1024 * 1024  # kept as head + tail; the agent truncates further itself


@dataclass
class CommandResult:
    """exit_code is None when the command was killed (timeout, limit) or never started.
    output = stdout+stderr merged, decoded with errors="replace". error is set only when the SANDBOX
    itself failed (infra), never when the command failed."""

    exit_code: int | None
    output: str
    timed_out: bool
    wall_s: float
    error: str | None = None
    killed_by: str | None = None  # "timeout", "memory", "disk" when perpass killed the command
    output_bytes: int = 0  # bytes the command wrote, including the part dropped by the cap


@dataclass
class Workspace:
    """root = the episode's folder; work = the agent's repository (cwd, seen as /workspace inside);
    remote = bare git repo seen as /remote.git inside (`origin` of work). HOME is root/home."""

    root: Path
    work: Path
    remote: Path | None

    @property
    def home(self) -> Path:
        return self.root / "home"
