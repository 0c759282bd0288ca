"""Tasks with Python dependencies: declared in task.toml, requirements.txt or pyproject.toml (or a Harbor
Dockerfile's pip install), installed once per distinct set into a cached venv that the sandbox mounts
read-only in place of the default task Python; a set that cannot be installed is refused before any run.
Installs from PyPI (more-itertools, a small pure-Python package) on first use; later runs hit the cache.
(six would not do: it installs an import hook, which the verifier flags as `hooks`.)"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from conftest import PERPASS_CMD
from tasks_helpers import GOOD_TOML, write_files, write_task

from perpass.errors import UserError
from perpass.runs.task_check import check_task_detail
from perpass.sandbox import Limits, SessionSpec, open_backend
from perpass.sandbox.task_python import task_env, task_env_key
from perpass.tasks import load_task
from perpass.tasks.environment import task_venv

DEP = "more-itertools==10.5.0"
REPO = {"answer.py": "from more_itertools import first\n\n\ndef answer() -> int:\n    return first([41])\n"}
HIDDEN = {"test_hidden_answer.py": "from more_itertools import last\nfrom answer import answer\n\n\n"
                                   "def test_answer() -> None:\n    assert last([answer()]) == 42\n"}
SOLVE = "sed -i 's/\\[41\\]/[42]/' answer.py\n"


def dep_task(folder: Path, toml: str = GOOD_TOML + f'python_deps = ["{DEP}"]\n',
             repo: dict[str, str] | None = None) -> Path:
    return write_task(folder, toml=toml, repo=repo or REPO, hidden=HIDDEN, solve=SOLVE)


def test_requirements_come_from_task_toml_requirements_txt_and_pyproject(tmp_path: Path) -> None:
    assert load_task(dep_task(tmp_path / "toml")).requirements == (DEP,)
    txt = dep_task(tmp_path / "txt", toml=GOOD_TOML, repo={**REPO, "requirements.txt": f"# pinned\n{DEP}\n"})
    assert load_task(txt).requirements == (DEP,)
    pyproject = '[project]\nname = "x"\ndependencies = ["more-itertools>=10"]\n'
    assert load_task(dep_task(tmp_path / "pp", toml=GOOD_TOML, repo={**REPO, "pyproject.toml": pyproject})
                     ).requirements == ("more-itertools>=10",)
    assert load_task(write_task(tmp_path / "none")).requirements == ()
    # the same set, in any order, is one venv
    assert task_env_key(("a", "b==1")) == task_env_key(("b==1", "a")) != task_env_key(("a",))


@pytest.mark.parametrize(("where", "text", "expected"), [
    ("task.toml", GOOD_TOML + 'python_deps = ["not a requirement!"]\n', "task.toml:5: 'not a requirement!' is not"),
    ("task.toml", GOOD_TOML + 'python_deps = ["six @ file:///etc/passwd"]\n', "installs from a URL or path"),
    ("repo/requirements.txt", "six\n-e git+https://x/y\n", "requirements.txt:2: pip option '-e'"),
])
def test_bad_declarations_are_one_line_naming_the_file(tmp_path: Path, where: str, text: str, expected: str) -> None:
    folder = dep_task(tmp_path / "t")
    (folder / where).write_text(text)
    with pytest.raises(UserError) as caught:
        load_task(folder)
    assert expected in str(caught.value) and "\n" not in str(caught.value)


def test_the_venv_is_mounted_read_only_and_the_oracle_passes(tmp_path: Path) -> None:
    task = load_task(dep_task(tmp_path / "t"))
    venv = task_venv(task)
    assert venv is not None and venv == task_env((DEP,))  # built once, then found
    session = open_backend().start(SessionSpec(Limits(), shell="fresh", venv=venv, label="deps test"))
    try:
        done = session.run("python -c 'import more_itertools, sys; print(more_itertools.__version__, sys.prefix)'; "
                           "touch /opt/task-python/planted && echo WRITABLE", 60)
    finally:
        session.close()
    assert "10.5.0 /opt/task-python" in done.output and "WRITABLE" not in done.output, done.output
    checked = check_task_detail(task, open_backend(), tmp_path)
    assert checked.oracle_pass and checked.unchanged_fails, checked.problem


def test_an_uninstallable_set_is_refused_before_anything_runs(tmp_path: Path) -> None:
    folder = dep_task(tmp_path / "t", toml=GOOD_TOML + 'python_deps = ["more-itertools>=10,<9"]\n')
    done = subprocess.run([*PERPASS_CMD, "tasks", "check", str(folder)], capture_output=True, text=True)
    assert done.returncode == 2, done.stderr
    assert "cannot be installed: ERROR: No matching distribution found for more-itertools" in done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    write_files(tmp_path, {"plan.yaml": f"tasks:\n  folder: {folder}\nrepeats: 3\n"
                                        "models:\n  o:\n    route: oracle\n"})
    done = subprocess.run([*PERPASS_CMD, "plan", str(tmp_path / "plan.yaml")], capture_output=True, text=True)
    assert done.returncode == 2 and "cannot be installed" in done.stderr, done.stderr
