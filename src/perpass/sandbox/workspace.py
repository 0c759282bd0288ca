"""Episode set-up: the task's repository committed as `main`, a bare push remote holding that commit,
and the agent's HOME, packed once per task as a Seed that every session of that task starts from.

The git work happens on the host, on the task's own files (never on anything an agent wrote), in a
scratch folder that is removed at once: the host keeps no workspace; the session holds it in its tmpfs.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from perpass.sandbox.inside.bundle import pack
from perpass.sandbox.session import Seed
from perpass.sandbox.types import INSIDE_PATHS

HOME_GITCONFIG = """[user]
\tname = perpass-agent
\temail = agent@perpass.invalid
[safe]
\tdirectory = *
[init]
\tdefaultBranch = main
[advice]
\tdetachedHead = false
"""
# Fixed identity and date: the same task gives the same initial commit id on every machine.
_FIXED_IDENTITY = {
    "GIT_AUTHOR_NAME": "perpass", "GIT_AUTHOR_EMAIL": "perpass@perpass.invalid",
    "GIT_COMMITTER_NAME": "perpass", "GIT_COMMITTER_EMAIL": "perpass@perpass.invalid",
    "GIT_AUTHOR_DATE": "2000-01-01T00:00:00+0000", "GIT_COMMITTER_DATE": "2000-01-01T00:00:00+0000",
}
# No system or user git config and no hooks: the host's settings must not change the workspace.
_GIT_FLAGS = ["-c", "core.hooksPath=/dev/null", "-c", "commit.gpgSign=false", "-c", "core.autocrlf=false"]
# The push target refuses packs larger than its quota with a clear message (the tmpfs size is the real
# bound; the agent may rewrite this config) and checks objects as they arrive.
BARE_CONFIG = ("[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = true\n"
               "[receive]\n\tfsckObjects = true\n\tmaxInputSize = {max_input}\n")
SEED_BUDGET = 1 << 30


def git_env() -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": "/dev/null", "LC_ALL": "C", "HOME": "/nonexistent", **_FIXED_IDENTITY}


def run_git(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Host git on a task's own repository: no hooks, no host config, fixed identity."""
    return subprocess.run(["git", *_GIT_FLAGS, *args], cwd=cwd, env=git_env(), capture_output=True, text=True)


def _git(args: list[str], cwd: Path) -> None:
    done = run_git(args, cwd)
    if done.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed in {cwd}: {done.stderr.strip()}")


def folder_hash(folder: Path) -> str:
    """sha256 over the sorted relative paths and bytes of every file (links by their target)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() or p.is_symlink()):
        rel = path.relative_to(folder).as_posix().encode()
        data = os.readlink(path).encode() if path.is_symlink() else path.read_bytes()
        digest.update(len(rel).to_bytes(8, "big") + rel + len(data).to_bytes(8, "big") + data)
    return digest.hexdigest()


def _make_bare_remote(git_dir: Path, remote: Path, head: str, max_input: int) -> None:
    """The bare push target, holding exactly the initial commit: what `git init --bare` + `git push`
    produce, built without processes."""
    shutil.copytree(git_dir / "objects", remote / "objects")
    (remote / "refs" / "heads").mkdir(parents=True)
    (remote / "refs" / "tags").mkdir()
    (remote / "refs" / "heads" / "main").write_text(head)
    (remote / "HEAD").write_text("ref: refs/heads/main\n")
    (remote / "config").write_text(BARE_CONFIG.format(max_input=max_input))


def home_tar() -> bytes:
    return _home_tar()


@functools.cache
def _home_tar() -> bytes:
    with tempfile.TemporaryDirectory(prefix="perpass-home-") as scratch:
        (Path(scratch) / ".gitconfig").write_text(HOME_GITCONFIG)
        return pack(scratch, SEED_BUDGET)


def prepare_seed(repo_src: Path, key: str | None = None, *, remote_mb: int = 256) -> Seed:
    """The Seed for a task repository: its files committed as `main` (a .git inside repo_src is
    dropped: it would smuggle in history or hooks), the bare remote, HOME. Cached per content."""
    repo_src = Path(repo_src).absolute()
    if not repo_src.is_dir():
        raise FileNotFoundError(f"task repository {repo_src} is not a folder")
    return _seed(repo_src, key or folder_hash(repo_src), remote_mb)


@functools.lru_cache(maxsize=64)
def _seed(repo_src: Path, key: str, remote_mb: int) -> Seed:
    with tempfile.TemporaryDirectory(prefix="perpass-seed-") as scratch:
        work, remote = Path(scratch) / "work", Path(scratch) / "remote.git"
        shutil.copytree(repo_src, work, symlinks=True, ignore=shutil.ignore_patterns(".git"))
        _git(["init", "-q", "-b", "main"], work)
        _git(["add", "-A"], work)
        _git(["commit", "-q", "--allow-empty", "-m", "Initial task state"], work)
        head = (work / ".git" / "refs" / "heads" / "main").read_text()
        _make_bare_remote(work / ".git", remote, head, remote_mb * 1024 * 1024)
        # What `git remote add` + `git push -u` would record, written directly.
        tracking = work / ".git" / "refs" / "remotes" / "origin"
        tracking.mkdir(parents=True)
        (tracking / "main").write_text(head)
        with open(work / ".git" / "config", "a") as config:
            config.write(f'[remote "origin"]\n\turl = {INSIDE_PATHS.remote}\n'
                         '\tfetch = +refs/heads/*:refs/remotes/origin/*\n'
                         '[branch "main"]\n\tremote = origin\n\tmerge = refs/heads/main\n')
        return Seed(work=pack(str(work), SEED_BUDGET), remote=pack(str(remote), SEED_BUDGET), home=home_tar())
