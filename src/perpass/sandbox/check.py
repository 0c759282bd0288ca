"""`perpass sandbox check`: is confinement really in force on this machine, and how fast is it?"""

from __future__ import annotations

import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from perpass.sandbox.bwrap_args import find_bwrap
from perpass.sandbox.cgroup import pids_cgroup_parent
from perpass.sandbox.runner import NO_BWRAP, Sandbox
from perpass.sandbox.task_python import task_python
from perpass.sandbox.workspace import create_workspace

# (name, command, what its output must contain to count as contained/working)
PROBES = (
    ("python and pytest", "pytest --version", "pytest"),
    ("git push to origin", "git commit -qm probe --allow-empty && git push -q origin main && echo pushed",
     "pushed"),
    ("no network", "python -c \"import socket; socket.create_connection(('1.1.1.1', 80), 2)\" 2>&1 | tail -1",
     "unreachable"),
    ("host hidden", "ls /work /root 2>&1 | head -2", "No such file"),
)


@dataclass
class SandboxCheck:
    bwrap: str | None
    bwrap_version: str | None
    pids_cgroup: str | None
    task_python: str | None
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
    with tempfile.TemporaryDirectory(prefix="perpass-sandbox-check-") as scratch:
        repo = Path(scratch) / "repo"
        repo.mkdir()
        (repo / "README.md").write_text("probe\n")
        workspace = create_workspace(repo, Path(scratch) / "episode")
        sandbox = Sandbox()
        samples = []
        for _ in range(5):
            started = time.perf_counter()
            sandbox.run("true", workspace, 10)
            samples.append(time.perf_counter() - started)
        report.true_ms = round(sorted(samples)[2] * 1000, 1)
        for name, command, expected in PROBES:
            result = sandbox.run(command, workspace, 30)
            passed = result.error is None and expected in result.output
            report.probes[name] = passed
            if not passed:
                report.problems.append(f"{name}: {result.error or result.output.strip()[-200:]}")
    return report
