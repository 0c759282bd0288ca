"""Every file perpass writes for a user goes through here: atomically, with one-line errors.

A reader (or a run killed half-way) sees the old file or the new one, never a truncated one: the
bytes go to a hidden temporary file in the same folder, which is flushed, fsynced and renamed over
the target (rename is atomic within a filesystem). A path that cannot be written (a folder where a
file should be, a file where a folder should be, no permission) is a `UserError` naming it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from perpass.errors import UserError


def output_folder(folder: Path) -> Path:
    """Create `folder` (and its parents) for output files; a UserError when a file is in the way."""
    for part in (folder, *folder.parents):
        if part.exists() and not part.is_dir():
            raise UserError(f"{part}: is a file, not a folder; give a folder path (or move the file away)")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UserError(f"{folder}: cannot create the folder ({err.strerror})") from None
    return folder


def check_output_file(path: Path) -> Path:
    """Refuse, before anything is written, an output path that cannot become a file: a command that
    writes several files checks them all first, so a bad last one does not leave the first ones."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f"{path}: is a folder; give the path of the file to write")
    for part in path.parents:
        if part.exists() and not part.is_dir():
            raise UserError(f"{part}: is a file, not a folder; give a folder path (or move the file away)")
    return path


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path beside `path` (same suffix, so tools that infer the format from it work);
    renamed over `path` when the block ends without an exception, removed otherwise."""
    path = check_output_file(path)
    output_folder(path.parent)
    try:
        handle, name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=path.parent)
    except OSError as err:
        raise UserError(f"{path}: cannot write here ({err.strerror})") from None
    os.close(handle)
    tmp = Path(name)
    try:
        yield tmp
        with tmp.open("rb") as written:  # the bytes reach the disk before the name points at them
            os.fsync(written.fileno())
        os.chmod(tmp, 0o666 & ~UMASK)  # mkstemp makes 0600; give the file the usual permissions
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text(path: Path, text: str) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_bytes(path: Path, data: bytes) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def _read_umask() -> int:
    mask = os.umask(0)  # the only way to read it sets it: done once, at import, not while threads write
    os.umask(mask)
    return mask


UMASK = _read_umask()
