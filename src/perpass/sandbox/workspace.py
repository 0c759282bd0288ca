"""Episode set-up: copy the task's repository, commit it, and give it a bare push remote."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from perpass.sandbox.bwrap_args import REMOTE_INSIDE
from perpass.sandbox.types import Workspace

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


def git_env() -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": "/dev/null", "LC_ALL": "C", "HOME": "/nonexistent", **_FIXED_IDENTITY}


def run_git(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Host git on a repository the agent may have written to: no hooks, no host config, fixed identity."""
    return subprocess.run(["git", *_GIT_FLAGS, *args], cwd=cwd, env=git_env(), capture_output=True, text=True)


def _git(args: list[str], cwd: Path) -> None:
    done = run_git(args, cwd)
    if done.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed in {cwd}: {done.stderr.strip()}")


def write_home(home: Path) -> None:
    """The agent's HOME, outside the repository so dotfiles never pollute what gets committed."""
    home.mkdir(parents=True, exist_ok=True)
    gitconfig = home / ".gitconfig"
    if not gitconfig.exists():
        gitconfig.write_text(HOME_GITCONFIG)


BARE_CONFIG = "[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = true\n"


def _make_bare_remote(git_dir: Path, remote: Path, head: str) -> None:
    """The bare push target, holding exactly the initial commit: what `git init --bare` + `git push`
    produce, built without processes. Objects are hard-linked: git never rewrites an object file."""
    shutil.copytree(git_dir / "objects", remote / "objects", copy_function=os.link)
    (remote / "refs" / "heads").mkdir(parents=True)
    (remote / "refs" / "tags").mkdir()
    (remote / "refs" / "heads" / "main").write_text(head)
    (remote / "HEAD").write_text("ref: refs/heads/main\n")
    (remote / "config").write_text(BARE_CONFIG)


def create_workspace(repo_src: Path, episode_dir: Path) -> Workspace:
    """Copy repo_src to episode_dir/work, commit it as `main`, create episode_dir/remote.git (bare),
    push main there and make /remote.git (its path inside the sandbox) the `origin` of work."""
    repo_src, episode_dir = Path(repo_src).absolute(), Path(episode_dir).absolute()
    if not repo_src.is_dir():
        raise FileNotFoundError(f"task repository {repo_src} is not a folder")
    work, remote = episode_dir / "work", episode_dir / "remote.git"
    if work.exists() or remote.exists():
        raise FileExistsError(f"{episode_dir} already holds a workspace; use a fresh episode folder")
    episode_dir.mkdir(parents=True, exist_ok=True)
    # A .git inside the task's repo/ would smuggle in history (and possibly hooks): drop it.
    shutil.copytree(repo_src, work, symlinks=True, ignore=shutil.ignore_patterns(".git"))
    _git(["init", "-q", "-b", "main"], work)
    _git(["add", "-A"], work)
    _git(["commit", "-q", "--allow-empty", "-m", "Initial task state"], work)
    head = (work / ".git" / "refs" / "heads" / "main").read_text()
    _make_bare_remote(work / ".git", remote, head)
    # What `git remote add` + `git push -u` would record, written directly: two git processes
    # (plus receive-pack and pack-objects) fewer on every episode set-up.
    tracking = work / ".git" / "refs" / "remotes" / "origin"
    tracking.mkdir(parents=True)
    (tracking / "main").write_text(head)
    with open(work / ".git" / "config", "a") as config:
        config.write(f'[remote "origin"]\n\turl = {REMOTE_INSIDE}\n'
                     '\tfetch = +refs/heads/*:refs/remotes/origin/*\n'
                     '[branch "main"]\n\tremote = origin\n\tmerge = refs/heads/main\n')
    write_home(episode_dir / "home")
    return Workspace(root=episode_dir, work=work, remote=remote)
