"""Every built-in task is accepted by the pack check: its oracle passes through the real agent loop
(oracle route, bubblewrap, git push, verifier) and its unchanged repository fails. The slow module."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from conftest import PERPASS_CMD
from tasks_helpers import GOOD_TOML, write_task

from perpass.runs.task_check import check_task_detail
from perpass.sandbox import SandboxBackend, open_backend
from perpass.tasks import Task, builtin_tasks


@pytest.fixture(scope="module")
def backend() -> SandboxBackend:
    return open_backend()


@pytest.mark.parametrize("task", builtin_tasks(), ids=lambda t: t.id)
def test_builtin_task_passes_oracle_and_fails_unchanged(task: Task, backend: SandboxBackend, tmp_path: Path) -> None:
    checked = check_task_detail(task, backend, tmp_path)
    assert checked.oracle_pass, checked.problem
    assert checked.unchanged_fails, checked.problem


def run_check(path: Path) -> tuple[int, dict]:
    done = subprocess.run([*PERPASS_CMD, "tasks", "check", str(path), "--json"],
                          capture_output=True, text=True)
    report = json.loads(done.stdout) if done.stdout.strip() else {}
    return done.returncode, {**report, "stderr": done.stderr}


def test_cli_check_accepts_and_rejects(tmp_path: Path) -> None:
    write_task(tmp_path / "good", hidden={"test_hidden_answer.py": "from answer import answer\n\n\n"
                                          "def test_answer() -> None:\n    assert answer() == 42\n\n\n"
                                          "def test_type() -> None:\n    assert isinstance(answer(), int)\n"})
    code, report = run_check(tmp_path / "good")
    assert code == 0, report
    (checked,) = report["tasks"]
    assert 0 < checked.pop("wall_s") < 120
    assert checked == {"id": "t1-tiny", "tier": "T1", "oracle_pass": True, "unchanged_fails": True,
                       "fail_to_pass": 1, "pass_to_pass": 1, "problem": None, "source": "perpass",
                       "unstated": []}
    # not a terminal: one progress line per task on stderr
    assert "[1/1] t1-tiny: ok (" in report["stderr"]

    # passes unchanged: the hidden test asks for what the repo already does
    write_task(tmp_path / "pack" / "trivial", toml=GOOD_TOML.replace("t1-tiny", "t1-trivial"),
               hidden={"test_hidden_x.py": "from answer import answer\n\n\ndef test_x() -> None:\n"
                                          "    assert answer() >= 41\n"})
    # unsolvable: the oracle does not fix the bug
    write_task(tmp_path / "pack" / "broken", solve="echo doing nothing\n")
    code, report = run_check(tmp_path / "pack")
    assert code == 1
    by_id = {t["id"]: t for t in report["tasks"]}
    assert by_id["t1-trivial"]["unchanged_fails"] is False and by_id["t1-trivial"]["oracle_pass"] is True
    assert "pass on the unchanged repository" in by_id["t1-trivial"]["problem"]
    assert by_id["t1-tiny"]["oracle_pass"] is False and by_id["t1-tiny"]["unchanged_fails"] is True
