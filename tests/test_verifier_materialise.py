"""kit/materialise.py as a real subprocess with the task Python (fd 3 a pipe): raw blobs whatever
.gitattributes says, what is dropped and why, symlinks, caps before any write, refusals."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from pathlib import Path

import pytest
from verifier_helpers import HostSession, LooseObjects, git, objects_tar, push, start_repo

from perpass.verifier import Caps, Delivery
from perpass.verifier.kit import KIT_DIR
from perpass.verifier.records import plain_report


def materialise(tmp_path: Path, delivery: Delivery, caps: Caps | None = None) -> tuple[dict, Path]:
    session = HostSession(tmp_path / "session")
    inbox = tmp_path / "session" / "delivered.tar"
    inbox.write_bytes(delivery.data)
    tree = tmp_path / "session" / "tree"
    caps = caps or Caps()
    source = (["--tree-tar", str(inbox)] if delivery.kind == "workspace"
              else ["--objects-tar", str(inbox), "--sha", str(delivery.sha)])
    layout = HostSession.layout(tmp_path)
    args = [layout.python, "-I", f"{KIT_DIR}/materialise.py", "--dest", str(tree), "--work",
            str(tmp_path / "session" / "work"), "--manifest", str(tmp_path / "session" / "manifest.json"), *source,
            "--max-bytes", str(caps.max_bytes), "--max-files", str(caps.max_files),
            "--max-depth", str(caps.max_depth), "--max-path", str(caps.max_path)]
    result = session.run(" ".join(f"'{a}'" for a in args), 60, channel=True)
    report = plain_report(result.channel, "materialise")
    assert report is not None, result.output
    assert plain_report(result.channel, "started") is not None
    assert result.exit_code == (0 if report["status"] == "ok" else 3)
    return report, tree


def dropped(report: dict) -> dict[str, str]:
    return {d["path"]: d["why"] for d in report["dropped"]}


def repo_with(tmp_path: Path, files: dict[str, str | bytes]) -> Path:
    work = tmp_path / "work"
    work.mkdir()
    for rel, content in files.items():
        path = work / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    git(work, "init", "-q", "-b", "main")
    return work


def test_blobs_are_written_raw_whatever_gitattributes_say(tmp_path: Path) -> None:
    work = repo_with(tmp_path, {
        ".gitattributes": "*.py ident eol=crlf\n*.txt filter=evil\n",
        "mod.py": "ID = '$Id$'\nx = 1\n",
        "notes.txt": "plain\n",
        "run.sh": "#!/bin/sh\necho hi\n",
    })
    os.chmod(work / "run.sh", 0o755)
    git(work, "config", "filter.evil.smudge", "sh -c 'echo smudged'")  # the agent's config never reaches us
    report, tree = materialise(tmp_path, push(work))
    assert report["status"] == "ok", report
    assert (tree / "mod.py").read_bytes() == b"ID = '$Id$'\nx = 1\n"  # no ident, no CRLF
    assert (tree / "notes.txt").read_text() == "plain\n"  # no filter
    assert os.stat(tree / "run.sh").st_mode & 0o111 and not os.stat(tree / "mod.py").st_mode & 0o111
    manifest = json.loads((tmp_path / "session" / "manifest.json").read_text())
    assert manifest == {"mod.py": hashlib.sha256(b"ID = '$Id$'\nx = 1\n").hexdigest()}


def test_dropped_files_are_reported_by_name(tmp_path: Path) -> None:
    work = repo_with(tmp_path, {
        "app.py": "x = 1\n", "__pycache__/app.cpython-311.pyc": b"\0", "lib/old.pyc": b"\0", "fast.so": b"\0",
        "evil.pth": "import os\n", "sitecustomize.py": "", "lib/usercustomize.py": "", "conftest.py": "",
        "tests/conftest.py": "", "pdb.py": "", "lib/pdb.py": "", "pytest.py": "", "json/__init__.py": "",
        "html/index.html": "<p>", "app/__init__.py": "", "app/core.py": "", "data/__init__.py": "",
    })
    report, tree = materialise(tmp_path, push(work))
    assert report["status"] == "ok"
    why = dropped(report)
    assert set(why) == {"__pycache__/app.cpython-311.pyc", "lib/old.pyc", "fast.so", "evil.pth", "sitecustomize.py",
                        "lib/usercustomize.py", "conftest.py", "tests/conftest.py", "pdb.py", "pytest.py",
                        "json/__init__.py", "app/__init__.py", "app/core.py"}
    assert "shadows the module 'pdb'" in why["pdb.py"] and "would shadow the module app.py" in why["app/core.py"]
    for kept in ("app.py", "lib/pdb.py", "html/index.html", "data/__init__.py"):
        assert (tree / kept).is_file(), kept  # nested names, data folders and other packages stay
    assert not (tree / "json").exists() and not (tree / "app").exists()


def test_symlinks_stay_only_when_relative_and_inside(tmp_path: Path) -> None:
    work = repo_with(tmp_path, {"a.py": "x = 1\n", "sub/b.txt": "b\n", "deep/keep.txt": "k\n"})
    links = {"inside": "sub/b.txt", "up-and-in": "../a.py", "etc": "/etc", "out": "../../outside",
             "deep/x": "..", "chain": "deep/x/.."}
    for rel, target in links.items():
        os.symlink(target, work / rel)
    report, tree = materialise(tmp_path, push(work))
    why = dropped(report)
    assert (tree / "inside").read_text() == "b\n" and (tree / "deep" / "x").is_symlink()
    assert why["etc"] == "absolute symlink"
    assert why["out"] == "symlink leaving the tree" and why["chain"] == "symlink leaving the tree"
    assert why["up-and-in"] == "symlink leaving the tree"  # ../a.py from the root is outside
    assert not (tree / "chain").exists() and not (tree / "etc").exists()


@pytest.mark.parametrize(("caps", "words"), [
    (Caps(max_bytes=1000), "bytes"), (Caps(max_files=3), "more than 3 files"),
    (Caps(max_depth=3), "deeper than 3"), (Caps(max_path=8), "longer than 8"),
])
def test_caps_refuse_before_anything_is_written(caps: Caps, words: str, tmp_path: Path) -> None:
    work = repo_with(tmp_path, {"a.py": "x" * 600, "b.py": "y" * 600, "c/d/e/f.py": "", "g.py": ""})
    report, tree = materialise(tmp_path, push(work), caps)
    assert report["status"] == "oversized" and words in report["detail"], report
    assert not tree.exists()


def test_crafted_trees_that_cannot_be_read(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", "--bare", "crafted.git")
    objects = LooseObjects(tmp_path / "crafted.git")
    blob = objects.blob(b"x = 1\n")
    submodule = objects.commit(objects.tree([("100644", "a.py", blob), ("160000", "vendor", "b" * 40)]))
    unsafe = objects.commit(objects.tree([("100644", "..", blob)]))
    cases = {submodule: "submodule at vendor", unsafe: "unsafe path", "c" * 40: "not a readable commit",
             "nothex": "not a 40-hex commit id", blob: "not a readable commit"}
    for n, (sha, words) in enumerate(cases.items()):
        report, tree = materialise(tmp_path / f"case{n}", Delivery.push(objects_tar(tmp_path / "crafted.git"), sha))
        assert report["status"] == "unreadable" and words in report["detail"], report
        assert not tree.exists()


def test_only_objects_are_copied_not_alternates(tmp_path: Path) -> None:
    """An objects/info/alternates pointing at another repository would let git read objects the
    delivery does not contain; it is never copied."""
    work = start_repo(Path(__file__).parent.parent / "src/perpass/tasks/packs/T0/t0-smoke-hello/repo", tmp_path / "w")
    other = tmp_path / "w-remote.git"
    push(work)
    empty = tmp_path / "empty.git"
    git(tmp_path, "init", "-q", "--bare", str(empty))
    (empty / "objects" / "info" / "alternates").write_text(str(other / "objects") + "\n")
    sha = (other / "refs" / "heads" / "main").read_text().strip()
    report, _ = materialise(tmp_path / "m", Delivery.push(objects_tar(empty), sha))
    assert report["status"] == "unreadable" and "not a readable commit" in report["detail"]
    report, _ = materialise(tmp_path / "n", Delivery.push(b"not a tar at all", sha))
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


def test_workspace_tar_keeps_files_and_drops_the_rest(tmp_path: Path) -> None:
    data = {"./hello.txt": b"hello\n", "tool.sh": b"#!/bin/sh\n", "../escape.txt": b"x", "/abs.txt": b"x",
            ".git/config": b"[core]\n"}
    members = [member("./hello.txt", size=6), member("tool.sh", size=10, mode=0o755),
               member("../escape.txt", size=1), member("/abs.txt", size=1), member(".git/config", size=7),
               member("pipe", tarfile.FIFOTYPE), member("null", tarfile.CHRTYPE),
               member("hard", tarfile.LNKTYPE, linkname="/etc/passwd"), member("link", tarfile.SYMTYPE,
                                                                             linkname="hello.txt")]
    report, tree = materialise(tmp_path, workspace_tar(members, data))
    assert report["status"] == "ok", report
    assert sorted(p.name for p in tree.iterdir()) == ["hello.txt", "link", "tool.sh"]
    assert os.stat(tree / "tool.sh").st_mode & 0o100
    why = dropped(report)
    assert why == {"../escape.txt": "path leaves the tree", "/abs.txt": "path leaves the tree",
                   "pipe": "not a regular file (fifo)", "null": "not a regular file (device or special file)",
                   "hard": "not a regular file (hard link)"}
    assert not (tmp_path / "escape.txt").exists() and not Path("/abs.txt").exists()


def test_workspace_tar_caps_use_the_headers(tmp_path: Path) -> None:
    huge = member("huge.bin", size=3 << 30)  # announced, never sent
    report, tree = materialise(tmp_path, workspace_tar([member("a.txt", size=1), huge], {"a.txt": b"a"}))
    assert report["status"] in ("oversized", "unreadable") and not tree.exists()
