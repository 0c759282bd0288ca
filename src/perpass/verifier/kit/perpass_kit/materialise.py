"""Build the checkout the hidden tests will run on, from what the agent delivered, trusting none of it.

Two sources: (a) the bare remote's `objects/` folder (as a tar) and the sha of its `main`, read with
our own git (a bare repository we lay out by hand with a config we write; no system or global config, no hooks,
no attributes, no filters: blobs are written raw with `cat-file --batch`, so `.gitattributes`
`ident`, `filter` or `eol` cannot change a byte), or (b) a tar of the working tree. The listing is
checked against the caps first (sizes from `ls-tree -l` or the tar headers): a bomb is refused
before anything is written. Then files are written (O_EXCL|O_NOFOLLOW, links last), dropped files
are reported by name, and a manifest of the .py files' sha256 is saved for the integrity check.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import tarfile
import threading
from collections.abc import Iterator, Sequence  # Sequence: a method named `list` shadows the builtin
from dataclasses import dataclass
from typing import Any

from .treepolicy import CapCounter, Caps, Oversized, Unreadable, plan_tree, shown, unsafe_name

SHA = re.compile(rb"^[0-9a-f]{40}$")
# The only files of objects/ we copy: loose objects and packs with their index. Everything else
# (info/alternates, commit-graph, bitmaps, anything invented) stays out of our repository.
OBJECT_NAME = re.compile(r"^(?:[0-9a-f]{2}/[0-9a-f]{38}|pack/pack-[0-9a-f]{40}\.(?:pack|idx))$")
MAX_LINK_TARGET = 4096
CHUNK = 1 << 20


@dataclass
class Entry:
    path: str  # relative, '/'-separated, undecodable bytes kept as surrogates
    kind: str  # "file", "exec", "link"
    size: int
    ref: object  # git: the blob sha (bytes); tar: the TarInfo


def git_env(git_dir: str) -> dict[str, str]:
    """git that reads nothing of the host's or the agent's configuration."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": git_dir, "LC_ALL": "C",
            "GIT_DIR": git_dir, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null",
            "GIT_ATTR_NOSYSTEM": "1", "GIT_NO_REPLACE_OBJECTS": "1", "GIT_TERMINAL_PROMPT": "0",
            "GIT_OPTIONAL_LOCKS": "0"}


OUR_GIT_CONFIG = "[core]\n\trepositoryformatversion = 0\n\tbare = true\n\tfilemode = true\n"


class GitSource:
    def __init__(self, objects_tar: str, sha: str, work: str) -> None:
        self.git_dir = os.path.join(work, "git")
        self.env = git_env(self.git_dir)
        self.sha = sha.encode()
        if not SHA.match(self.sha):
            raise Unreadable(f"'{sha[:60]}' is not a 40-hex commit id")
        # A bare repository is three entries; made by hand it has no hooks, no template, our config.
        for folder in ("objects/pack", "refs/heads", "refs/tags"):
            os.makedirs(os.path.join(self.git_dir, folder), exist_ok=True)
        with open(os.path.join(self.git_dir, "HEAD"), "w") as head:
            head.write("ref: refs/heads/main\n")
        with open(os.path.join(self.git_dir, "config"), "w") as config:
            config.write(OUR_GIT_CONFIG)
        copy_objects(objects_tar, os.path.join(self.git_dir, "objects"))

    def list(self, caps: Caps) -> list[Entry]:
        counter = CapCounter(caps)
        entries: list[Entry] = []
        proc = subprocess.Popen(["git", "ls-tree", "-r", "-z", "-l", "--full-tree", self.sha.decode()],
                                env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert proc.stdout is not None and proc.stderr is not None
        try:
            for record in null_records(proc.stdout):
                entries.append(self.parse(record, counter))
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.stdout.close()
            err = proc.stderr.read().decode(errors="replace")
            proc.stderr.close()
            proc.wait()
        if proc.returncode != 0:
            raise Unreadable(f"main ({self.sha.decode()}) is not a readable commit: {err.strip()[:300]}")
        return entries

    @staticmethod
    def parse(record: bytes, counter: CapCounter) -> Entry:
        meta, tab, path = record.partition(b"\t")
        fields = meta.split()
        if not tab or len(fields) != 4:
            raise Unreadable(f"unexpected ls-tree line {record[:120]!r}")
        mode, kind, sha, size = fields
        if kind == b"commit" or mode == b"160000":
            raise Unreadable(f"submodule at {shown(path)}: submodules are refused (perpass never fetches them)")
        if kind != b"blob" or mode not in (b"100644", b"100755", b"100664", b"120000") or not size.isdigit():
            raise Unreadable(f"unsupported tree entry {mode.decode(errors='replace')} {kind.decode(errors='replace')} "
                             f"at {shown(path)}")
        if unsafe_name(path):
            raise Unreadable(f"unsafe path in the tree: {shown(path)[:200]}")
        counter.add(path, int(size))
        entry_kind = "link" if mode == b"120000" else "exec" if mode == b"100755" else "file"
        return Entry(os.fsdecode(path), entry_kind, int(size), sha)

    def contents(self, entries: Sequence[Entry]) -> Iterator[tuple[Entry, Iterator[bytes]]]:
        """Raw blob bytes (cat-file --batch: no filters, no attributes), one entry at a time."""
        proc = subprocess.Popen(["git", "cat-file", "--batch"], env=self.env, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        assert proc.stdin is not None and proc.stdout is not None
        stdin, stdout = proc.stdin, proc.stdout

        def feed() -> None:  # a thread, so a full stdout pipe never deadlocks us against git
            try:
                for entry in entries:
                    stdin.write(entry.ref + b"\n")  # type: ignore[operator]
                stdin.close()
            except OSError:
                pass

        feeder = threading.Thread(target=feed, daemon=True)
        feeder.start()
        try:
            for entry in entries:
                header = stdout.readline().split()
                if len(header) != 3 or header[1] != b"blob" or int(header[2]) != entry.size:
                    raise Unreadable(f"blob of {entry.path} unreadable: {b' '.join(header)[:120]!r}")
                yield entry, read_exactly(stdout, entry.size)
                if stdout.read(1) != b"\n":
                    raise Unreadable(f"cat-file output out of step at {entry.path}")
        finally:
            proc.kill()
            proc.wait()
            stdout.close()
            feeder.join(timeout=5)


def null_records(stream) -> Iterator[bytes]:  # type: ignore[no-untyped-def]
    pending = b""
    while chunk := stream.read(CHUNK):
        pending += chunk
        *records, pending = pending.split(b"\0")
        yield from records
    if pending:
        yield pending


def read_exactly(stream, size: int) -> Iterator[bytes]:  # type: ignore[no-untyped-def]
    left = size
    while left:
        chunk = stream.read(min(left, CHUNK))
        if not chunk:
            raise Unreadable("blob shorter than announced")
        left -= len(chunk)
        yield chunk


def copy_objects(objects_tar: str, objects_dir: str) -> None:
    """Unpack only loose objects and packs from the delivered objects/ tar into our repository."""
    try:
        archive = tarfile.open(objects_tar, "r:")
    except (OSError, tarfile.TarError) as err:
        raise Unreadable(f"the delivered objects are not a readable tar: {err}") from None
    with archive:
        for member in archive:
            name = member.name.removeprefix("./").removeprefix("objects/")
            if not member.isreg() or not OBJECT_NAME.match(name):
                continue
            dest = os.path.join(objects_dir, name)
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            source = archive.extractfile(member)
            assert source is not None
            fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, 0o444)
            with os.fdopen(fd, "wb") as out:
                while chunk := source.read(CHUNK):
                    out.write(chunk)


class TarSource:
    """A tar of the working tree, members relative to its root. Only regular files and symlinks are
    candidates; FIFOs, devices and hard links are reported and never created. The top-level .git
    folder is left out silently (it is the working copy's repository, not delivered content)."""

    def __init__(self, tree_tar: str) -> None:
        try:
            self.archive = tarfile.open(tree_tar, "r:")
        except (OSError, tarfile.TarError) as err:
            raise Unreadable(f"the delivered working tree is not a readable tar: {err}") from None
        self.skipped: dict[str, str] = {}

    def list(self, caps: Caps) -> list[Entry]:
        counter = CapCounter(caps)
        entries: dict[str, Entry] = {}
        try:
            for member in self.archive:
                raw = os.fsencode(member.name)
                while raw.startswith(b"./"):
                    raw = raw[2:]
                raw = raw.rstrip(b"/")
                if not raw or raw == b"." or raw == b".git" or raw.startswith(b".git/"):
                    continue  # the working copy's own repository: never part of the delivered tree
                counter.add(raw, member.size if member.isreg() else 0)
                path = os.fsdecode(raw)
                if member.isdir():
                    continue
                if unsafe_name(raw):
                    self.skipped[path] = "path leaves the tree"
                elif member.isreg():
                    entries[path] = Entry(path, "exec" if member.mode & 0o111 else "file", member.size, member)
                elif member.issym():
                    entries[path] = Entry(path, "link", len(os.fsencode(member.linkname)), member)
                else:
                    kind = "hard link" if member.islnk() else "fifo" if member.isfifo() else "device or special file"
                    self.skipped[path] = f"not a regular file ({kind})"
        except tarfile.TarError as err:
            raise Unreadable(f"the delivered working tree tar is corrupt: {err}") from None
        return list(entries.values())

    def contents(self, entries: Sequence[Entry]) -> Iterator[tuple[Entry, Iterator[bytes]]]:
        for entry in entries:
            member = entry.ref
            assert isinstance(member, tarfile.TarInfo)
            if member.issym():
                yield entry, iter([os.fsencode(member.linkname)])
                continue
            source = self.archive.extractfile(member)
            assert source is not None
            yield entry, iter(lambda src=source: src.read(CHUNK), b"")  # type: ignore[misc]


@dataclass
class Result:
    files: int
    bytes: int
    dropped: dict[str, str]
    manifest: dict[str, str]  # .py path -> sha256


def materialise(source: GitSource | TarSource, dest: str, caps: Caps) -> Result:
    entries = source.list(caps)
    plan = plan_tree([entry.path for entry in entries])
    dropped = dict(getattr(source, "skipped", {}))
    dropped.update(plan.dropped)
    kept = set(plan.kept)
    to_write = [entry for entry in entries if entry.path in kept]
    os.makedirs(dest, exist_ok=False)
    files = [e for e in to_write if e.kind != "link"]
    links = sorted((e for e in to_write if e.kind == "link"), key=lambda e: e.path)
    manifest: dict[str, str] = {}
    written = 0
    link_targets: dict[str, bytes] = {}
    for entry, chunks in source.contents(files + links):
        if entry.kind == "link":
            target = b"".join(chunks)
            link_targets[entry.path] = target
            continue
        digest = write_file(dest, entry, chunks)
        written += entry.size
        if entry.path.endswith(".py"):
            manifest[entry.path] = digest
    made = []
    for entry in links:
        reason = make_link(dest, entry.path, link_targets[entry.path])
        if reason:
            dropped[entry.path] = reason
        else:
            made.append(entry.path)
    # A link checked alone can look inside and still leave through a link made after it
    # (c -> d/x/.. with d/x -> ..): check them all again until none leaves.
    root = os.path.realpath(dest)
    while leaving := [path for path in made if not inside(root, os.path.realpath(os.path.join(dest, path)))]:
        for path in leaving:
            os.unlink(os.path.join(dest, path))
            made.remove(path)
            dropped[path] = "symlink leaving the tree"
    return Result(files=len(files), bytes=written, dropped=dropped, manifest=manifest)


def write_file(dest: str, entry: Entry, chunks: Iterator[bytes]) -> str:
    full = os.path.join(dest, entry.path)
    try:
        os.makedirs(os.path.dirname(full), exist_ok=True)
        fd = os.open(full, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                     0o755 if entry.kind == "exec" else 0o644)
    except (FileExistsError, NotADirectoryError, IsADirectoryError) as err:
        raise Unreadable(f"path conflict at {shown(entry.path)}: {err.strerror}") from None
    digest = hashlib.sha256()
    with os.fdopen(fd, "wb") as out:
        for chunk in chunks:
            digest.update(chunk)
            out.write(chunk)
    return digest.hexdigest()


def make_link(dest: str, path: str, target: bytes) -> str | None:
    """Create a symlink if it is relative and, resolved for real (after every file exists), stays in
    the tree; otherwise report why it was dropped. Links are made last, in path order, and never
    through another link, so no write can be redirected by one; all are checked again at the end."""
    if target.startswith(b"/"):
        return "absolute symlink"
    if len(target) > MAX_LINK_TARGET or b"\0" in target:
        return "symlink target too long or invalid"
    full = os.path.join(dest, path)
    parent = os.path.dirname(full)
    root = os.path.realpath(dest)
    if os.path.realpath(parent) != os.path.normpath(os.path.join(root, os.path.dirname(path))):
        return "symlink inside a linked folder"
    try:
        os.makedirs(parent, exist_ok=True)
        os.symlink(os.fsdecode(target), full)
    except OSError as err:
        return f"symlink not created: {err.strerror}"
    if not inside(root, os.path.realpath(full)):
        os.unlink(full)
        return "symlink leaving the tree"
    return None


def inside(root: str, resolved: str) -> bool:
    return resolved == root or resolved.startswith(root + os.sep)


def report_stream() -> int | None:
    """fd 3 (the session's channel) when open, else stdout: the report never mixes with git's noise."""
    try:
        os.fstat(3)
        return 3
    except OSError:
        return None


def emit(report: dict[str, object]) -> None:
    line = (json.dumps(report, ensure_ascii=True) + "\n").encode()
    fd = report_stream()
    if fd is None:
        os.write(1, line)
        return
    while line:
        line = line[os.write(fd, line):]


MAX_REPORTED_DROPS = 200


def materialise_delivery(spec: dict[str, Any]) -> dict[str, Any]:
    """Materialise as `spec` says (dest, work, manifest, tree_tar | objects_tar + sha, max_*) and
    return the report: status ok / oversized / unreadable, and for ok the counts and the dropped
    files (sorted, at most MAX_REPORTED_DROPS of them). Never raises for anything the delivery does."""
    caps = Caps(**{k: int(v) for k, v in spec.items() if k.startswith("max_") and v is not None})
    dest, work = str(spec["dest"]), str(spec["work"])
    report: dict[str, Any] = {}
    try:
        os.makedirs(work, exist_ok=True)
        if spec.get("tree_tar"):
            source: GitSource | TarSource = TarSource(str(spec["tree_tar"]))
        else:
            source = GitSource(str(spec["objects_tar"]), str(spec["sha"]), work)
        result = materialise(source, dest, caps)
    except Oversized as err:
        report.update(status="oversized", detail=str(err))
    except Unreadable as err:
        report.update(status="unreadable", detail=str(err))
    except Exception as err:  # noqa: BLE001 - any failure on hostile input is the delivery's, reported
        report.update(status="unreadable", detail=f"materialiser failed: {type(err).__name__}: {err}"[:500])
    else:
        with open(str(spec["manifest"]), "w") as out:
            json.dump(result.manifest, out)
        dropped = sorted(result.dropped.items())
        report.update(status="ok", files=result.files, bytes=result.bytes,
                      dropped=[{"path": shown(p), "why": why} for p, why in dropped[:MAX_REPORTED_DROPS]],
                      dropped_count=len(dropped))
    return report


def run(args: dict[str, Any]) -> int:
    """The standalone script: one JSON report on fd 3; exit 0 when the checkout is ready, 3 when refused."""
    emit({"kind": "started"})
    report = {"kind": "materialise", **materialise_delivery(args)}
    emit(report)
    return 0 if report["status"] == "ok" else 3
