"""The verifier: run a task's hidden tests on what the agent delivered, in a sandbox session of its own.

What was delivered is read out of the agent's session once every process in it is dead: for push
delivery the bare remote (only committed and pushed work counts), for workspace delivery the working tree.
A fresh session receives it, the hidden tests are added only there, and the test command runs there:
the agent never sees the hidden tests, and nothing of the verification touches the host's disk.
"""

from __future__ import annotations

import shlex
import time
from dataclasses import dataclass
from typing import Literal

from perpass.sandbox import Limits, SandboxBackend, SandboxError, Session, SessionSpec, prepare_seed
from perpass.sandbox.archive import bundle_to_tar
from perpass.sandbox.errors import SessionLost
from perpass.sandbox.inside.bundle import pack
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
    reason: str = "passed"  # why it failed, when it did


@dataclass(frozen=True)
class Delivered:
    """What the agent handed in, as read out of its session (hostile bytes)."""

    kind: Literal["push", "workspace"]
    data: bytes  # push: tar of the bare remote; workspace: tar of the working tree without .git


class VerifierError(RuntimeError):
    """The verifier's own sandbox failed: infra, never the agent's failure (the loop records it so)."""


def trim(output: str) -> str:
    if len(output) <= OUTPUT_HEAD_CHARS + OUTPUT_TAIL_CHARS:
        return output
    dropped = len(output) - OUTPUT_HEAD_CHARS - OUTPUT_TAIL_CHARS
    return f"{output[:OUTPUT_HEAD_CHARS]}\n[... {dropped} characters cut ...]\n{output[-OUTPUT_TAIL_CHARS:]}"


def collect_delivery(task: Task, session: Session) -> Delivered:
    """Stop everything the agent left running, then read out what counts. SessionLost when the agent's
    own commands took the session down (then nothing was delivered)."""
    session.kill_all()
    if task.delivery == "push":
        return Delivered("push", session.export_tar(session.paths.remote))
    return Delivered("workspace", session.export_tar(session.paths.workspace, skip=(".git",)))


def unchanged_delivery(task: Task) -> Delivered:
    """What an agent that did nothing delivers (for `tasks check`)."""
    seed = prepare_seed(task.repo, task.content_hash)
    if task.delivery == "push":
        assert seed.remote is not None
        return Delivered("push", bundle_to_tar(seed.remote))
    return Delivered("workspace", bundle_to_tar(pack(str(task.repo), 1 << 30, skip_top=(".git",))))


def _checkout(task: Task, delivered: Delivered, session: Session) -> bool:
    """The delivered tree at the session's workspace; returns whether anything was delivered."""
    workspace, scratch = session.paths.workspace, session.paths.tmp
    if delivered.kind == "workspace":
        session.put_tar(workspace, delivered.data)
        return True
    session.put_tar(f"{scratch}/pushed.git", delivered.data)
    clone = session.run(f"git -c core.hooksPath=/dev/null clone -q --no-local --single-branch --branch main "
                        f"{shlex.quote(scratch)}/pushed.git . && git rev-list --count HEAD", 120)
    if clone.error:
        raise VerifierError(f"sandbox failed while checking out {task.id}: {clone.error}")
    if clone.exit_code == 0:
        return clone.output.strip().splitlines()[-1:] != ["1"]
    session.run("rm -rf -- ./* ./.[!.]* 2>/dev/null; true", 60)  # main is gone: verify the initial state
    session.put_bundle(workspace, pack(str(task.repo), 1 << 30, skip_top=(".git",)))
    return False


def verify(task: Task, delivered: Delivered, backend: SandboxBackend, limits: Limits | None = None) -> Verdict:
    """Run the hidden tests on the delivered work; passed = the test command exits 0.

    Raises VerifierError only when the verifier's sandbox itself failed (infra). Anything the
    delivered content causes (a crash, a timeout, a session it takes down) is a fail."""
    started = time.perf_counter()
    try:
        session = backend.start(SessionSpec(limits or Limits(), shell="fresh", label=f"verify {task.id}"))
    except SandboxError as err:
        raise VerifierError(f"the verifier's sandbox did not start for {task.id}: {err}") from err
    try:
        try:
            delivered_any = _checkout(task, delivered, session)
            hidden = f"{session.paths.workspace}/{task.hidden_dir}"
            session.run(f"rm -rf -- {shlex.quote(hidden)}", 60)  # whatever the agent put there goes
            session.put_bundle(hidden, pack(str(task.tests), 1 << 30))
        except (SandboxError, SessionLost) as err:
            return Verdict(False, f"[verifier: the delivered tree could not be set up: {err}]",
                           time.perf_counter() - started, 0.0, reason="unreadable_tree")
        result = session.run(task.test_command, task.verify_timeout_s)
    finally:
        session.close()
    if result.error is not None:
        raise VerifierError(f"sandbox failed while verifying {task.id}: {result.error}")
    passed = result.exit_code == 0 and not result.timed_out and result.limit is None and not result.lost
    reason = ("passed" if passed else "timeout" if result.timed_out else "resource_limit" if result.limit
              else "session_lost" if result.lost else "tests_failed")
    output = result.output + ("\n[verifier: hidden tests timed out]" if result.timed_out else "")
    return Verdict(passed, trim(output), time.perf_counter() - started, result.wall_s, delivered=delivered_any,
                   reason=reason)
