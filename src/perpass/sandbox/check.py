"""`perpass sandbox check`: is confinement really in force on this machine, and how fast is it?"""

from __future__ import annotations

import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from perpass.errors import UserError
from perpass.sandbox.bwrap import NO_BWRAP, BwrapBackend, find_bwrap
from perpass.sandbox.cgroup import pids_cgroup_parent
from perpass.sandbox.errors import SandboxError
from perpass.sandbox.session import SessionSpec
from perpass.sandbox.task_python import task_python
from perpass.sandbox.types import Limits
from perpass.sandbox.user import sandbox_ids
from perpass.sandbox.workspace import prepare_seed

# (name, command, what its output must contain to count as contained/working)
PROBES = (
    ("python and pytest", "pytest --version", "pytest"),
    ("git push to origin", "git commit -qm probe --allow-empty && git push -q origin main && echo pushed",
     "pushed"),
    ("no network", "python -c \"import socket; socket.create_connection(('1.1.1.1', 80), 2)\" 2>&1 | tail -1",
     "unreachable"),
    ("host hidden", "ls /work /root 2>&1 | head -2", "No such file"),
    ("/proc/sys read-only", "v=$(cat /proc/sys/kernel/core_pattern); (echo \"$v\" > /proc/sys/kernel/core_pattern)"
     " 2>&1 | tail -1", "Read-only file system"),
)


@dataclass
class SandboxCheck:
    bwrap: str | None
    bwrap_version: str | None
    pids_cgroup: str | None
    task_python: str | None
    host_uid: int | None = None  # the sandbox's uid as the host sees it: never 0
    start_ms: float | None = None
    true_ms: float | None = None
    probes: dict[str, bool] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "ok": self.ok}


def check_sandbox() -> SandboxCheck:
    bwrap = find_bwrap()
    version = None
    if bwrap:
        version = subprocess.run([bwrap, "--version"], capture_output=True, text=True).stdout.strip() or None
    parent = pids_cgroup_parent()
    report = SandboxCheck(bwrap, version, str(parent) if parent else None, None)
    if bwrap is None:
        report.problems.append(NO_BWRAP)
        return report
    if parent is None:
        report.problems.append("no writable pids cgroup: the process-count limit is not enforced")
    try:
        report.task_python = str(task_python())
    except (OSError, RuntimeError) as exc:
        report.problems.append(f"task Python: {exc}")
        return report
    try:
        sandbox_ids()
        backend = BwrapBackend()
        with tempfile.TemporaryDirectory(prefix="perpass-sandbox-check-") as scratch:
            (Path(scratch) / "README.md").write_text("probe\n")
            seed = prepare_seed(Path(scratch))
        started = time.perf_counter()
        session = backend.start(SessionSpec(Limits(), seed=seed, label="sandbox check"))
    except (UserError, SandboxError) as exc:
        report.problems.append(str(exc))
        return report
    report.start_ms = round((time.perf_counter() - started) * 1000, 1)
    try:
        report.host_uid = _host_uid(session.host_pid)
        if report.host_uid in (None, 0):
            report.problems.append(f"the sandbox runs as host uid {report.host_uid}: it must not be root")
        samples = []
        for _ in range(9):
            started = time.perf_counter()
            session.run("true", 10)
            samples.append(time.perf_counter() - started)
        report.true_ms = round(sorted(samples)[4] * 1000, 2)
        for name, command, expected in PROBES:
            result = session.run(command, 30)
            passed = result.error is None and expected in result.output
            report.probes[name] = passed
            if not passed:
                report.problems.append(f"{name}: {result.error or result.output.strip()[-200:]}")
    finally:
        session.close()
    return report


def _host_uid(pid: int | None) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("Uid:"))
    except (OSError, StopIteration, TypeError):
        return None
