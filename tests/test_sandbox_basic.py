"""What must work inside a sandbox session (python, pytest, git, push, shell state) and the seed set-up."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sandbox_helpers import SMALL, read_tar, seed_of, session_of, tar_of

from perpass.errors import UserError
from perpass.sandbox import BACKENDS, Limits, SandboxError, SessionSpec, open_backend, task_python
from perpass.sandbox.inside.bundle import UnsafeMember, encode, unpack

CALC = {"calc.py": "def add(a, b):\n    return a - b\n",
        "test_calc.py": "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"}


def test_seed_layout_and_reproducible_initial_commit() -> None:
    with session_of(CALC) as session:
        result = session.run("git remote get-url origin; git status --porcelain; git status -sb | head -1;"
                             " git --git-dir=/remote.git rev-parse --is-bare-repository main;"
                             " git rev-parse HEAD; git --git-dir=/remote.git fsck --strict && echo FSCK-OK", 30)
    lines = result.output.split("\n")
    assert lines[0] == "/remote.git" and lines[1] == "## main...origin/main"
    assert lines[2] == "true" and lines[3] == lines[4]  # the remote's main is the work tree's HEAD
    assert "FSCK-OK" in result.output
    assert seed_of(CALC).remote == seed_of(CALC).remote  # same files, same initial commit


def test_seed_drops_the_task_repos_own_git(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "a.txt").write_text("a\n")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    from perpass.sandbox import prepare_seed

    seed = prepare_seed(repo)
    with open_backend().start(SessionSpec(SMALL, seed=seed)) as session:
        assert session.run("git rev-list --count HEAD", 10).output.strip() == "1"


def test_python_pytest_git_on_path() -> None:
    with session_of(CALC) as session:
        result = session.run("command -v python python3 pytest git; python -c 'import sys; print(sys.prefix)'", 30)
    assert result.exit_code == 0, result.output
    lines = result.output.split()
    assert lines[:3] == ["/opt/task-python/bin/python", "/opt/task-python/bin/python3",
                         "/opt/task-python/bin/pytest"]
    assert lines[4] == "/opt/task-python"


def test_pytest_runs_fix_and_push_then_export_shows_the_push() -> None:
    with session_of(CALC) as session:
        first = session.run("pytest -q", 60)
        assert first.exit_code == 1 and "1 failed" in first.output
        fixed = session.run("sed -i 's/a - b/a + b/' calc.py && python -m pytest -q -p no:cacheprovider", 60)
        assert fixed.exit_code == 0 and "1 passed" in fixed.output
        assert session.run("find . -name __pycache__ | wc -l", 10).output.strip() == "0"  # nothing to commit by mistake
        pushed = session.run("git add -A && git commit -qm 'fix add' && git push -q origin main && "
                             "git status -sb | head -1", 30)
        assert pushed.exit_code == 0 and "## main...origin/main" in pushed.output, pushed.output
        exported = session.export_bundle(session.paths.remote)
    with tempfile.TemporaryDirectory() as scratch:
        unpack(exported, scratch, 1 << 30)
        log = subprocess.run(["git", "--git-dir", scratch, "log", "--format=%an %s", "main"],
                             capture_output=True, text=True, check=True)
    assert log.stdout.strip().split("\n") == ["perpass-agent fix add", "perpass Initial task state"]


def test_home_is_outside_the_repository() -> None:
    with session_of() as session:
        result = session.run("echo $HOME; echo x > ~/.bash_history; git status --porcelain", 30)
        home = read_tar(session.export_tar(session.paths.home))
    assert result.output.split("\n")[0] == "/home/agent"
    assert result.output.split("\n")[1] == ""  # nothing new in the repository
    assert home[".bash_history"] == b"x\n" and ".gitconfig" in home


def test_exit_code_and_merged_output() -> None:
    with session_of() as session:
        result = session.run("echo out; echo err >&2; exit 7", 10)
    assert (result.exit_code, result.output, result.timed_out, result.error) == (7, "out\nerr\n", False, None)
    assert 0 < result.wall_s < 5


@pytest.mark.parametrize("backend", ["bwrap", "none"])
def test_persistent_shell_keeps_cd_and_exports(backend: str) -> None:
    with session_of(backend=backend) as session:
        session.run("mkdir -p sub && cd sub && export GREETING='hello world' FOO=1", 10)
        kept = session.run("pwd; echo $GREETING", 10).output.split("\n")
        session.run("unset FOO; cd ..", 10)
        after = session.run("echo x${FOO}y; pwd", 10).output.split("\n")
        session.run("cd /; exit 4", 10)  # an explicit exit still keeps the directory
        root = session.run("pwd", 10).output.strip()
        session.run("exec true", 10)  # the shell is replaced: nothing to save, the state stays
        still = session.run("pwd", 10).output.strip()
    assert kept[0].endswith("/sub") and kept[1] == "hello world"
    assert after[0] == "xy" and not after[1].endswith("/sub")
    assert root == "/" and still == "/"


def test_fresh_shell_forgets_cd_and_exports() -> None:
    with session_of(shell="fresh") as session:
        session.run("cd /tmp && export FOO=1", 10)
        result = session.run("pwd; echo x${FOO}y", 10)
    assert result.output.split("\n")[:2] == ["/workspace", "xy"]


def test_a_server_started_in_one_step_answers_the_next() -> None:
    with session_of() as session:
        started = session.run("python -m http.server 8765 --bind 127.0.0.1 >/tmp/server.log 2>&1 & sleep 1; echo up",
                              10)
        assert started.wall_s < 5 and "up" in started.output
        answer = session.run("python -c \"import urllib.request as u; print(u.urlopen('http://127.0.0.1:8765/')"
                             ".status)\"", 20)
    assert answer.output.strip() == "200", answer.output


def test_background_job_holding_the_output_does_not_hold_the_command() -> None:
    with session_of() as session:
        result = session.run("sleep 30 & echo started", 10)
        after = session.run("echo next", 10)
    assert result.output == "started\n" and result.wall_s < 10 and after.output == "next\n"


def test_channel_carries_fd3_separately() -> None:
    with session_of() as session:
        result = session.run("echo to-out; echo to-channel >&3; echo more >&3", 10, channel=True)
        without = session.run("echo x >&3", 10)
    assert result.output == "to-out\n" and result.channel == b"to-channel\nmore\n"
    assert without.exit_code != 0 and without.channel == b""  # no fd 3 unless asked for


def test_put_and_export_round_trip_with_links() -> None:
    with session_of() as session:
        session.put_tar(f"{session.paths.tmp}/in", tar_of({"a/b.txt": b"hello", "c.bin": bytes(range(256))}))
        session.run("cd /tmp/in && ln -s a/b.txt link && mkfifo pipe", 10)
        out = read_tar(session.export_tar(f"{session.paths.tmp}/in"))
    assert out["a/b.txt"] == b"hello" and out["c.bin"] == bytes(range(256))
    assert out["link"] == "-> a/b.txt" and "pipe" not in out  # links stay links; a FIFO is never read


def test_unpack_refuses_escapes(tmp_path: Path) -> None:
    outside = str(tmp_path / "outside")
    bad_bundles = [encode([(b"l", "link", outside.encode()), (b"f", "link/evil", b"x")]),
                   encode([(b"f", "../evil", b"x")]), encode([(b"f", "/abs/evil", b"x")]),
                   encode([(b"f", "a", b"x")])[:-3]]  # truncated
    for bad in bad_bundles:
        with pytest.raises(UnsafeMember):
            unpack(bad, str(tmp_path / "dest"), 1 << 20)
    assert not (tmp_path / "outside").exists() and not (tmp_path / "evil").exists()
    with pytest.raises(ValueError, match="more than"):
        unpack(encode([(b"f", "big", b"x" * 100)]), str(tmp_path / "dest2"), 10)


def test_missing_bwrap_is_a_user_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERPASS_BWRAP", "/nonexistent/bwrap")
    with pytest.raises(UserError, match="apt-get install bubblewrap"):
        open_backend("bwrap")
    open_backend("none")  # an explicit opt-out still works


def test_backends_by_name() -> None:
    assert set(BACKENDS) == {"bwrap", "none", "docker"}
    with pytest.raises(UserError, match="unknown sandbox 'chroot'; choose one of: bwrap, none, docker"):
        open_backend("chroot")


def test_docker_backend_refused_without_an_engine() -> None:
    # This machine has a docker client at most, never a running engine: the refusal names what is missing.
    with pytest.raises(UserError, match="needs a running Docker or Podman engine"):
        open_backend("docker")


def test_unsafe_mode_runs_pushes_and_times_out() -> None:
    with session_of(backend="none") as session:
        result = session.run("git commit -qm empty --allow-empty && git push -q origin main && pytest --version", 30)
        assert result.exit_code == 0, result.output
        assert "pytest" in result.output
        log = session.run(f"git --git-dir={session.paths.remote} log -1 --format=%s", 10)
        assert log.output.strip() == "empty"
        slow = session.run("sleep 100 & sleep 100", 0.5)
    assert slow.timed_out and slow.wall_s < 20  # not the 100 s sleep


def test_session_start_failure_is_a_sandbox_error(monkeypatch: pytest.MonkeyPatch) -> None:
    folder = Path(tempfile.mkdtemp(prefix="perpass-fake-bwrap-"))
    folder.chmod(0o755)
    fake = folder / "bwrap"
    fake.write_text("#!/bin/sh\necho 'bwrap: No permissions to create new namespace' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PERPASS_BWRAP", str(fake))
    with pytest.raises(SandboxError, match="No permissions to create new namespace"):
        open_backend("bwrap").start(SessionSpec(Limits(), seed=seed_of({"a": "b"})))


def test_task_python_is_separate_and_has_pytest() -> None:
    python = task_python()
    assert python.exists() and not str(python.resolve()).startswith(sys.prefix)
    done = subprocess.run([str(python), "-c", "import pytest, sys; print(sys.prefix)"],
                          capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip() != sys.prefix
    assert subprocess.run([str(python), "-c", "import perpass"], capture_output=True).returncode != 0


def test_concurrent_sessions_do_not_mix_or_leak_fds() -> None:
    fds_before = len(os.listdir("/proc/self/fd"))

    def work(index: int) -> list[str]:
        with session_of() as session:
            return [session.run(f"echo {index}-{n} > f; cat f", 10).output.strip() for n in range(10)]

    with ThreadPoolExecutor(4) as pool:
        outputs = list(pool.map(work, range(4)))
    assert outputs == [[f"{i}-{n}" for n in range(10)] for i in range(4)]
    assert len(os.listdir("/proc/self/fd")) <= fds_before + 1
