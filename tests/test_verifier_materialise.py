"""kit/materialise.py run inside a real verifier session (bwrap; the channel on fd 3), on deliveries
pushed by git inside a real agent session or crafted as bytes: raw blobs whatever .gitattributes says,
what is dropped and why, symlinks, caps before any write, refusals. Inputs go in with put_tar, the
checkout comes out with export_tar."""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import os
import shlex
import tarfile
import tempfile
from pathlib import Path

import pytest
from verifier_helpers import (
    LooseObjects,
    deliver_files,
    exists,
    file_tar,
    files_of,
    kit_command,
    modes_of,
    objects_tar,
    verifier_session,
)

from perpass.sandbox import Session
from perpass.verifier import Caps, Delivery
from perpass.verifier.records import plain_report

ROOTS = itertools.count()


def materialise(session: Session, delivery: Delivery, caps: Caps | None = None) -> tuple[dict, str]:
    """Run the script on `delivery` in its own folder of the session; (report, the checkout's path)."""
    root = f"{session.paths.tmp}/m{next(ROOTS)}"
    session.put_tar(root, file_tar({"delivered.tar": delivery.data}))
    tree, caps = f"{root}/tree", caps or Caps()
    source = (["--tree-tar", f"{root}/delivered.tar"] if delivery.kind == "workspace"
              else ["--objects-tar", f"{root}/delivered.tar", "--sha", str(delivery.sha)])
    command = kit_command(session, "materialise.py", "--dest", tree, "--work", f"{root}/work", "--manifest",
                          f"{root}/manifest.json", *source, "--max-bytes", str(caps.max_bytes), "--max-files",
                          str(caps.max_files), "--max-depth", str(caps.max_depth), "--max-path", str(caps.max_path))
    result = session.run(command, 60, channel=True)
    assert result.error is None and not result.lost, result
    report = plain_report(result.channel, "materialise")
    assert report is not None, result.output
    assert plain_report(result.channel, "started") is not None
    assert result.exit_code == (0 if report["status"] == "ok" else 3)
    return report, tree


def dropped(report: dict) -> dict[str, str]:
    return {d["path"]: d["why"] for d in report["dropped"]}


def test_blobs_are_written_raw_whatever_gitattributes_say() -> None:
    delivery = deliver_files({
        ".gitattributes": "*.py ident eol=crlf\n*.txt filter=evil\n",
        "mod.py": "ID = '$Id$'\nx = 1\n",
        "notes.txt": "plain\n",
        "run.sh": "#!/bin/sh\necho hi\n",
    }, before=("chmod +x run.sh", "git config filter.evil.smudge \"sh -c 'echo smudged'\""))
    with verifier_session() as session:
        report, tree = materialise(session, delivery)
        assert report["status"] == "ok", report
        files = files_of(session, tree)
        assert files["mod.py"] == b"ID = '$Id$'\nx = 1\n"  # no ident, no CRLF
        assert files["notes.txt"] == b"plain\n"  # no filter (the agent's config never reaches us)
        modes = modes_of(session, tree)
        assert modes["run.sh"] & 0o111 and not modes["mod.py"] & 0o111
        manifest = json.loads(files_of(session, tree.rsplit("/", 1)[0])["manifest.json"])
        assert manifest == {"mod.py": hashlib.sha256(b"ID = '$Id$'\nx = 1\n").hexdigest()}


def test_dropped_files_are_reported_by_name() -> None:
    delivery = deliver_files({
        "app.py": "x = 1\n", "__pycache__/app.cpython-311.pyc": b"\0", "lib/old.pyc": b"\0", "fast.so": b"\0",
        "evil.pth": "import os\n", "sitecustomize.py": "", "lib/usercustomize.py": "", "conftest.py": "",
        "tests/conftest.py": "", "pdb.py": "", "lib/pdb.py": "", "pytest.py": "", "json/__init__.py": "",
        "html/index.html": "<p>", "app/__init__.py": "", "app/core.py": "", "data/__init__.py": "",
    })
    with verifier_session() as session:
        report, tree = materialise(session, delivery)
        assert report["status"] == "ok"
        why = dropped(report)
        assert set(why) == {"__pycache__/app.cpython-311.pyc", "lib/old.pyc", "fast.so", "evil.pth",
                            "sitecustomize.py", "lib/usercustomize.py", "conftest.py", "tests/conftest.py", "pdb.py",
                            "pytest.py", "json/__init__.py", "app/__init__.py", "app/core.py"}
        assert "shadows the module 'pdb'" in why["pdb.py"] and "would shadow the module app.py" in why["app/core.py"]
        files = files_of(session, tree)
        for kept in ("app.py", "lib/pdb.py", "html/index.html", "data/__init__.py"):
            assert isinstance(files.get(kept), bytes), kept  # nested names, data folders and other packages stay
        assert not exists(session, f"{tree}/json") and not exists(session, f"{tree}/app")


def test_symlinks_stay_only_when_relative_and_inside() -> None:
    links = {"inside": "sub/b.txt", "up-and-in": "../a.py", "etc": "/etc", "out": "../../outside",
             "deep/x": "..", "chain": "deep/x/.."}
    delivery = deliver_files({"a.py": "x = 1\n", "sub/b.txt": "b\n", "deep/keep.txt": "k\n"},
                             before=tuple(f"ln -s {shlex.quote(target)} {rel}" for rel, target in links.items()))
    with verifier_session() as session:
        report, tree = materialise(session, delivery)
        why = dropped(report)
        files = files_of(session, tree)
        assert files["inside"] == "-> sub/b.txt" and files["deep/x"] == "-> .."
        assert why["etc"] == "absolute symlink"
        assert why["out"] == "symlink leaving the tree" and why["chain"] == "symlink leaving the tree"
        assert why["up-and-in"] == "symlink leaving the tree"  # ../a.py from the root is outside
        assert "chain" not in files and "etc" not in files
        done = session.run(f"cat {tree}/inside", 10)
        assert done.output == "b\n"  # the kept link works inside the checkout


@pytest.mark.parametrize(("caps", "words"), [
    (Caps(max_bytes=1000), "bytes"), (Caps(max_files=3), "more than 3 files"),
    (Caps(max_depth=3), "deeper than 3"), (Caps(max_path=8), "longer than 8"),
])
def test_caps_refuse_before_anything_is_written(caps: Caps, words: str) -> None:
    delivery = deliver_files({"a.py": "x" * 600, "b.py": "y" * 600, "c/d/e/f.py": "", "g.py": ""})
    with verifier_session() as session:
        report, tree = materialise(session, delivery, caps)
        assert report["status"] == "oversized" and words in report["detail"], report
        assert not exists(session, tree)


def test_crafted_trees_that_cannot_be_read() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        objects = LooseObjects(Path(scratch))
        blob = objects.blob(b"x = 1\n")
        submodule = objects.commit(objects.tree([("100644", "a.py", blob), ("160000", "vendor", "b" * 40)]))
        unsafe = objects.commit(objects.tree([("100644", "..", blob)]))
        data = objects_tar(Path(scratch))
    cases = {submodule: "submodule at vendor", unsafe: "unsafe path", "c" * 40: "not a readable commit",
             "nothex": "not a 40-hex commit id", blob: "not a readable commit"}
    with verifier_session() as session:
        for sha, words in cases.items():
            report, tree = materialise(session, Delivery("push", data, sha))
            assert report["status"] == "unreadable" and words in report["detail"], report
            assert not exists(session, tree)


def test_only_objects_are_copied_not_alternates() -> None:
    """An objects/info/alternates pointing at another repository would let git read objects the
    delivery does not contain; it is never copied."""
    real = deliver_files({"a.py": "x = 1\n"})
    alternates = file_tar({"objects/info/alternates": b"/tmp/other/objects\n"})
    with verifier_session() as session:
        session.put_tar("/tmp/other", real.data)  # the commit's objects, there for git to find
        report, _ = materialise(session, Delivery.push(alternates, real.sha))
        assert report["status"] == "unreadable" and "not a readable commit" in report["detail"], report
        report, _ = materialise(session, real)
        assert report["status"] == "ok", report  # the control: the same commit with its objects
        report, _ = materialise(session, Delivery.push(b"not a tar at all", real.sha))
        assert report["status"] == "unreadable" and "not a readable tar" in report["detail"]


def workspace_tar(members: list[tarfile.TarInfo], data: dict[str, bytes]) -> Delivery:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for member in members:
            archive.addfile(member, io.BytesIO(data[member.name]) if member.name in data else None)
    return Delivery.workspace(buffer.getvalue())


def member(name: str, kind: bytes = tarfile.REGTYPE, size: int = 0, linkname: str = "", mode: int = 0o644):
    info = tarfile.TarInfo(name)
    info.type, info.size, info.linkname, info.mode = kind, size, linkname, mode
    return info


def test_workspace_tar_keeps_files_and_drops_the_rest() -> None:
    """Members a session's export never holds (the bytes are what a hostile tar could be)."""
    data = {"./hello.txt": b"hello\n", "tool.sh": b"#!/bin/sh\n", "../escape.txt": b"x", "/tmp/abs.txt": b"x",
            ".git/config": b"[core]\n"}
    members = [member("./hello.txt", size=6), member("tool.sh", size=10, mode=0o755),
               member("../escape.txt", size=1), member("/tmp/abs.txt", size=1), member(".git/config", size=7),
               member("pipe", tarfile.FIFOTYPE), member("null", tarfile.CHRTYPE),
               member("hard", tarfile.LNKTYPE, linkname="/etc/passwd"), member("link", tarfile.SYMTYPE,
                                                                             linkname="hello.txt")]
    with verifier_session() as session:
        report, tree = materialise(session, workspace_tar(members, data))
        assert report["status"] == "ok", report
        files = files_of(session, tree)
        assert set(files) == {"hello.txt", "link", "tool.sh"}
        assert modes_of(session, tree)["tool.sh"] & 0o100
        why = dropped(report)
        assert why == {"../escape.txt": "path leaves the tree", "/tmp/abs.txt": "path leaves the tree",
                       "pipe": "not a regular file (fifo)", "null": "not a regular file (device or special file)",
                       "hard": "not a regular file (hard link)"}
        root = tree.rsplit("/", 1)[0]
        assert not exists(session, f"{root}/escape.txt") and not exists(session, "/tmp/abs.txt")
        assert not exists(session, f"{tree}/pipe") and not os.path.exists("/tmp/abs.txt")


def test_workspace_tar_caps_use_the_headers() -> None:
    huge = member("huge.bin", size=3 << 30)  # announced, never sent
    with verifier_session() as session:
        report, tree = materialise(session, workspace_tar([member("a.txt", size=1), huge], {"a.txt": b"a"}))
        assert report["status"] in ("oversized", "unreadable") and not exists(session, tree)
