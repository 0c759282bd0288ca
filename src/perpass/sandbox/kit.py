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
            found += [(f"{part}/{path.relative_to(folder).as_posix()}", path) for path in sorted(folder.rglob("*.py"))
                      if "__pycache__" not in path.parts]
    return found


@functools.cache
def kit_dir() -> Path:
    """The copy for this version of the code (its name is a hash of the files): built atomically, kept."""
    sources = _sources()
    digest = hashlib.sha256()
    for rel, path in sources:
        digest.update(rel.encode() + b"\0" + path.read_bytes() + b"\0")
    target = cache_root() / "kit" / digest.hexdigest()[:16]
    if target.is_dir():
        return target
    scratch = target.with_name(f"{target.name}.{os.getpid()}")
    shutil.rmtree(scratch, ignore_errors=True)
    for rel, path in sources:
        (scratch / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, scratch / rel)
    try:
        scratch.rename(target)
    except OSError:  # another process made it first
        shutil.rmtree(scratch, ignore_errors=True)
    return target
