"""perpass's in-sandbox code, copied once into the sandbox cache (readable by the sandbox user) and
shown read-only at /opt/perpass-kit: `sandbox/` (the supervisor), `verifier/` (the verifier's scripts),
`gateway/` (the forwarder to the metering gateway) and `harbor/` (offline stand-ins for the tools Harbor's
test.sh install)."""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
from pathlib import Path

from perpass.sandbox.task_python import cache_root

PACKAGE = Path(__file__).resolve().parent.parent
KIT_PARTS = {"sandbox": PACKAGE / "sandbox" / "inside", "verifier": PACKAGE / "verifier" / "kit",
             "gateway": PACKAGE / "agent" / "gateway" / "inside",
             "harbor": PACKAGE / "tasks" / "sources" / "harbor_inside"}


def _sources() -> list[tuple[str, Path]]:
    found = []
    for part, folder in KIT_PARTS.items():
        if folder.is_dir():
            found += [(f"{part}/{path.relative_to(folder).as_posix()}", path) for path in sorted(folder.rglob("*"))
                      if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"]
    return found


@functools.cache
def kit_dir() -> Path:
    """The copy for this version of the code."""
    return cached_copy("kit", _sources())


def cached_copy(kind: str, sources: list[tuple[str, Path]], key: str | None = None) -> Path:
    """A copy of files in the sandbox cache (readable by the sandbox user), named by `key` (a hash the caller
    already has of the same files) or a hash of their names and contents: built atomically, kept. Bound
    read-only into sessions, so what runs there cannot change it (perpass's kit; a task's hidden tests and
    solution). A link is copied as a link, never followed: a task folder's link to a host file must not
    put that file's bytes where a sandbox can read them."""
    if key is None:
        digest = hashlib.sha256()
        for rel, path in sources:
            data = os.readlink(path).encode() if path.is_symlink() else path.read_bytes()
            digest.update(rel.encode() + b"\0" + data + b"\0")
        key = digest.hexdigest()
    target = cache_root() / kind / key[:16]
    if target.is_dir():
        return target
    scratch = target.with_name(f"{target.name}.{os.getpid()}")
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    for rel, path in sources:
        (scratch / rel).parent.mkdir(parents=True, exist_ok=True)
        # with its mode (a test script may be run as a program); a link stays a link
        shutil.copy(path, scratch / rel, follow_symlinks=False)
    try:
        scratch.rename(target)
    except OSError:  # another process made it first
        shutil.rmtree(scratch, ignore_errors=True)
    return target
