"""`perpass sandbox check` through the real CLI."""

from __future__ import annotations

import json
import os
import subprocess

from conftest import PERPASS_CMD


def test_sandbox_check_reports_confinement() -> None:
    done = subprocess.run([*PERPASS_CMD, "sandbox", "check", "--json"], capture_output=True, text=True,
                          timeout=120)
    report = json.loads(done.stdout)
    assert done.returncode == 0, report["problems"]
    assert report["ok"] and all(report["probes"].values())
    assert report["pids_cgroup"] and report["bwrap_version"].startswith("bubblewrap")
    assert report["host_uid"] not in (None, 0) and report["probes"]["/proc/sys read-only"]
    assert report["start_ms"] > 0 and report["true_ms"] > 0


def test_sandbox_check_without_bwrap_says_how_to_install() -> None:
    env = {**os.environ, "PERPASS_BWRAP": "/nonexistent/bwrap"}
    done = subprocess.run([*PERPASS_CMD, "sandbox", "check", "--json"], capture_output=True, text=True, env=env,
                          timeout=60)
    assert done.returncode == 1
    assert "apt-get install bubblewrap" in json.loads(done.stdout)["problems"][0]
