"""What must work inside the sandbox (python, pytest, git, push) and the workspace set-up."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from perpass.errors import UserError
from perpass.sandbox import Limits, Sandbox, Workspace, create_workspace, task_python


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    return Sandbox(Limits(cpu_s=30))


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    (repo / "test_calc.py").write_text("from calc import add\n\n\ndef test_add():\n"
                                       "    assert add(2, 3) == 5\n")
    return repo


@pytest.fixture()
def episode(repo: Path, tmp_path: Path) -> Workspace:
    return create_workspace(repo, tmp_path / "episode")


def git_host(*args: str) -> str:
    return subprocess.run(["git", *args], capture_output=True, text=True, check=True).stdout


def test_create_workspace_layout(episode: Workspace, tmp_path: Path) -> None:
    assert episode.root == tmp_path / "episode"
    assert (episode.work / "calc.py").read_text().startswith("def add")
    assert git_host("-C", str(episode.work), "remote", "get-url", "origin").strip() == "/remote.git"
    assert git_host("-C", str(episode.work), "status", "--porcelain") == ""
    assert git_host("--git-dir", str(episode.remote), "rev-parse", "--is-bare-repository").strip() == "true"
    work_head = git_host("-C", str(episode.work), "rev-parse", "HEAD")
    assert git_host("--git-dir", str(episode.remote), "rev-parse", "main") == work_head
    fsck = ["git", "--git-dir", str(episode.remote), "fsck", "--strict"]
    subprocess.run(fsck, check=True, capture_output=True)
    assert "## main...origin/main" in git_host("-C", str(episode.work), "status", "-sb")


def test_initial_commit_is_reproducible(repo: Path, tmp_path: Path) -> None:
    first = create_workspace(repo, tmp_path / "a")
    second = create_workspace(repo, tmp_path / "b")
    heads = [git_host("-C", str(w.work), "rev-parse", "HEAD") for w in (first, second)]
    assert heads[0] == heads[1]


def test_create_workspace_refuses_reuse_and_drops_task_git(repo: Path, tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    workspace = create_workspace(repo, tmp_path / "episode")
    assert git_host("-C", str(workspace.work), "rev-list", "--count", "HEAD").strip() == "1"
    with pytest.raises(FileExistsError):
        create_workspace(repo, tmp_path / "episode")


def test_python_pytest_git_on_path(sandbox: Sandbox, episode: Workspace) -> None:
    result = sandbox.run("command -v python python3 pytest git; python -c 'import sys; print(sys.prefix)'",
                         episode, 30)
    assert result.exit_code == 0, result.output
    lines = result.output.split()
    assert lines[:3] == ["/opt/task-python/bin/python", "/opt/task-python/bin/python3",
                         "/opt/task-python/bin/pytest"]
    assert lines[4] == "/opt/task-python"


def test_pytest_runs_and_reports_failure(sandbox: Sandbox, episode: Workspace) -> None:
    result = sandbox.run("pytest -q", episode, 60)
    assert result.exit_code == 1 and "1 failed" in result.output
    (episode.work / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    result = sandbox.run("python -m pytest -q -p no:cacheprovider", episode, 60)
    assert result.exit_code == 0 and "1 passed" in result.output
    assert not list(episode.work.rglob("__pycache__"))  # nothing to pollute the agent's commits


def test_commit_and_push_then_host_clones(sandbox: Sandbox, episode: Workspace, tmp_path: Path) -> None:
    command = ("sed -i 's/a - b/a + b/' calc.py && git add -A && git commit -qm 'fix add' && "
               "git push -q origin main && git status -sb | head -1")
    result = sandbox.run(command, episode, 30)
    assert result.exit_code == 0, result.output
    assert "## main...origin/main" in result.output
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(episode.remote), str(clone)], check=True)
    assert "a + b" in (clone / "calc.py").read_text()
    assert git_host("-C", str(clone), "log", "-1", "--format=%an %s").strip() == "perpass-agent fix add"


def test_home_is_outside_the_repository(sandbox: Sandbox, episode: Workspace) -> None:
    command = "echo $HOME; echo x > ~/.bash_history; pip --version >/dev/null 2>&1; git status --porcelain"
    result = sandbox.run(command, episode, 30)
    assert result.output.split("\n")[0] == "/home/agent"
    assert result.output.split("\n")[1] == ""  # nothing new in the repository
    assert (episode.home / ".bash_history").exists()


def test_exit_code_and_merged_output(sandbox: Sandbox, episode: Workspace) -> None:
    result = sandbox.run("echo out; echo err >&2; exit 7", episode, 10)
    assert (result.exit_code, result.output, result.timed_out, result.error) == (7, "out\nerr\n", False, None)
    assert 0 < result.wall_s < 5


def test_bwrap_setup_failure_is_infra_error(sandbox: Sandbox, tmp_path: Path) -> None:
    missing = Workspace(root=tmp_path / "ep", work=tmp_path / "ep" / "no-such-work", remote=None)
    result = sandbox.run("echo hi", missing, 10)
    assert result.error is not None and "bwrap" in result.error
    assert result.exit_code is None and "hi" not in result.output


def test_missing_bwrap_is_a_user_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERPASS_BWRAP", "/nonexistent/bwrap")
    with pytest.raises(UserError, match="apt-get install bubblewrap"):
        Sandbox()
    Sandbox(unsafe_no_sandbox=True)  # explicit opt-out still works


def test_unsafe_mode_runs_times_out_and_pushes(episode: Workspace) -> None:
    unsafe = Sandbox(unsafe_no_sandbox=True)
    command = "git commit -qm empty --allow-empty && git push -q origin main && pytest --version"
    result = unsafe.run(command, episode, 30)
    assert result.exit_code == 0, result.output
    assert "pytest" in result.output
    assert git_host("--git-dir", str(episode.remote), "log", "-1", "--format=%s").strip() == "empty"
    slow = unsafe.run("sleep 100 & sleep 100", episode, 0.5)
    assert slow.timed_out and slow.wall_s < 3


def test_task_python_is_separate_and_has_pytest() -> None:
    python = task_python()
    assert python.exists() and not str(python.resolve()).startswith(sys.prefix)
    done = subprocess.run([str(python), "-c", "import pytest, sys; print(sys.prefix)"],
                          capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip() != sys.prefix
    assert subprocess.run([str(python), "-c", "import perpass"], capture_output=True).returncode != 0


def test_concurrent_runs_do_not_mix_or_leak_fds(sandbox: Sandbox, repo: Path, tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    workspaces = [create_workspace(repo, tmp_path / f"ep{i}") for i in range(4)]
    fds_before = len(os.listdir("/proc/self/fd"))

    def work(index: int) -> list[str]:
        return [sandbox.run(f"echo {index}-{n}", workspaces[index], 10).output.strip() for n in range(10)]

    with ThreadPoolExecutor(4) as pool:
        outputs = list(pool.map(work, range(4)))
    assert outputs == [[f"{i}-{n}" for n in range(10)] for i in range(4)]
    assert len(os.listdir("/proc/self/fd")) <= fds_before + 1
