"""`perpass tasks export`: write perpass tasks in another framework's task format (a registry of formats).

Harbor (sources/harbor.py has the format): the repository becomes environment/app/ copied into /app by a
python-image Dockerfile that pip-installs pytest and the task's requirements; the hidden tests go to
tests/ with a test.sh that runs them with pytest (only the task's fail_to_pass + pass_to_pass ids when it
lists them) and writes reward 1 or 0; solve.sh runs in /app. A push task's instruction gets a note that
the working copy is what counts (Harbor has no remote to push to). perpass reads the result back as a
Harbor task, judged by the reward (the `command` verdict), not per test.
"""

from __future__ import annotations

import shlex
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from perpass.errors import UserError
from perpass.tasks.model import Task, task_files
from perpass.tasks.oracle import solution_command
from perpass.tasks.sources.harbor import DEFAULT_WORKDIR, HIDDEN_TESTS, REWARD_DIR

PYTHON_IMAGE = "python:3.12-slim"
TIER_DIFFICULTY = {"T0": "easy", "T1": "easy", "T2": "medium", "T3": "hard"}
PUSH_NOTE = ("\n\n(Here the working copy in /app is what is checked: there is no remote to push to, so "
             "leave your change in /app.)")


def toml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def harbor_toml(task: Task) -> str:
    title = next((line.strip() for line in task.instruction.splitlines() if line.strip()), task.id)
    return (f'schema_version = "1.1"\n\n[task]\nname = {toml_string("perpass/" + task.id)}\n'
            f"description = {toml_string(title)}\n\n"
            f'[metadata]\nperpass_tier = "{task.tier}"\ndifficulty = "{TIER_DIFFICULTY[task.tier]}"\n'
            f'category = "programming"\nsource = "perpass"\n'
            f"perpass_allow = [{', '.join(toml_string(a) for a in task.allow)}]\n\n"
            f"[verifier]\ntimeout_sec = {task.verify_timeout_s}\n\n[agent]\ntimeout_sec = {task.time_limit_s}\n\n"
            "[environment]\nallow_internet = false\n")


def dockerfile(task: Task) -> str:
    packages = " ".join(shlex.quote(p) for p in ("pytest", *task.requirements))
    # python_path: the agent's commands see the same import path as the hidden tests (test_script).
    env = f"ENV PYTHONPATH={':'.join(python_path(task))}\n" if task.python_path else ""
    return (f"FROM {PYTHON_IMAGE}\nRUN pip install --no-cache-dir {packages}\n{env}"
            f"WORKDIR {DEFAULT_WORKDIR}\nCOPY app/ {DEFAULT_WORKDIR}/\n")


def python_path(task: Task) -> list[str]:
    return [f"{DEFAULT_WORKDIR}/{folder}" for folder in task.python_path]


def test_script(task: Task) -> str:
    ids = [f"{HIDDEN_TESTS}/{test_id}" for test_id in (*task.fail_to_pass, *task.pass_to_pass)]
    targets = " ".join(shlex.quote(t) for t in ids) or HIDDEN_TESTS
    # -c /dev/null and --confcutdir: the repository's own pytest settings and conftest files do not apply.
    pytest = (f"python -m pytest -q -c /dev/null --rootdir={DEFAULT_WORKDIR} --confcutdir={HIDDEN_TESTS} "
              f"-p no:cacheprovider -o pythonpath={shlex.quote(' '.join([DEFAULT_WORKDIR, *python_path(task)]))} "
              f"{targets}")
    return (f"#!/bin/bash\n# Written by `perpass tasks export`: the hidden tests decide; reward 1 or 0.\n"
            f"mkdir -p {REWARD_DIR}\ncd {DEFAULT_WORKDIR}\n"
            f"if {pytest}; then echo 1 > {REWARD_DIR}/reward.txt; else echo 0 > {REWARD_DIR}/reward.txt; fi\n")


def write_harbor(task: Task, dest: Path) -> None:
    if task.test_command is not None:
        raise UserError(f"{task.root}: a task judged by its own test_command cannot be exported to Harbor yet")
    for source, target in ((task.repo, dest / "environment" / "app"), (task.tests, dest / "tests")):
        for path in task_files(source):
            out = target / path.relative_to(source)
            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, out, follow_symlinks=False)
    (dest / "environment" / "app").mkdir(parents=True, exist_ok=True)
    (dest / "solution").mkdir()
    (dest / "task.toml").write_text(harbor_toml(task))
    (dest / "instruction.md").write_text(task.instruction + (PUSH_NOTE if task.delivery == "push" else "") + "\n")
    (dest / "environment" / "Dockerfile").write_text(dockerfile(task))
    (dest / "tests" / "test.sh").write_text(test_script(task))
    (dest / "solution" / "solve.sh").write_text(f"#!/bin/bash\ncd {DEFAULT_WORKDIR}\n{solution_command(task)}\n")


EXPORTERS: dict[str, Callable[[Task, Path], None]] = {"harbor": write_harbor}


def export_tasks(tasks: list[Task], fmt: str, out: Path) -> list[Path]:
    """Write each task to out/<id>; all or nothing (built in a scratch folder, then moved in)."""
    if fmt not in EXPORTERS:
        raise UserError(f"--format {fmt}: unknown format; use one of {', '.join(EXPORTERS)}")
    taken = [task.id for task in tasks if (out / task.id).exists()]
    if taken:
        raise UserError(f"--out {out}: {', '.join(taken[:5])} already exist; choose an empty folder")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory(prefix=".perpass-export-", dir=out) as scratch:
        for task in tasks:
            EXPORTERS[fmt](task, Path(scratch) / task.id)
        for task in tasks:
            (Path(scratch) / task.id).rename(out / task.id)
            written.append(out / task.id)
    return written
