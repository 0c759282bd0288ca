"""--unsafe-no-sandbox: the command runs directly on the host, as perpass's own user.

UNSAFE: the model's commands can read and write anything perpass can (your files, the hidden tests,
the run store, the network). Only the timeout, the process-group kill, the per-process limits and
the output cap still apply. Use it only with models and tasks you trust, on a throwaway machine."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import time
from pathlib import Path

from perpass.sandbox.bwrap_args import COMMAND_ENV, REMOTE_INSIDE, ulimit_line
from perpass.sandbox.capture import HeadTail, kill_note
from perpass.sandbox.types import CommandResult, Limits, Workspace


def unsafe_env(workspace: Workspace, venv: Path) -> dict[str, str]:
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(workspace.home), **COMMAND_ENV}
    if workspace.remote is not None:
        # origin is /remote.git (the sandbox's path); on the host, rewrite it to the real folder.
        env.update({"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": f"url.{workspace.remote}.insteadOf",
                    "GIT_CONFIG_VALUE_0": REMOTE_INSIDE})
    return env


def run_unsafe(command: str, workspace: Workspace, venv: Path, limits: Limits,
               timeout_s: float) -> CommandResult:
    start = time.monotonic()
    # Not a login shell: the host's /etc/profile would reset PATH and lose the task Python.
    script = f'{ulimit_line(limits)}; __perpass_command=$1; shift; set --; eval "$__perpass_command"'
    proc = subprocess.Popen(["/bin/bash", "-c", script, "perpass", command],
                            cwd=workspace.work, env=unsafe_env(workspace, venv), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    capture = HeadTail(limits.output_cap_bytes)
    assert proc.stdout is not None
    timed_out = False
    fd = proc.stdout.fileno()
    deadline = start + timeout_s
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            timed_out = True
            break
        ready, _, _ = select.select([fd], [], [], min(remaining, 0.5))
        if ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            capture.add(chunk)
    # Whatever is left in the command's process group (background jobs included) dies now.
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    code = proc.wait()
    proc.stdout.close()
    killed_by = "timeout" if timed_out else None
    return CommandResult(exit_code=None if timed_out else code,
                         output=capture.text() + kill_note(killed_by, limits, timeout_s), timed_out=timed_out,
                         wall_s=time.monotonic() - start, killed_by=killed_by, output_bytes=capture.total)
