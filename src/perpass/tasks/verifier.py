"""The verifier: run a task's hidden tests on what the agent delivered, in a sandbox of its own.

Push delivery checks a fresh clone of the remote's `main`, never the agent's working copy, so
only committed and pushed work counts. Workspace delivery checks the working copy as left.
Either way the checked copy lives outside the agent's workspace and the hidden tests are copied
in only now, so the agent never sees them.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from perpass.sandbox import Sandbox, Workspace
from perpass.sandbox.workspace import run_git
from perpass.tasks.model import Task

OUTPUT_HEAD_CHARS = 2000
OUTPUT_TAIL_CHARS = 6000  # pytest puts the summary last: keep more of the end


@dataclass
class Verdict:
    passed: bool
    output: str  # the hidden tests' output, trimmed (head and tail kept)
    wall_s: float  # the whole verification, set-up included
    tests_s: float  # the hidden tests' own run in the sandbox
    delivered: bool = True  # push delivery: main moved past the initial commit


class VerifierError(RuntimeError):
    """The checkout or the sandbox failed: infra, never the agent's failure (the loop records it so)."""


def trim(output: str) -> str:
    if len(output) <= OUTPUT_HEAD_CHARS + OUTPUT_TAIL_CHARS:
        return output
    dropped = len(output) - OUTPUT_HEAD_CHARS - OUTPUT_TAIL_CHARS
    return f"{output[:OUTPUT_HEAD_CHARS]}\n[... {dropped} characters cut ...]\n{output[-OUTPUT_TAIL_CHARS:]}"


def checkout_pushed(task: Task, remote: Path, dest: Path) -> bool:
    """Clone the remote's main into dest; the task's initial repository when main is gone.

    Returns whether main holds more than the initial commit (something was delivered)."""
    cloned = run_git(["clone", "-q", "--single-branch", "--branch", "main", str(remote), str(dest)], dest.parent)
    if cloned.returncode != 0:
        shutil.rmtree(dest, ignore_errors=True)
        shutil.copytree(task.repo, dest, symlinks=True)
        return False
    count = run_git(["rev-list", "--count", "HEAD"], dest)
    return count.returncode == 0 and count.stdout.strip() != "1"


def not_copied(folder: str, names: list[str]) -> set[str]:
    """.git, and anything that is not a plain file, folder or link: reading a FIFO the agent left
    behind would block the verifier forever."""
    skipped = {".git"}
    for name in names:
        mode = os.lstat(os.path.join(folder, name)).st_mode
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISLNK(mode)):
            skipped.add(name)
    return skipped


def copy_working_tree(work: Path, dest: Path) -> None:
    # symlinks=True: a link the agent made must not pull host files into the checked copy.
    shutil.copytree(work, dest, symlinks=True, ignore=not_copied)


def add_hidden_tests(task: Task, checkout: Path) -> None:
    hidden = checkout / task.hidden_dir
    # Whatever the agent put at that path goes: it must not plant a conftest.py beside our tests.
    if hidden.is_symlink() or hidden.is_file():
        hidden.unlink()
    elif hidden.exists():
        shutil.rmtree(hidden)
    shutil.copytree(task.tests, hidden)


def verify(task: Task, workspace: Workspace, sandbox: Sandbox) -> Verdict:
    """Run the hidden tests on the delivered work; passed = the test command exits 0.

    Raises VerifierError when the verification itself could not run (infra)."""
    started = time.perf_counter()
    root = Path(tempfile.mkdtemp(prefix="verify-", dir=workspace.root))
    try:
        checkout = root / "work"  # Sandbox.run makes root/home, the verifier's HOME
        delivered = True
        try:
            if task.delivery == "push":
                if workspace.remote is None:
                    raise ValueError(f"task {task.id} is delivered by push but the workspace has no remote")
                delivered = checkout_pushed(task, workspace.remote, checkout)
            else:
                copy_working_tree(workspace.work, checkout)
            add_hidden_tests(task, checkout)
        except (OSError, ValueError) as err:
            raise VerifierError(f"verifier set-up for {task.id} failed: {err}") from err
        result = sandbox.run(task.test_command, Workspace(root=root, work=checkout, remote=None),
                             timeout_s=task.verify_timeout_s)
        if result.error is not None:
            raise VerifierError(f"sandbox failed while verifying {task.id}: {result.error}")
        passed = result.exit_code == 0 and not result.timed_out
        output = result.output + ("\n[verifier: hidden tests timed out]" if result.timed_out else "")
        return Verdict(passed, trim(output), time.perf_counter() - started, result.wall_s,
                       delivered=delivered)
    finally:
        shutil.rmtree(root, ignore_errors=True)
