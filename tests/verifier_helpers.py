"""Helpers of the verifier tests: a host-subprocess stand-in for the sandbox Session (TEST ONLY: it
runs the kit as plain processes on this machine, with rlimits; the product runs it in the bwrap
session), and builders of deliveries: real git pushes to a bare remote, tars of working trees, and
hand-made git objects for trees git itself would refuse to build cheaply (bombs, deep trees)."""

from __future__ import annotations

import hashlib
import importlib
import io
import os
import resource
import selectors
import shutil
import signal
import subprocess
import tarfile
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from perpass.sandbox.task_python import task_python
from perpass.sandbox.workspace import run_git
from perpass.verifier import Delivery, Layout, Session
from perpass.verifier.kit import KIT_DIR

OUTPUT_CAP = 2 * 1024 * 1024
FILE_SIZE_LIMIT = 256 * 1024 * 1024  # no single file the kit (or a regressed kit) writes may exceed this
MEMORY_LIMIT = 4 * 1024 * 1024 * 1024


@dataclass
class HostResult:
    exit_code: int | None
    output: str
    timed_out: bool
    wall_s: float
    error: str | None = None
    killed_by: str | None = None
    channel: bytes = b""


def limit_resources() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT, FILE_SIZE_LIMIT))
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


class HostSession:
    """The Session protocol with host subprocesses: `bash -c COMMAND` in its own process group, the
    channel a pipe moved to fd 3, stdout+stderr merged and capped, SIGKILL to the group on timeout."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        (root / "home").mkdir(exist_ok=True)
        python_bin = str(task_python().parent)
        self.env = {"PATH": f"{python_bin}:/usr/bin:/bin", "HOME": str(root / "home"), "LANG": "C.UTF-8",
                    "PYTHONDONTWRITEBYTECODE": "1", "GIT_CONFIG_NOSYSTEM": "1", "TMPDIR": str(root / "home")}

    @staticmethod
    def layout(root: Path) -> Layout:
        return Layout(kit=str(KIT_DIR), python=str(task_python()), root=str(root / "verify"))

    def put_tar(self, dest: str, data: bytes) -> None:
        Path(dest).mkdir(parents=True, exist_ok=True)
        with tarfile.open(fileobj=io.BytesIO(data)) as archive:
            archive.extractall(dest, filter="tar")

    def export_tar(self, path: str) -> bytes:
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as archive:
            archive.add(path, arcname=".")
        return buffer.getvalue()

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    def run(self, command: str, timeout_s: float, *, channel: bool = False) -> HostResult:
        read_end, write_end = os.pipe()
        wrapped = f"exec 3>&{write_end} {write_end}>&-; {command}" if channel else f"exec 3>&-; {command}"
        started = time.perf_counter()
        proc = subprocess.Popen(["bash", "-c", wrapped], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, pass_fds=(write_end,), start_new_session=True,
                                env=self.env, cwd=self.root, preexec_fn=limit_resources)
        os.close(write_end)
        assert proc.stdout is not None
        out_fd = proc.stdout.fileno()
        buffers = {out_fd: bytearray(), read_end: bytearray()}
        selector = selectors.DefaultSelector()
        for fd in buffers:
            selector.register(fd, selectors.EVENT_READ)
        deadline, timed_out, exited_at = started + timeout_s, False, None
        while selector.get_map():
            now = time.perf_counter()
            if exited_at is None and proc.poll() is not None:
                exited_at = now  # a daemonised grandchild may hold the pipes: give it one second
            if exited_at is not None and now > exited_at + 1.0:
                break
            if now > deadline:
                if not timed_out and exited_at is None:
                    timed_out = True
                    os.killpg(proc.pid, signal.SIGKILL)
                    deadline = now + 2.0
                else:
                    break
            for key, _ in selector.select(timeout=0.2):
                data = os.read(key.fd, 65536)
                if not data:
                    selector.unregister(key.fd)
                elif len(buffers[key.fd]) < OUTPUT_CAP:
                    buffers[key.fd] += data
        selector.close()
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # nothing of the command outlives it
        except ProcessLookupError:
            pass
        exit_code = proc.wait()
        os.close(read_end)
        proc.stdout.close()
        return HostResult(exit_code=None if timed_out else exit_code,
                          output=bytes(buffers[out_fd]).decode(errors="replace"),
                          timed_out=timed_out, wall_s=time.perf_counter() - started,
                          killed_by="timeout" if timed_out else None, channel=bytes(buffers[read_end]))


def new_session(root: Path) -> tuple[Session, Layout]:
    """A fresh verifier session and where things are in it. HostSession unless
    PERPASS_VERIFIER_SESSION names a factory `module:function` taking the root folder and returning
    (session, layout): that is how the battery runs through the bwrap session."""
    spec = os.environ.get("PERPASS_VERIFIER_SESSION", "")
    if spec:
        module, _, function = spec.partition(":")
        return getattr(importlib.import_module(module), function)(root)  # type: ignore[no-any-return]
    session = HostSession(root)
    return session, HostSession.layout(root)


# --- deliveries ---------------------------------------------------------------------------------
def git(cwd: Path, *args: str) -> str:
    done = run_git(list(args), cwd)
    assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr}"
    return done.stdout


def objects_tar(bare: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        archive.add(bare / "objects", arcname="objects")
    return buffer.getvalue()


def start_repo(initial: Path, work: Path) -> Path:
    """The agent's repository as create_workspace makes it: the task's repo/ committed as main."""
    shutil.copytree(initial, work, symlinks=True)
    git(work, "init", "-q", "-b", "main")
    git(work, "add", "-A")
    git(work, "commit", "-qm", "initial")
    return work


def push(work: Path) -> Delivery:
    """Commit everything and push it to a fresh bare remote, as an agent would; deliver that remote."""
    git(work, "add", "-A", "--force")
    if git(work, "status", "--porcelain").strip():
        git(work, "commit", "-qm", "work", "--no-verify")
    bare = work.parent / f"{work.name}-remote.git"
    if not bare.exists():
        git(work.parent, "init", "-q", "--bare", str(bare))
    git(work, "push", "-q", "--force", str(bare), "HEAD:main")
    return Delivery.push(objects_tar(bare), (bare / "refs" / "heads" / "main").read_text())


def tree_tar(work: Path, extra: Callable[[tarfile.TarFile], None] | None = None) -> Delivery:
    """A workspace delivery: the working tree as a tar (FIFOs kept as FIFO members, links as links)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for path in sorted(work.rglob("*")):
            archive.add(path, arcname=path.relative_to(work).as_posix(), recursive=False)
        if extra:
            extra(archive)
    return Delivery.workspace(buffer.getvalue())


ZEROS_CACHE: dict[int, tuple[str, bytes]] = {}


class LooseObjects:
    """Writes git objects by hand into a bare repository's objects/ (zlib-compressed loose objects):
    a 1 GiB blob of zeros costs about 1 MB this way and is never held in memory."""

    def __init__(self, bare: Path) -> None:
        self.objects = bare / "objects"

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


def crafted(work: Path, build: Callable[[LooseObjects], str]) -> Delivery:
    """A delivery whose main is a commit built by hand (build returns the root tree's sha)."""
    bare = work.parent / f"{work.name}-crafted.git"
    git(work.parent, "init", "-q", "--bare", str(bare))
    objects = LooseObjects(bare)
    sha = objects.commit(build(objects))
    return Delivery.push(objects_tar(bare), sha)
