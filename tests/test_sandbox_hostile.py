"""Hostile commands through the real sandbox session (real bwrap): each must be contained.

A model's output is untrusted input: these are the things a confused or adversarial model will try.
None of these tests may change the host even if the sandbox regresses: a probe that writes a host
setting writes back the value it read, and asserts that the write was refused."""

from __future__ import annotations

import dataclasses
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
from sandbox_helpers import SMALL, session_of

import perpass
from perpass.sandbox import CommandResult, Limits, Session, SessionSpec, open_backend

PERPASS_SOURCE = Path(perpass.__file__).resolve().parent


@pytest.fixture(scope="module")
def module_session() -> Iterator[Session]:
    with session_of() as session:
        yield session


@pytest.fixture()
def session(module_session: Session) -> Session:
    """One session for the probes that change nothing a later probe depends on (the shell starts over
    in /workspace: `cd` persists from one command to the next)."""
    module_session.run("cd /workspace", 10)
    return module_session


@pytest.fixture()
def own_session() -> Iterator[Session]:
    """A session of its own, for probes that damage or fill it."""
    with session_of() as fresh:
        yield fresh


def run(session: Session, command: str, timeout_s: float = 10) -> CommandResult:
    result = session.run(command, timeout_s)
    assert result.error is None, result.error
    return result


def survivors(marker: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        if any(marker in part for part in proc.info["cmdline"] or []):
            found.append(proc)
    return found


def host_uid(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("Uid:"))


# --- no privilege on the host ------------------------------------------------------------------------

# Host-global settings root could change. Each probe reads the value and writes the SAME value back, so a
# regression changes nothing; the assertion is that the write is refused.
PROC_SYS_SAMPLE = ("kernel/core_pattern", "kernel/panic", "vm/drop_caches", "fs/protected_symlinks",
                   "kernel/hostname", "vm/overcommit_memory", "kernel/pid_max", "fs/file-max",
                   "kernel/randomize_va_space", "net/ipv4/ip_forward", "kernel/sysrq")


@pytest.mark.parametrize("name", PROC_SYS_SAMPLE)
def test_proc_sys_cannot_be_written(session: Session, name: str) -> None:
    path = f"/proc/sys/{name}"
    command = (f'v=$(cat {path} 2>/dev/null) || {{ echo UNREADABLE; exit 0; }}; '
               f'if [ "{name}" = vm/drop_caches ]; then v=0; fi; '  # write-only file: 0 is refused by the kernel anyway
               f'(printf "%s\n" "$v" > {path}) 2>&1 && echo WROTE || echo REFUSED')
    result = run(session, command)
    assert "WROTE" not in result.output and ("REFUSED" in result.output or "UNREADABLE" in result.output)


def test_no_file_under_proc_sys_is_writable(session: Session) -> None:
    # The issue found 763 writable files; the check uses access(W_OK), which writes nothing.
    result = run(session, "find /proc/sys -type f -writable 2>/dev/null | wc -l; "
                 "python -c \"import os; print(os.access('/proc/sys/kernel/core_pattern', os.W_OK))\"", 30)
    count, core = result.output.split()
    assert count == "0" and core == "False"


def test_core_pattern_escape_is_refused(session: Session) -> None:
    # The attack that reached root: point core_pattern at a script, then crash a process.
    result = run(session, "printf '#!/bin/sh\\ntouch /tmp/pwned\\n' > /tmp/h.sh; chmod +x /tmp/h.sh;"
                 " v=$(cat /proc/sys/kernel/core_pattern);"
                 " (echo \"$v\" > /proc/sys/kernel/core_pattern) 2>&1 | tail -1;"
                 " sh -c 'kill -SEGV $$'; echo done")
    assert "Read-only file system" in result.output or "Permission denied" in result.output
    assert not Path("/tmp/pwned").exists()


def test_sandbox_runs_as_an_unprivileged_host_uid(session: Session) -> None:
    assert session.host_pid is not None
    assert host_uid(session.host_pid) != 0
    marker = f"{3000 + uuid.uuid4().int % 1000}.{uuid.uuid4().int % 10**6}"
    run(session, f"sleep {marker} >/dev/null 2>&1 & echo started")
    procs = survivors(marker)
    assert procs and all(p.uids().real != 0 and p.uids().effective != 0 for p in procs)
    run(session, f"pkill -f {marker}; true")


def test_other_proc_files_root_could_write_are_refused(session: Session) -> None:
    targets = "/proc/sysrq-trigger /proc/1/oom_score_adj /sys/kernel/mm/transparent_hugepage/enabled"
    result = run(session, f"for f in {targets};"
                 " do (cat $f > /dev/null 2>&1; : >> $f) 2>/dev/null && echo \"WROTE $f\"; done; echo END")
    assert "WROTE /proc/sysrq-trigger" not in result.output
    assert "WROTE /sys" not in result.output and result.output.strip().endswith("END")


def test_supervisor_is_out_of_reach(session: Session) -> None:
    result = run(session, "kill -9 1; kill -STOP 1; cat /proc/1/environ 2>&1 | head -c 100; echo;"
                 " ls /proc/1/fd 2>&1 | head -3;"
                 " python -c \"import ctypes; print(ctypes.CDLL(None).ptrace(16, 1, 0, 0))\"")
    assert "Permission denied" in result.output
    assert result.output.strip().endswith("-1")  # PTRACE_ATTACH to PID 1 fails
    assert run(session, "echo alive").output == "alive\n"


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


def test_curl_to_host_loopback_fails(session: Session,
                                     host_listener: tuple[int, list[bool]]) -> None:
    port, connected = host_listener
    result = run(session, f"curl -sS -m 3 http://127.0.0.1:{port}/ && echo REACHED")
    assert result.exit_code != 0 and "REACHED" not in result.output
    assert connected == []


def test_python_socket_to_host_loopback_fails(session: Session,
                                              host_listener: tuple[int, list[bool]]) -> None:
    port, connected = host_listener
    code = f"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=3); print('REACHED')"
    result = run(session, f'python -c "{code}"')
    assert result.exit_code != 0 and "REACHED" not in result.output
    assert "Connection refused" in result.output
    assert connected == []


def test_public_ip_unreachable(session: Session) -> None:
    # One connect attempt inside an empty network namespace: it fails before any packet leaves.
    code = "import socket; socket.create_connection(('1.1.1.1', 80), timeout=3); print('REACHED')"
    result = run(session, f'python -c "{code}"')
    assert "REACHED" not in result.output and "unreachable" in result.output.lower()


def test_no_network_interfaces_but_loopback(session: Session) -> None:
    result = run(session, "cat /proc/net/dev | tail -n +3 | cut -d: -f1")
    assert result.output.split() == ["lo"]


def test_dns_fails(session: Session) -> None:
    result = run(session, "getent hosts pypi.org || echo NO-DNS")
    assert "NO-DNS" in result.output


# --- reading what must stay hidden -----------------------------------------------------------------

def test_work_root_and_perpass_source_invisible(session: Session) -> None:
    result = run(session, f"ls /work /root {PERPASS_SOURCE} 2>&1; ls / ")
    assert "No such file or directory" in result.output
    listing = result.output.split()
    assert "work" not in listing and "root" not in listing


def test_usr_local_hidden(session: Session) -> None:
    # Host tools and other Pythons live there (here: the session tooling, CUDA, postgres).
    assert run(session, "ls -A /usr/local; echo END").output == "END\n"


def test_perpass_not_importable_inside(session: Session) -> None:
    result = run(session, "python -c 'import perpass' 2>&1; python -c 'import typer' 2>&1")
    assert result.output.count("ModuleNotFoundError") == 2


def test_perpass_venv_invisible(session: Session) -> None:
    venv = Path(os.sys.prefix)
    result = run(session, f"ls {venv}/bin || echo HIDDEN")
    assert "HIDDEN" in result.output


def test_task_files_and_other_sessions_unreachable(session: Session, tmp_path: Path) -> None:
    # A task's hidden tests live in its folder on the host; another episode's workspace lives in its
    # own session. Neither may be found from here, by path or by search.
    hidden = tmp_path / "hidden_tests"
    hidden.mkdir()
    (hidden / "test_secret_verifier.py").write_text("SECRET = 'hidden-verifier-42'\n")
    with session_of({"other.txt": "other-episode-secret\n"}) as other:
        assert other.run("cat other.txt", 10).output == "other-episode-secret\n"
        result = run(session, f"cat {hidden}/* 2>&1; grep -rs -e hidden-verifier-42 -e other-episode-secret /"
                     " --exclude-dir=proc --exclude-dir=usr --exclude-dir=dev; "
                     "find / \\( -path /proc -o -path /usr \\) -prune -o -name other.txt -print; echo END", 30)
    assert "hidden-verifier-42" not in result.output.replace("grep -rs -e hidden-verifier-42", "")
    assert "other-episode-secret" not in result.output.replace("-e other-episode-secret", "")
    assert "/other.txt\n" not in result.output and result.output.rstrip().endswith("END")


def test_dotdot_traversal_stays_inside(session: Session) -> None:
    result = run(session, "cd ../../../..; pwd; ls; cat ../../../../etc/shadow 2>&1")
    lines = result.output.split()
    assert lines[0] == "/" and "work" not in lines and "root" not in lines
    assert "No such file or directory" in result.output


def test_host_paths_absent(session: Session, tmp_path: Path) -> None:
    result = run(session, f"ls {tmp_path} /var/cache/perpass /tmp/pytest-of-root 2>&1; echo END")
    assert result.output.count("No such file or directory") == 3


def test_symlink_made_inside_to_host_secret_fails(session: Session, tmp_path: Path) -> None:
    secret = tmp_path / "host-secret.txt"
    secret.write_text("host-secret-value\n")
    result = run(session, f"ln -sf {secret} leak && cat leak 2>&1; ln -sfn /proc/1/root/work w2; ls w2/ 2>&1;"
                 " test -L leak && echo IS-LINK; rm -f leak w2")
    assert "host-secret-value" not in result.output
    assert "IS-LINK" in result.output  # the link exists; what it names is simply not there


def test_symlink_shipped_in_repo_to_host_secret_fails(tmp_path: Path) -> None:
    from perpass.sandbox import prepare_seed

    secret = tmp_path / "host-secret.txt"
    secret.write_text("host-secret-value\n")
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "innocent.txt").symlink_to(secret)
    with open_backend().start(SessionSpec(SMALL, seed=prepare_seed(repo))) as session:
        result = run(session, "cat innocent.txt 2>&1")
    assert "host-secret-value" not in result.output and result.exit_code != 0


def test_env_does_not_leak_api_keys(session: Session,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-perpass-test-secret")
    result = run(session, "env; cat /proc/1/environ /proc/self/environ | tr '\\0' '\\n'")
    assert "sk-perpass-test-secret" not in result.output and "OPENAI_API_KEY" not in result.output


def test_host_processes_invisible_in_proc(session: Session) -> None:
    result = run(session, f"ls /proc | grep -E '^[0-9]+$' | wc -l; cat /proc/{os.getpid()}/cmdline"
                 " 2>&1 || echo NOPE")
    assert int(result.output.split()[0]) < 10
    assert "NOPE" in result.output and "pytest" not in result.output


def test_cannot_signal_host_process(session: Session) -> None:
    host = subprocess.Popen(["sleep", "30"])
    try:
        result = run(session, f"kill -9 {host.pid} 2>&1; echo done")
        assert "done" in result.output
        assert host.poll() is None
    finally:
        host.kill()
        host.wait()


def test_host_etc_and_shadow_not_visible(session: Session) -> None:
    result = run(session, "ls /etc; cat /etc/shadow 2>&1; cat /etc/passwd")
    assert "shadow" not in result.output.split("\n")[0:20]
    assert "root:" not in result.output and "agent:x:1000" in result.output


# --- writing outside the workspace -------------------------------------------------------------------

@pytest.mark.parametrize("target", ["/usr/bin/evil", "/evil", "/etc/evil", "/opt/task-python/evil",
                                    "/dev/evil", "/proc/evil"])
def test_write_outside_workspace_fails(session: Session, target: str) -> None:
    result = run(session, f"echo x > {target} && echo WROTE")
    assert "WROTE" not in result.output
    assert not Path(target).exists()


def test_cannot_escape_through_sys_or_cgroup(session: Session) -> None:
    result = run(session, "echo $$ > /sys/fs/cgroup/pids/cgroup.procs && echo ESCAPED; ls /sys 2>&1")
    assert "ESCAPED" not in result.output


def test_setuid_and_privilege_tricks_fail(session: Session) -> None:
    result = run(session, "cp /bin/bash ./rootsh && chmod u+s ./rootsh && ./rootsh -p -c 'id -u';"
                 " python -c 'import os; os.setuid(0)' 2>&1 | tail -1; grep NoNewPrivs /proc/self/status;"
                 " grep CapEff /proc/self/status")
    assert result.output.split("\n")[0] == "1000"
    assert "Error" in result.output.split("\n")[1]  # EINVAL: uid 0 does not even exist in here
    assert "NoNewPrivs:\t1" in result.output and "CapEff:\t0000000000000000" in result.output


def test_no_nested_namespaces_or_mounts(session: Session) -> None:
    result = run(session, "unshare -r true && echo USERNS; mount -t tmpfs none /tmp/x 2>&1"
                 " && echo MOUNTED")
    assert "USERNS" not in result.output and "MOUNTED" not in result.output


# --- resource abuse ----------------------------------------------------------------------------------

def test_fork_bomb_contained_and_the_next_command_runs(own_session: Session) -> None:
    start = time.monotonic()
    result = own_session.run(":(){ :|:& };:; sleep 1", 5)
    assert result.error is None and result.limit == "pids"
    assert time.monotonic() - start < 15
    assert subprocess.run(["true"]).returncode == 0  # the host can still fork
    assert run(own_session, "echo alive").output.strip() == "alive"
    assert int(run(own_session, "ls /proc | grep -c '^[0-9]'").output) < 5  # the bomb is gone


FILE_FLOOD = ("python3 -c \"import os\nos.makedirs('/tmp/f')\n"
              "for i in range(1_000_000): open(f'/tmp/f/{i}', 'w').close()\"")


def test_a_flood_of_empty_files_is_stopped_at_the_file_count() -> None:
    """Empty files cost no quota bytes but ~1 KB of the host's kernel memory each (1.9 million in one
    command's 20 CPU seconds, measured): the session's file count stops the command that adds them, and
    the agent can still clean up and go on."""
    with session_of(limits=dataclasses.replace(SMALL, files=20_000)) as session:
        flood = session.run(FILE_FLOOD, 60)
        assert flood.killed_by == "disk" and flood.limit == "disk", flood.output[-300:]
        assert "20,000 files and folders" in flood.output
        listed = run(session, "ls /tmp/f | wc -l")
        assert 20_000 < int(listed.output.split()[0]) < 200_000 and listed.killed_by is None
        cleaned = run(session, "rm -rf /tmp/f && echo clean")
        assert cleaned.output.strip() == "clean" and cleaned.limit is None
        assert run(session, "touch /tmp/ok && echo ok").output.strip() == "ok"


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


def test_process_limit_holds(own_session: Session) -> None:
    run(own_session, f"cat > forker.py <<'EOF'\n{FORK_COUNTER}\nEOF")
    result = run(own_session, "python forker.py", 20)
    made = int(result.output.split()[1])
    assert 10 < made < SMALL.processes
    assert result.limit == "pids"  # a session limit: the episode ends


def test_memory_hog_single_process(session: Session) -> None:
    result = run(session, "python -c 'x = bytearray(3 * 1024**3); print(len(x))'")
    assert result.exit_code != 0 and "MemoryError" in result.output


def test_memory_hog_many_processes_killed_by_watchdog(own_session: Session) -> None:
    hog = "python -c 'import time; x = bytearray(200 * 1024**2); time.sleep(20)'"
    result = own_session.run(f"for i in 1 2 3 4; do {hog} & done; wait", 15)
    assert result.killed_by == "memory" and result.limit == "memory" and result.exit_code is None
    assert result.wall_s < 10


def test_memory_hog_in_the_background_is_caught_between_commands(own_session: Session) -> None:
    hog = "python -c 'import time; x = bytearray(200 * 1024**2); time.sleep(30)'"
    run(own_session, f"for i in 1 2 3 4; do {hog} >/dev/null 2>&1 & done; echo started")
    time.sleep(3)
    result = own_session.run("echo next", 10)
    assert result.limit == "memory" and result.output.startswith("next\n")  # reported with the next command
    assert int(run(own_session, "ls /proc | grep -c '^[0-9]'").output) < 5  # and the hogs are gone


def test_cpu_time_limit_per_process() -> None:
    with session_of(limits=Limits(cpu_s=1)) as session:
        result = session.run("python -c 'while True: pass'", 15)
    assert result.exit_code == 128 + 24 and not result.timed_out  # SIGXCPU (the soft limit)
    assert result.wall_s < 8


def test_cpu_time_limit_per_session() -> None:
    # Many short processes each under the per-process limit still add up to the session's.
    limits = Limits(cpu_s=2, session_cpu_s=3)
    burn = "python -c 'import time\nwhile time.process_time() < 1.2: pass'"  # 1.2 s of CPU, whatever the load
    with session_of(limits=limits) as session:
        results = [session.run(burn, 30) for _ in range(4)]
    assert [r.limit for r in results[:2]] == [None, None]
    assert "cpu" in [r.limit for r in results[2:]], [(r.exit_code, r.limit) for r in results]


def test_big_file_stopped_by_file_size_limit(own_session: Session) -> None:
    result = run(own_session, "head -c 200M /dev/zero > big.bin; echo rc=$?; stat -c %s big.bin")
    assert "rc=153" in result.output or "File size limit" in result.output
    assert int(result.output.split()[-1]) <= SMALL.file_size_mb * 1024 * 1024


def test_disk_quota_holds_across_commands(own_session: Session) -> None:
    # Each command stays under the per-file limit; together they reach the workspace quota.
    results = [own_session.run(f"head -c 8M /dev/urandom > fill{i}.bin", 20) for i in range(12)]
    hit = next(i for i, r in enumerate(results) if r.limit == "disk")
    assert hit < 10, [(r.exit_code, r.limit) for r in results]
    usage = run(own_session, "du -sm /workspace | cut -f1")
    assert int(usage.output.split()[0]) <= SMALL.disk_mb


def test_disk_filler_in_tmp_home_and_remote_bounded(own_session: Session) -> None:
    for folder, quota in (("/tmp", SMALL.tmp_mb), ("~", SMALL.home_mb), ("/remote.git", SMALL.remote_mb)):
        own_session.run(f"for i in $(seq 10); do head -c 8M /dev/zero > {folder}/f$i || break; done", 20)
        used = run(own_session, f"du -sm {folder} | cut -f1").output
        assert int(used.split()[0]) <= quota, folder
        run(own_session, f"rm -f {folder}/f*")


def test_tmp_and_shm_are_small_and_private(own_session: Session) -> None:
    fill = "for i in 1 2 3 4 5; do head -c 9M /dev/zero > {}/x$i || echo FULL; done 2>&1"
    result = run(own_session, f"{fill.format('/tmp')}; {fill.format('/dev/shm')}; echo end")
    assert result.output.count("No space left on device") >= 2 and result.output.count("FULL") >= 2
    assert "end" in result.output
    with session_of() as other:  # another session's /tmp is its own
        assert "x1" not in run(other, "ls /tmp /dev/shm").output


def test_sleep_forever_timed_out_and_tree_killed(session: Session) -> None:
    marker = f"{1000 + uuid.uuid4().int % 1000}.{uuid.uuid4().int % 10**6}"
    result = session.run(f"sleep {marker} & sleep {marker}", 1)
    assert result.timed_out and result.exit_code is None and result.error is None
    assert result.wall_s < 20  # not the sleep's 1000+ s
    time.sleep(0.2)
    assert survivors(marker) == []


def test_background_process_outlives_its_command_but_not_the_session() -> None:
    marker = f"{2000 + uuid.uuid4().int % 1000}.{uuid.uuid4().int % 10**6}"
    with session_of() as session:
        result = run(session, f"(sleep {marker} &); nohup setsid sleep {marker} >/dev/null 2>&1 & echo started")
        assert "started" in result.output and result.wall_s < 20
        time.sleep(0.2)
        assert len(survivors(marker)) == 2
    time.sleep(0.2)
    assert survivors(marker) == []


def test_closing_output_and_daemonizing_still_times_out(session: Session) -> None:
    result = session.run("exec >/dev/null 2>&1; sleep 1000", 1)
    assert result.timed_out and result.wall_s < 20  # not the 1000 s sleep


def test_kill_parent_and_everything(own_session: Session) -> None:
    host = subprocess.Popen(["sleep", "30"])
    try:
        for command in ("kill -9 $PPID; echo after", "kill -9 -1; echo after", "kill -9 0", "kill -9 1; echo after",
                        "exec 0<&- 1>&- 2>&-; sleep 0.2", "for fd in $(ls /proc/$$/fd); do eval \"exec $fd>&-\"; done",
                        "exec sleep 0.1", "kill -STOP $$"):
            result = own_session.run(command, 5)
            assert result.error is None and not result.lost, command
            assert run(own_session, "echo alive").output.strip() == "alive", command
        assert host.poll() is None
    finally:
        host.kill()
        host.wait()


def test_huge_output_capped(session: Session) -> None:
    result = run(session, "yes perpass | head -c 100000000", timeout_s=60)
    assert result.exit_code == 0
    assert result.output_bytes == 100_000_000
    assert len(result.output) < SMALL.output_cap_bytes + 200
    assert "bytes of output dropped" in result.output
    assert result.output.startswith("perpass\n") and result.output.endswith("perpass\n")


def test_binary_output_decoded(session: Session) -> None:
    result = run(session, "head -c 65536 /dev/urandom; printf '\\377\\376 tail'")
    assert "\ufffd" in result.output and result.output.endswith(" tail")


def test_hostile_command_cannot_fake_an_infra_error(session: Session) -> None:
    command = "echo 'bwrap: Cannot mount proc' >&2; for f in /proc/1/fd/*; do echo x > $f; done; exit 1"
    result = session.run(command, 5)
    assert result.error is None and result.exit_code == 1
