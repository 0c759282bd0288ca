"""A task's own test_command (the weaker "command" method, docs/verifier.md): the hidden tests are put
at the task's hidden_dir inside the materialised checkout, then the command runs with bash in the
checkout, in its own process group, within the tests' budget. Only its exit code is reported: nothing
here sees single tests, and the command's processes are the delivery's code, unwatched.

The delivered tree may hold anything at hidden_dir (a file, a folder of planted tests, a link to
another folder of the checkout): it is removed, never written through, before the hidden tests go in.
"""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import time


def place_hidden(hidden: str, checkout: str, hidden_dir: str) -> str:
    """Copy the hidden tests to checkout/hidden_dir, replacing whatever the delivery put on that path;
    no link of the delivery is followed (each folder on the way is made a real folder)."""
    current = checkout
    parts = [p for p in hidden_dir.split("/") if p]
    for depth, part in enumerate(parts):
        current = os.path.join(current, part)
        try:
            info = os.lstat(current)
        except FileNotFoundError:
            info = None
        last = depth == len(parts) - 1
        if info is not None and (last or not stat.S_ISDIR(info.st_mode)):
            if stat.S_ISDIR(info.st_mode):
                shutil.rmtree(current)  # a real folder (lstat): rmtree does not follow links inside it
            else:
                os.unlink(current)  # a file or a link: the link goes, never its target
            info = None
        if info is None and not last:
            os.mkdir(current)
    shutil.copytree(hidden, current, symlinks=True)
    return current


def run_command(command: str, cwd: str, budget_s: float) -> dict:
    """Run `command` with bash in cwd; its exit code (None when it ran out of time), whether it timed
    out, and its wall time. Its whole process group is killed when it ends or runs out of time."""
    started = time.perf_counter()
    proc = subprocess.Popen(["/bin/bash", "-c", command], cwd=cwd, stdin=subprocess.DEVNULL,
                            start_new_session=True)
    timed_out = False
    try:
        exit_code: int | None = proc.wait(timeout=budget_s)
    except subprocess.TimeoutExpired:
        timed_out, exit_code = True, None
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # what it left running in its group (or all of it on a timeout)
    except (ProcessLookupError, PermissionError):
        pass
    if timed_out:
        proc.wait()
    return {"exit": exit_code, "timed_out": timed_out, "budget": budget_s,
            "seconds": round(time.perf_counter() - started, 6)}
