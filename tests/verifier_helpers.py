"""Helpers of the verifier tests, all on real bwrap sessions: the verifier's own session (as the product
starts it), proxies around a real session that record what went in or inject one fault, and deliveries
made the way an agent makes them: files put into a real agent session, committed and pushed there by
git inside it, then read out with `collect_delivery`. Trees git would refuse to build cheaply (bombs,
deep trees, corrupt objects) are written as raw git objects on the host and pushed into the agent
session's bare remote as files, as an agent could; tars an agent's session can never produce
(`..` members, devices) go to the verifier as bytes, to show the materialiser refuses them anyway."""

from __future__ import annotations

import functools
import hashlib
import io
import json
import shlex
import shutil
import tarfile
import tempfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sandbox_helpers import read_tar

from perpass.sandbox import CommandResult, Limits, SandboxBackend, Session, SessionSpec, open_backend, prepare_seed
from perpass.tasks import Task
from perpass.verifier import Delivery, VerifierLimits
from perpass.verifier.records import RunRecords, read_run
from perpass.verifier.sandboxed import collect_delivery, layout_for, remote_delivery, start_verifier_session

COMMIT_AND_PUSH = ("git add -A --force && { git diff --cached --quiet || git commit -qm work --no-verify; } "
                   "&& git push -q --force origin HEAD:main")


@functools.cache
def backend() -> SandboxBackend:
    """The bwrap backend, opened once per test process (the task Python and kit are checked once)."""
    return open_backend("bwrap")


@contextmanager
def verifier_session(limits: VerifierLimits | None = None) -> Iterator[Session]:
    """A verifier session exactly as `perpass.verifier.sandboxed.verify` starts one, closed after."""
    session = start_verifier_session(backend(), limits or VerifierLimits(), "verifier test")
    try:
        yield session
    finally:
        session.close()


def kit_command(session: Session, script: str, *args: str) -> str:
    """The command line of one of the kit's scripts inside `session`, as verify_delivery builds it."""
    layout = layout_for(session)
    return " ".join(shlex.quote(a) for a in (layout.python, "-I", "-B", f"{layout.kit}/{script}", *args))


def exists(session: Session, path: str) -> bool:
    result = session.run(f"test -e {shlex.quote(path)} || test -L {shlex.quote(path)}", 10)
    assert result.error is None and not result.lost, result
    return result.exit_code == 0


def files_of(session: Session, path: str) -> dict[str, bytes | str]:
    """What a folder of the session holds: name -> bytes (files), '-> target' (links), 'dir' (folders)."""
    return read_tar(session.export_tar(path))


def modes_of(session: Session, path: str) -> dict[str, int]:
    with tarfile.open(fileobj=io.BytesIO(session.export_tar(path))) as tar:
        return {member.name: member.mode for member in tar if member.isreg()}


def file_tar(files: dict[str, bytes]) -> bytes:
    """A tar of plain files (for session.put_tar)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


# --- proxies around a real session ------------------------------------------------------------------
class SessionProxy:
    """A real session seen through: every request goes to it; subclasses change one of them."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def __getattr__(self, name: str) -> object:
        return getattr(self.session, name)

    def run(self, command: str, timeout_s: float, *, channel: bool = False) -> CommandResult:
        return self.session.run(command, timeout_s, channel=channel)

    def put_tar(self, dest: str, data: bytes) -> None:
        self.session.put_tar(dest, data)

    def close(self) -> None:
        self.session.close()


class RecordingSession(SessionProxy):
    """Keeps the runner's config verify_delivery put in (it holds the channel key) and every result."""

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self.config: dict = {}
        self.config_name = ""
        self.results: list[CommandResult] = []

    def put_tar(self, dest: str, data: bytes) -> None:
        with tarfile.open(fileobj=io.BytesIO(data)) as archive:
            for member in archive:
                if member.name.startswith("c-") and member.name.endswith(".json"):
                    self.config = json.loads(archive.extractfile(member).read())  # type: ignore[union-attr]
                    self.config_name = member.name
        super().put_tar(dest, data)

    def run(self, command: str, timeout_s: float, *, channel: bool = False) -> CommandResult:
        result = super().run(command, timeout_s, channel=channel)
        self.results.append(result)
        return result

    def records(self) -> RunRecords:
        return read_run(self.results[-1].channel, bytes.fromhex(self.config["key"]))


class FaultyBackend:
    """The real backend, whose sessions are wrapped by `wrap` (a proxy that injects a fault)."""

    def __init__(self, real: SandboxBackend, wrap: Callable[[Session], Session]) -> None:
        self.real, self.wrap, self.name = real, wrap, real.name

    def start(self, spec: SessionSpec) -> Session:
        return self.wrap(self.real.start(spec))


# --- deliveries ---------------------------------------------------------------------------------
def copy_repo(initial: Path, work: Path) -> Path:
    """A plain copy of a task's repo/ on the host, for a trick to write into."""
    shutil.copytree(initial, work, symlinks=True)
    return work


def folder_tar(folder: Path) -> bytes:
    """A folder as a tar (modes and symlinks kept; FIFOs would be left out by put_tar anyway)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for path in sorted(folder.rglob("*")):
            archive.add(path, arcname=path.relative_to(folder).as_posix(), recursive=False)
    return buffer.getvalue()


@contextmanager
def agent_session(seed_repo: Path, key: str | None = None) -> Iterator[Session]:
    """A session as an episode starts it: the repository committed as main, `origin` the bare remote."""
    session = backend().start(SessionSpec(Limits(), seed=prepare_seed(seed_repo, key), label="agent (test)"))
    try:
        yield session
    finally:
        session.close()


def run_all(session: Session, commands: tuple[str, ...] | list[str]) -> None:
    for command in commands:
        result = session.run(command, 60)
        assert result.exit_code == 0, (command, result.output)


def replace_workspace(session: Session, work: Path) -> None:
    """The agent's working tree becomes `work` (its .git kept): removed, then put in."""
    run_all(session, ["find . -mindepth 1 -maxdepth 1 ! -name .git -exec rm -rf {} +"])
    session.put_tar(session.paths.workspace, folder_tar(work))


def deliver(task: Task, work: Path, commands: tuple[str, ...] = ()) -> Delivery:
    """Deliver `work` as an agent would in a real session: for push delivery committed and pushed to
    origin main by git inside the session, for workspace delivery left in the working tree; then
    `commands` run there, and the delivery is read out as the product reads it."""
    with agent_session(task.repo, task.content_hash) as session:
        replace_workspace(session, work)
        run_all(session, ((COMMIT_AND_PUSH,) if task.delivery == "push" else ()) + tuple(commands))
        return collect_delivery(task, session)


def deliver_by(task: Task, *commands: str, tmp_files: dict[str, bytes] | None = None) -> Delivery:
    """What an agent delivers after running `commands` (each must exit 0) in a real session of the task;
    tmp_files are put under the session's /tmp first (an oracle script, say)."""
    with agent_session(task.repo, task.content_hash) as session:
        if tmp_files:
            session.put_tar(session.paths.tmp, file_tar(tmp_files))
        run_all(session, commands)
        return collect_delivery(task, session)


def deliver_files(files: dict[str, str | bytes], commands: tuple[str, ...] = (),
                  before: tuple[str, ...] = ()) -> Delivery:
    """Push delivery of a small repository: an empty initial commit, then `files` (and whatever
    `before` does, e.g. symlinks, chmod, git config) committed and pushed inside a real session."""
    with tempfile.TemporaryDirectory(prefix="perpass-test-") as scratch:
        empty, work = Path(scratch) / "empty", Path(scratch) / "work"
        empty.mkdir()
        work.mkdir()
        for rel, content in files.items():
            path = work / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content if isinstance(content, bytes) else content.encode())
        with agent_session(empty) as session:
            session.put_tar(session.paths.workspace, folder_tar(work))
            run_all(session, (*before, COMMIT_AND_PUSH, *commands))
            session.kill_all()
            return remote_delivery(session.export_bundle(session.paths.remote))


def push_objects(task: Task, raw: RawObjects) -> Delivery:
    """Hand-made objects and a main naming `raw.sha`, written into the agent session's bare remote
    (as an agent could write files there), then read out as the product reads a push."""
    with agent_session(task.repo, task.content_hash) as session:
        session.put_tar(session.paths.remote, raw.tar)
        run_all(session, [f"printf '%s\\n' {shlex.quote(raw.sha)} > {session.paths.remote}/refs/heads/main"])
        return collect_delivery(task, session)


def objects_tar(bare: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        archive.add(bare / "objects", arcname="objects")
    return buffer.getvalue()


def tree_tar(work: Path, extra: Callable[[tarfile.TarFile], None] | None = None) -> Delivery:
    """A workspace delivery as raw tar bytes (for members no session export would ever hold)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for path in sorted(work.rglob("*")):
            archive.add(path, arcname=path.relative_to(work).as_posix(), recursive=False)
        if extra:
            extra(archive)
    return Delivery.workspace(buffer.getvalue())


ZEROS_CACHE: dict[int, tuple[str, bytes]] = {}


class LooseObjects:
    """Writes git objects by hand into objects/ (zlib-compressed loose objects): a 1 GiB blob of
    zeros costs about 1 MB this way and is never held in memory."""

    def __init__(self, root: Path) -> None:
        self.objects = root / "objects"
        self.objects.mkdir(parents=True, exist_ok=True)

    def write(self, kind: str, chunks: Callable[[], object], size: int) -> str:
        digest = hashlib.sha1(f"{kind} {size}\0".encode())
        for chunk in chunks():  # type: ignore[attr-defined]
            digest.update(chunk)
        sha = digest.hexdigest()
        compressor = zlib.compressobj(1)
        data = bytearray(compressor.compress(f"{kind} {size}\0".encode()))
        for chunk in chunks():  # type: ignore[attr-defined]
            data += compressor.compress(chunk)
        data += compressor.flush()
        self.put(sha, bytes(data))
        return sha

    def put(self, sha: str, compressed: bytes) -> None:
        path = self.objects / sha[:2] / sha[2:]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(compressed)

    def blob(self, data: bytes) -> str:
        return self.write("blob", lambda: [data], len(data))

    def zeros(self, size: int, chunk: int = 1 << 20) -> str:
        """A blob of `size` zero bytes; hashed and compressed once per test process (seconds for 1 GiB)."""
        if size not in ZEROS_CACHE:
            def chunks():  # type: ignore[no-untyped-def]
                left = size
                block = bytes(chunk)
                while left:
                    yield block[:min(left, chunk)]
                    left -= min(left, chunk)
            sha = self.write("blob", chunks, size)
            ZEROS_CACHE[size] = (sha, (self.objects / sha[:2] / sha[2:]).read_bytes())
        sha, compressed = ZEROS_CACHE[size]
        self.put(sha, compressed)
        return sha

    def tree(self, entries: list[tuple[str, str, str]]) -> str:
        """entries: (mode, name, sha); git wants them sorted by name (folders as name + '/')."""
        def order(entry: tuple[str, str, str]) -> bytes:
            return entry[1].encode() + (b"/" if entry[0] == "40000" else b"")
        body = b"".join(f"{mode} {name}".encode() + b"\0" + bytes.fromhex(sha)
                        for mode, name, sha in sorted(entries, key=order))
        return self.write("tree", lambda: [body], len(body))

    def commit(self, tree: str, parent: str | None = None) -> str:
        lines = [f"tree {tree}"] + ([f"parent {parent}"] if parent else []) + [
            "author a <a@b> 1700000000 +0000", "committer a <a@b> 1700000000 +0000", "", "crafted", ""]
        body = "\n".join(lines).encode()
        return self.write("commit", lambda: [body], len(body))


@dataclass(frozen=True)
class RawObjects:
    """Hand-made git objects (a tar of objects/) and the commit main is to name: what an agent writes
    into its bare remote by hand; push_objects puts them there in a real session."""

    tar: bytes
    sha: str


def crafted(work: Path, build: Callable[[LooseObjects], str]) -> RawObjects:
    """Objects of a commit built by hand (build returns the root tree's sha)."""
    root = work.parent / f"{work.name}-crafted"
    objects = LooseObjects(root)
    sha = objects.commit(build(objects))
    return RawObjects(objects_tar(root), sha)
