"""The verifier on sandbox sessions: read what an agent delivered out of its session, then verify it in a
fresh session of its own (perpass.verifier.flow does the verification inside it).

What was delivered is read once every process of the agent's session is dead: for push delivery the
bare remote's objects and its `main` (only committed and pushed work counts), for workspace delivery the
working tree without `.git`. Those bytes are hostile: on the host they are only split and sized; git,
the tree and the hidden tests meet only inside the verifier's session, which has its own tmpfs quota
and dies with everything it made.
"""

from __future__ import annotations

import dataclasses
import io
import re
import tarfile
from pathlib import Path

from perpass.sandbox import Limits, SandboxBackend, SandboxError, Session, SessionSpec, prepare_seed
from perpass.sandbox.inside.bundle import decode
from perpass.sandbox.kit import cached_copy
from perpass.sandbox.types import INSIDE_PATHS, Mount
from perpass.tasks.environment import task_venv
from perpass.tasks.model import Task, task_files
from perpass.verifier.flow import Delivery, Layout, VerifierLimits, method_of, verify_delivery
from perpass.verifier.judge import fail
from perpass.verifier.verdict import InfraError, Verdict

VERIFY_DIR = "perpass-verify"  # the verifier's scratch folder, in the session's /tmp
HIDDEN_INSIDE = "/opt/perpass-hidden"  # a task's hidden tests, read-only, where its fixed path needs them
SHA = re.compile(r"^[0-9a-f]{40}$")
MAIN = "refs/heads/main"


def remote_delivery(bundle: bytes) -> Delivery:
    """A bare remote (as a bundle read out of a session) → its objects as a tar, and its main's sha."""
    buffer = io.BytesIO()
    sha: str | None = None
    packed: str | None = None
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for kind, name, body in decode(bundle):
            if name == MAIN and kind in (b"f", b"x"):
                sha = body.decode("ascii", "replace").strip()
            elif name == "packed-refs" and kind in (b"f", b"x"):
                packed = body.decode("ascii", "replace")
            elif name == "objects" or name.startswith("objects/"):
                member = tarfile.TarInfo(name)
                if kind == b"d":
                    member.type = tarfile.DIRTYPE
                    archive.addfile(member)
                elif kind in (b"f", b"x"):
                    member.size = len(body)
                    archive.addfile(member, io.BytesIO(body))
    if sha is None and packed is not None:  # `git pack-refs` moved main into packed-refs
        sha = next((line.split()[0] for line in packed.splitlines() if line.endswith(f" {MAIN}")), None)
    return Delivery.push(buffer.getvalue(), sha if sha and SHA.match(sha) else None)


def collect_delivery(task: Task, session: Session) -> Delivery:
    """Stop everything the agent left running, then read out what counts. Raises SessionLost when the
    agent's own commands took the session down (then nothing was delivered)."""
    session.kill_all()
    if task.delivery == "push":
        return remote_delivery(session.export_bundle(session.paths.remote))
    return Delivery.workspace(session.export_tar(session.paths.workspace, skip=(".git",)))


def unchanged_delivery(task: Task) -> Delivery:
    """What an agent that did nothing delivers (for `tasks check`): the task's seed, unchanged."""
    seed = prepare_seed(task.repo, task.content_hash)
    if task.delivery == "push":
        assert seed.remote is not None
        return remote_delivery(seed.remote)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for path in sorted(task.repo.rglob("*")):
            if ".git" not in path.relative_to(task.repo).parts:
                archive.add(path, arcname=path.relative_to(task.repo).as_posix(), recursive=False)
    return Delivery.workspace(buffer.getvalue())


def session_limits(limits: VerifierLimits) -> Limits:
    """The verifier session's: /tmp holds the delivery as received and the tree made from it (each at
    most the cap), plus pytest's scratch; nothing else is written."""
    cap_mb = limits.caps.max_bytes // (1024 * 1024) + 1
    return Limits(tmp_mb=2 * cap_mb + 128, disk_mb=16, home_mb=16, remote_mb=16)


def layout_for(session: Session) -> Layout:
    """Where the verifier's kit and scratch folder are in this session (paths differ by backend)."""
    return Layout(kit=f"{session.paths.kit}/verifier", python="python", root=f"{session.paths.tmp}/{VERIFY_DIR}")


def fixed_path_links(task: Task) -> tuple[tuple[str, str], ...]:
    """The task's fixed paths as links into the verifier's session (made only by backends with a private
    root, whose /tmp is INSIDE_PATHS.tmp): the checkout, the hidden tests (read-only, HIDDEN_INSIDE), a
    logs folder."""
    root = f"{INSIDE_PATHS.tmp}/{VERIFY_DIR}"
    targets = {task.fixed_paths.workspace: f"{root}/tree",
               task.fixed_paths.hidden_tests: HIDDEN_INSIDE,
               task.fixed_paths.logs: f"{root}/tmp"}  # the tests' scratch folder (verify_delivery makes it)
    return tuple((path, target) for path, target in targets.items() if path)


def task_folder_mount(task: Task, folder: Path, inside: str) -> Mount:
    """A folder of the task (its hidden tests, its solution) shown read-only at `inside`, from a copy in
    the sandbox cache named by the task's content hash (no file is read again once it is there)."""
    files = [(path.relative_to(folder).as_posix(), path) for path in task_files(folder)]
    return Mount(str(cached_copy(f"task-{folder.name}", files, key=task.content_hash)), inside)


def hidden_tests_mount(task: Task) -> tuple[Mount, ...]:
    """A task that runs its hidden tests from a fixed path (Harbor's /tests/test.sh) gets them bound
    read-only: the tested code runs beside them as the same user, and bash reads a script as it runs it, so
    a writable test.sh could be rewritten under the verifier (measured: a pass forged that way)."""
    if not task.fixed_paths.hidden_tests:
        return ()
    return (task_folder_mount(task, task.tests, HIDDEN_INSIDE),)


def start_verifier_session(backend: SandboxBackend, limits: VerifierLimits, label: str,
                           task: Task | None = None) -> Session:
    spec = SessionSpec(session_limits(limits), shell="fresh", label=label)
    if task is not None:
        spec = dataclasses.replace(spec, venv=task_venv(task), links=fixed_path_links(task),
                                   mounts=hidden_tests_mount(task))
    try:
        return backend.start(spec)
    except SandboxError as err:
        raise InfraError(f"the verifier's sandbox did not start: {err}") from err


def verify(task: Task, delivery: Delivery, backend: SandboxBackend, limits: VerifierLimits | None = None) -> Verdict:
    """Verify a delivery in a fresh session. Raises InfraError only when the verifier's sandbox itself
    failed; anything the delivered content causes is a failed Verdict with its reason."""
    limits = limits or VerifierLimits()
    if len(delivery.data) > limits.caps.max_bytes:
        return fail("oversized", f"the delivery is {len(delivery.data)} bytes, over the cap of "
                                 f"{limits.caps.max_bytes}", delivered=True, method=method_of(task))
    session = start_verifier_session(backend, limits, f"verify {task.id}", task)
    try:
        return verify_delivery(task, delivery, session, layout=layout_for(session), limits=limits)
    except SandboxError as err:
        raise InfraError(f"the verifier's sandbox failed: {err}") from err
    finally:
        session.close()
