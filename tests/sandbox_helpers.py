"""Shared helpers of the sandbox tests: seeds from small repositories, sessions, files in and out."""

from __future__ import annotations

import io
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from perpass.sandbox import Limits, Seed, Session, SessionSpec, open_backend, prepare_seed

SMALL = Limits(cpu_s=20, session_cpu_s=60, memory_mb=512, processes=64, file_size_mb=10, tmp_mb=32, disk_mb=60,
               home_mb=16, remote_mb=32)


def seed_of(files: dict[str, str]) -> Seed:
    with tempfile.TemporaryDirectory(prefix="perpass-test-repo-") as scratch:
        for name, text in files.items():
            (Path(scratch) / name).parent.mkdir(parents=True, exist_ok=True)
            (Path(scratch) / name).write_text(text)
        return prepare_seed(Path(scratch))


@contextmanager
def session_of(files: dict[str, str] | None = None, limits: Limits = SMALL, backend: str = "bwrap",
               shell: str = "persistent") -> Iterator[Session]:
    spec = SessionSpec(limits, shell=shell, seed=seed_of(files or {"app.py": "VALUE = 1\n"}))  # type: ignore[arg-type]
    session = open_backend(backend).start(spec)
    try:
        yield session
    finally:
        session.close()


def tar_of(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def read_tar(data: bytes) -> dict[str, bytes | str]:
    """name -> bytes for files, '-> target' for links, 'dir' for folders."""
    found: dict[str, bytes | str] = {}
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        for member in tar:
            if member.isreg():
                handle = tar.extractfile(member)
                assert handle is not None
                found[member.name] = handle.read()
            elif member.issym():
                found[member.name] = f"-> {member.linkname}"
            elif member.isdir():
                found[member.name] = "dir"
    return found
