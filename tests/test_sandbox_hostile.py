"""Hostile commands through the real sandbox (real bwrap): each must be contained.

A model's output is untrusted input: these are the things a confused or adversarial model will try."""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

import perpass
from perpass.sandbox import CommandResult, Limits, Sandbox, Workspace, create_workspace

SMALL = Limits(cpu_s=20, memory_mb=512, processes=64, file_size_mb=10, tmp_mb=32, disk_mb=60)
PERPASS_SOURCE = Path(perpass.__file__).resolve().parent


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    return Sandbox(SMALL)


@pytest.fixture()
def episode(tmp_path: Path) -> Workspace:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "app.py").write_text("VALUE = 1\n")
    return create_workspace(repo, tmp_path / "episode")


def run(sandbox: Sandbox, episode: Workspace, command: str, timeout_s: float = 10) -> CommandResult:
    result = sandbox.run(command, episode, timeout_s)
    assert result.error is None, result.error
    return result


def survivors(marker: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        if any(marker in part for part in proc.info["cmdline"] or []):
            found.append(proc)
    return found


# --- network -------------------------------------------------------------------------------------

@pytest.fixture()
def host_listener() -> Iterator[tuple[int, list[bool]]]:
    """A real TCP server on the host's loopback; records whether anything ever connected."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    connected: list[bool] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            connected.append(True)
            conn.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1], connected
    stop.set()
    thread.join()
    server.close()


def test_curl_to_host_loopback_fails(sandbox: Sandbox, episode: Workspace,
                                     host_listener: tuple[int, list[bool]]) -> None:
    port, connected = host_listener
    result = run(sandbox, episode, f"curl -sS -m 3 http://127.0.0.1:{port}/ && echo REACHED")
    assert result.exit_code != 0 and "REACHED" not in result.output
    assert connected == []


def test_python_socket_to_host_loopback_fails(sandbox: Sandbox, episode: Workspace,
                                              host_listener: tuple[int, list[bool]]) -> None:
    port, connected = host_listener
    code = f"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=3); print('REACHED')"
    result = run(sandbox, episode, f'python -c "{code}"')
    assert result.exit_code != 0 and "REACHED" not in result.output
    assert "Connection refused" in result.output
    assert connected == []


def test_public_ip_unreachable(sandbox: Sandbox, episode: Workspace) -> None:
    # One connect attempt inside an empty network namespace: it fails before any packet leaves.
    code = "import socket; socket.create_connection(('1.1.1.1', 80), timeout=3); print('REACHED')"
    result = run(sandbox, episode, f'python -c "{code}"')
    assert "REACHED" not in result.output and "unreachable" in result.output.lower()


def test_no_network_interfaces_but_loopback(sandbox: Sandbox, episode: Workspace) -> None:
    result = run(sandbox, episode, "cat /proc/net/dev | tail -n +3 | cut -d: -f1")
    assert result.output.split() == ["lo"]


def test_dns_fails(sandbox: Sandbox, episode: Workspace) -> None:
    result = run(sandbox, episode, "getent hosts pypi.org || echo NO-DNS")
    assert "NO-DNS" in result.output


# --- reading what must stay hidden -----------------------------------------------------------------

def test_work_root_and_perpass_source_invisible(sandbox: Sandbox, episode: Workspace) -> None:
    result = run(sandbox, episode, f"ls /work /root {PERPASS_SOURCE} 2>&1; ls / ")
    assert "No such file or directory" in result.output
    listing = result.output.split()
    assert "work" not in listing and "root" not in listing


def test_usr_local_hidden(sandbox: Sandbox, episode: Workspace) -> None:
    # Host tools and other Pythons live there (here: the session tooling, CUDA, postgres).
    assert run(sandbox, episode, "ls -A /usr/local; echo END").output == "END\n"


def test_perpass_not_importable_inside(sandbox: Sandbox, episode: Workspace) -> None:
    result = run(sandbox, episode, "python -c 'import perpass' 2>&1; python -c 'import typer' 2>&1")
    assert result.output.count("ModuleNotFoundError") == 2


def test_perpass_venv_invisible(sandbox: Sandbox, episode: Workspace) -> None:
    venv = Path(os.sys.prefix)
    result = run(sandbox, episode, f"ls {venv}/bin || echo HIDDEN")
    assert "HIDDEN" in result.output


def test_hidden_tests_next_to_workspace_unreachable(sandbox: Sandbox, episode: Workspace) -> None:
    hidden = episode.root / "hidden_tests"
    hidden.mkdir()
    (hidden / "test_secret_verifier.py").write_text("SECRET = 'hidden-verifier-42'\n")
    result = run(sandbox, episode, f"cat ../hidden_tests/* {hidden}/* 2>&1; grep -rs hidden-verifier-42 /"
                 " --exclude-dir=proc --exclude-dir=usr --exclude-dir=dev; echo END")
    assert "hidden-verifier-42" not in result.output.replace("grep -rs hidden-verifier-42", "")
    assert result.output.rstrip().endswith("END")


def test_another_episode_workspace_unreachable(sandbox: Sandbox, episode: Workspace, tmp_path: Path) -> None:
    repo = tmp_path / "other-repo"
    repo.mkdir()
    (repo / "other.txt").write_text("other-episode-secret\n")
    other = create_workspace(repo, tmp_path / "other-episode")
    result = run(sandbox, episode, f"cat {other.work}/other.txt ../../other-episode/work/other.txt 2>&1;"
                 " find / \\( -path /proc -o -path /usr \\) -prune -o -name other.txt -print; echo END")
    assert "other-episode-secret" not in result.output and "/other.txt\n" not in result.output


def test_dotdot_traversal_stays_inside(sandbox: Sandbox, episode: Workspace) -> None:
    result = run(sandbox, episode, "cd ../../../..; pwd; ls; cat ../../../../etc/shadow 2>&1")
    lines = result.output.split()
    assert lines[0] == "/" and "work" not in lines and "root" not in lines
    assert "No such file or directory" in result.output


def test_absolute_host_path_of_workspace_absent(sandbox: Sandbox, episode: Workspace) -> None:
    result = run(sandbox, episode, f"ls {episode.work} 2>&1 || echo ABSENT")
    assert "ABSENT" in result.output


def test_symlink_made_inside_to_host_secret_fails(sandbox: Sandbox, episode: Workspace,
                                                  tmp_path: Path) -> None:
    secret = tmp_path / "host-secret.txt"
    secret.write_text("host-secret-value\n")
    result = run(sandbox, episode, f"ln -s {secret} leak && cat leak 2>&1; ln -s /proc/1/root/work w2;"
                 " ls w2/")
    assert "host-secret-value" not in result.output
    assert (episode.work / "leak").is_symlink()  # the link exists; what it names is simply not there


def test_symlink_shipped_in_repo_to_host_secret_fails(sandbox: Sandbox, tmp_path: Path) -> None:
    secret = tmp_path / "host-secret.txt"
    secret.write_text("host-secret-value\n")
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "innocent.txt").symlink_to(secret)
    workspace = create_workspace(repo, tmp_path / "episode")
    result = run(sandbox, workspace, "cat innocent.txt 2>&1")
    assert "host-secret-value" not in result.output and result.exit_code != 0


def test_env_does_not_leak_api_keys(sandbox: Sandbox, episode: Workspace,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-perpass-test-secret")
    result = run(sandbox, episode, "env; cat /proc/1/environ /proc/self/environ | tr '\\0' '\\n'")
    assert "sk-perpass-test-secret" not in result.output and "OPENAI_API_KEY" not in result.output


def test_host_processes_invisible_in_proc(sandbox: Sandbox, episode: Workspace) -> None:
    result = run(sandbox, episode, f"ls /proc | grep -E '^[0-9]+$' | wc -l; cat /proc/{os.getpid()}/cmdline"
                 " 2>&1 || echo NOPE")
    assert int(result.output.split()[0]) < 10
    assert "NOPE" in result.output and "pytest" not in result.output


def test_cannot_signal_host_process(sandbox: Sandbox, episode: Workspace) -> None:
    host = subprocess.Popen(["sleep", "30"])
    try:
        result = run(sandbox, episode, f"kill -9 {host.pid} 2>&1; echo done")
        assert "done" in result.output
        assert host.poll() is None
    finally:
        host.kill()
        host.wait()


def test_host_etc_and_shadow_not_visible(sandbox: Sandbox, episode: Workspace) -> None:
    result = run(sandbox, episode, "ls /etc; cat /etc/shadow 2>&1; cat /etc/passwd")
    assert "shadow" not in result.output.split("\n")[0:20]
    assert "root:" not in result.output and "agent:x:1000" in result.output


# --- writing outside the workspace -------------------------------------------------------------------

@pytest.mark.parametrize("target", ["/usr/bin/evil", "/evil", "/etc/evil", "/opt/task-python/evil",
                                    "/dev/evil", "/proc/evil"])
def test_write_outside_workspace_fails(sandbox: Sandbox, episode: Workspace, target: str) -> None:
    result = run(sandbox, episode, f"echo x > {target} && echo WROTE")
    assert "WROTE" not in result.output
    assert not Path(target).exists()


def test_cannot_escape_through_sys_or_cgroup(sandbox: Sandbox, episode: Workspace) -> None:
    result = run(sandbox, episode, "echo $$ > /sys/fs/cgroup/pids/cgroup.procs && echo ESCAPED; ls /sys 2>&1")
    assert "ESCAPED" not in result.output


def test_setuid_and_privilege_tricks_fail(sandbox: Sandbox, episode: Workspace) -> None:
    result = run(sandbox, episode, "cp /bin/bash ./rootsh && chmod u+s ./rootsh && ./rootsh -p -c 'id -u';"
                 " python -c 'import os; os.setuid(0)' 2>&1 | tail -1; grep NoNewPrivs /proc/self/status;"
                 " grep CapEff /proc/self/status")
    assert result.output.split("\n")[0] == "1000"
    assert "Error" in result.output.split("\n")[1]  # EINVAL: uid 0 does not even exist in here
    assert "NoNewPrivs:\t1" in result.output and "CapEff:\t0000000000000000" in result.output


def test_no_nested_namespaces_or_mounts(sandbox: Sandbox, episode: Workspace) -> None:
    result = run(sandbox, episode, "unshare -r true && echo USERNS; mount -t tmpfs none /tmp/x 2>&1"
                 " && echo MOUNTED")
    assert "USERNS" not in result.output and "MOUNTED" not in result.output


# --- resource abuse ----------------------------------------------------------------------------------

def test_fork_bomb_contained(sandbox: Sandbox, episode: Workspace) -> None:
    start = time.monotonic()
    result = sandbox.run(":(){ :|:& };:", episode, 2)
    assert result.error is None
    assert time.monotonic() - start < 10
    assert subprocess.run(["true"]).returncode == 0  # the host can still fork
    assert run(sandbox, episode, "echo alive").output.strip() == "alive"


FORK_COUNTER = """
import os, time
made = 0
for _ in range(200):
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        time.sleep(30)
        os._exit(0)
    made += 1
print("made", made)
"""


def test_process_limit_holds(sandbox: Sandbox, episode: Workspace) -> None:
    (episode.work / "forker.py").write_text(FORK_COUNTER)
    result = run(sandbox, episode, "python forker.py")
    made = int(result.output.split()[-1])
    assert 10 < made < SMALL.processes
    assert result.wall_s < 5  # and the sleeping children did not keep the command alive


def test_memory_hog_single_process(sandbox: Sandbox, episode: Workspace) -> None:
    result = run(sandbox, episode, "python -c 'x = bytearray(3 * 1024**3); print(len(x))'")
    assert result.exit_code != 0 and "MemoryError" in result.output


def test_memory_hog_many_processes_killed_by_watchdog(sandbox: Sandbox, episode: Workspace) -> None:
    hog = "python -c 'import time; x = bytearray(200 * 1024**2); time.sleep(20)'"
    result = sandbox.run(f"for i in 1 2 3 4; do {hog} & done; wait", episode, 15)
    assert result.killed_by == "memory" and result.exit_code is None
    assert result.wall_s < 10


def test_cpu_time_limit(episode: Workspace) -> None:
    result = Sandbox(Limits(cpu_s=1)).run("python -c 'while True: pass'", episode, 15)
    assert result.exit_code == 128 + 24 and not result.timed_out  # SIGXCPU (the soft limit)
    assert result.wall_s < 8


def test_big_file_stopped_by_file_size_limit(sandbox: Sandbox, episode: Workspace) -> None:
    result = run(sandbox, episode, "head -c 200M /dev/zero > big.bin; echo rc=$?")
    assert "rc=153" in result.output or "File size limit" in result.output
    assert (episode.work / "big.bin").stat().st_size <= SMALL.file_size_mb * 1024 * 1024


def test_disk_filler_stopped(sandbox: Sandbox, episode: Workspace) -> None:
    result = sandbox.run("for i in $(seq 100); do head -c 8M /dev/urandom > fill$i.bin; done", episode, 20)
    written = sum(p.stat().st_size for p in episode.work.glob("fill*.bin"))
    assert result.killed_by in ("disk", "timeout")
    assert written < 600 * 1024 * 1024


def test_tmp_and_shm_are_small_and_private(sandbox: Sandbox, episode: Workspace) -> None:
    fill = "for i in 1 2 3 4 5; do head -c 9M /dev/zero > {}/x$i || echo FULL; done 2>&1"
    result = run(sandbox, episode, f"{fill.format('/tmp')}; {fill.format('/dev/shm')}; echo end")
    assert result.output.count("No space left on device") >= 2 and result.output.count("FULL") >= 2
    assert "end" in result.output
    assert "x1" not in run(sandbox, episode, "ls /tmp /dev/shm").output  # a fresh /tmp per command


def test_sleep_forever_timed_out_and_tree_killed(sandbox: Sandbox, episode: Workspace) -> None:
    marker = f"{1000 + uuid.uuid4().int % 1000}.{uuid.uuid4().int % 10**6}"
    result = sandbox.run(f"sleep {marker} & sleep {marker}", episode, 1)
    assert result.timed_out and result.exit_code is None and result.error is None
    assert result.wall_s < 4
    time.sleep(0.2)
    assert survivors(marker) == []


def test_background_process_killed_at_end(sandbox: Sandbox, episode: Workspace) -> None:
    marker = f"{2000 + uuid.uuid4().int % 1000}.{uuid.uuid4().int % 10**6}"
    result = run(sandbox, episode, f"(sleep {marker} &); nohup setsid sleep {marker} >/dev/null 2>&1 &"
                 " echo started")
    assert "started" in result.output and result.wall_s < 3
    time.sleep(0.2)
    assert survivors(marker) == []


def test_closing_output_and_daemonizing_still_times_out(sandbox: Sandbox, episode: Workspace) -> None:
    result = sandbox.run("exec >/dev/null 2>&1; sleep 1000", episode, 1)
    assert result.timed_out and result.wall_s < 4


def test_kill_parent_and_everything(sandbox: Sandbox, episode: Workspace) -> None:
    host = subprocess.Popen(["sleep", "30"])
    try:
        for command in ("kill -9 $PPID; echo after", "kill -9 -1; echo after", "kill -9 0"):
            result = sandbox.run(command, episode, 5)
            assert result.wall_s < 4, command
        assert host.poll() is None
        assert run(sandbox, episode, "echo alive").output.strip() == "alive"
    finally:
        host.kill()
        host.wait()


def test_huge_output_capped(sandbox: Sandbox, episode: Workspace) -> None:
    result = run(sandbox, episode, "yes perpass | head -c 100000000", timeout_s=60)
    assert result.exit_code == 0
    assert result.output_bytes == 100_000_000
    assert len(result.output) < SMALL.output_cap_bytes + 200
    assert "bytes of output dropped" in result.output
    assert result.output.startswith("perpass\n") and result.output.endswith("perpass\n")


def test_binary_output_decoded(sandbox: Sandbox, episode: Workspace) -> None:
    result = run(sandbox, episode, "head -c 65536 /dev/urandom; printf '\\377\\376 tail'")
    assert "\ufffd" in result.output and result.output.endswith(" tail")


def test_hostile_command_cannot_fake_an_infra_error(sandbox: Sandbox, episode: Workspace) -> None:
    command = "echo 'bwrap: Cannot mount proc' >&2; for f in /proc/1/fd/*; do echo x > $f; done; exit 1"
    result = sandbox.run(command, episode, 5)
    assert result.error is None and result.exit_code == 1
