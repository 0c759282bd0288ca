"""`perpass tasks mine` on a git history built here: a test-plus-fix commit (accepted, with its
dependency installed into the cached venv), a new function with a new test module (accepted), a
docs-only commit, a commit whose new test already passed, one that breaks a test that passed, and a
slow one (rejected, each with its reason); and a src-layout project (accepted, src/ on the path)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from conftest import PERPASS_CMD
from tasks_helpers import write_files

from perpass.runs.task_check import check_task_detail
from perpass.sandbox import Limits, SessionSpec, open_backend, prepare_seed
from perpass.tasks import load_task
from perpass.tasks.export import export_tasks

ENV = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t",
       "GIT_COMMITTER_EMAIL": "t@x"}
CALC = '''from more_itertools import first


def add(a, b):
    return a + b


def mean(values):
    return sum(values) / len(values)


def head(values):
    return first(values)
'''
TESTS = "from calc import add, head, mean\n\n\ndef test_add():\n    assert add(2, 3) == 5\n\n\n" \
        "def test_head():\n    assert head([4, 5]) == 4\n"


def commit(repo: Path, message: str, files: dict[str, str]) -> str:
    write_files(repo, files)
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True, env=ENV)
    subprocess.run(["git", "-C", str(repo), "commit", "-qm", message], check=True, env=ENV)
    return subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True,
                          check=True).stdout.strip()[:10]


def build_history(repo: Path) -> dict[str, str]:
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    shas = {"root": commit(repo, "Start", {"calc.py": CALC, "requirements.txt": "more-itertools==10.5.0\n",
                                           "tests/test_calc.py": TESTS, "tests/helpers.py": "ONE = 1\n",
                                           "tests/test_other.py": "def test_other():\n    assert True\n"})}
    shas["fix"] = commit(repo, "mean() of an empty list returns 0.0\n\nIt raised ZeroDivisionError.", {
        "calc.py": CALC.replace("    return sum(values) / len(values)",
                                "    return sum(values) / len(values) if values else 0.0"),
        "tests/test_calc.py": TESTS + "\n\ndef test_mean_empty():\n    assert mean([]) == 0.0\n"
                                      "    assert mean([1, 3]) == 2\n"})
    shas["docs"] = commit(repo, "Document the module", {"README.md": "# calc\n\n```\nadd(1, 2)\n```\n"})
    calc = (repo / "calc.py").read_text()
    tests = (repo / "tests" / "test_calc.py").read_text()
    shas["passing"] = commit(repo, "Refactor add, test it with negatives", {
        "calc.py": calc.replace("return a + b", "return sum((a, b))"),
        "tests/test_calc.py": tests + "\n\ndef test_add_negative():\n    assert add(-1, -2) == -3\n"})
    tests = (repo / "tests" / "test_calc.py").read_text()
    shas["breaks"] = commit(repo, "head() of an empty list is None", {
        "calc.py": calc.replace("return first(values)", "return None").replace("return a + b", "return a - b"),
        "tests/test_calc.py": tests + "\n\ndef test_head_empty():\n    assert head([]) is None\n"})
    shas["new"] = commit(repo, "Add half()", {
        "calc.py": (repo / "calc.py").read_text() + "\n\ndef half(x):\n    return x / 2\n",
        "tests/test_half.py": "from calc import half\n\n\ndef test_half():\n    assert half(3) == 1.5\n"})
    tests = (repo / "tests" / "test_calc.py").read_text()
    shas["slow"] = commit(repo, "Add twice()", {
        "calc.py": (repo / "calc.py").read_text() + "\n\ndef twice(x):\n    return 2 * x\n",
        "tests/test_calc.py": tests + "\n\ndef test_twice():\n    import time\n    time.sleep(30)\n"
                                      "    from calc import twice\n    assert twice(2) == 4\n"})
    return shas


def test_mining_a_history_keeps_the_fair_candidates_with_reasons_for_the_rest(tmp_path: Path) -> None:
    shas = build_history(tmp_path / "calc")
    done = subprocess.run([*PERPASS_CMD, "tasks", "mine", str(tmp_path / "calc"), "--out", str(tmp_path / "out"),
                           "--time-limit", "5", "--json"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    rejected = {r["commit"]: r["reason"] for r in report["rejected"]}
    assert rejected[shas["root"]].startswith("root commit")
    assert rejected[shas["docs"]] == "no code or test change (docs only)"
    assert rejected[shas["passing"]].startswith("no FAIL_TO_PASS")
    assert rejected[shas["breaks"]].startswith("PASS_TO_PASS broken: test_calc.py::test_add passed before")
    assert rejected[shas["slow"]].startswith("timeout")
    assert report["commits"] == 7 and report["candidates"] == 5 and report["checked"] == 5
    assert [Path(p).name for p in report["accepted"]] == [f"calc-{shas['new']}", f"calc-{shas['fix']}"]
    # before the fix the new test module does not even import: its test is FAIL_TO_PASS all the same
    assert load_task(tmp_path / "out" / f"calc-{shas['new']}").fail_to_pass == ("test_half.py::test_half",)

    task = load_task(tmp_path / "out" / f"calc-{shas['fix']}")
    assert task.fail_to_pass == ("test_calc.py::test_mean_empty",)
    assert task.pass_to_pass == ("test_calc.py::test_add", "test_calc.py::test_head")
    assert task.requirements == ("more-itertools==10.5.0",)  # from the repository's requirements.txt
    assert task.tier == "T1" and "mean() of an empty list returns 0.0" in task.instruction
    assert "test_mean_empty" not in (task.repo / "tests" / "test_calc.py").read_text()  # held back
    # the touched test module and its folder's helpers, not the untouched test modules
    assert sorted(p.name for p in task.tests.iterdir()) == ["helpers.py", "test_calc.py"]
    assert "tests/" not in (task.solution / "fix.patch").read_text()  # the oracle is the code change only
    assert f"[1] {shas['slow']}: timeout" in done.stderr


SRC_CODE = "def scale(values, factor):\n    if values:\n        return [v * factor for v in values]\n"
SRC_FIXED = "def scale(values, factor):\n    return [v * factor for v in values]\n"
SRC_TESTS = "from shapes.core import scale\n\n\ndef test_scale():\n    assert scale([1, 2], 3) == [3, 6]\n"


def test_a_src_layout_project_is_mined_with_src_on_the_import_path(tmp_path: Path) -> None:
    repo = tmp_path / "shapes"
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    commit(repo, "Start", {"src/shapes/__init__.py": "", "src/shapes/core.py": SRC_CODE,
                           "pyproject.toml": '[project]\nname = "shapes"\nversion = "0.1"\n',
                           "tests/test_core.py": SRC_TESTS})
    fix = commit(repo, "scale() of an empty list is []\n\nIt returned None.", {
        "src/shapes/core.py": SRC_FIXED,
        "tests/test_core.py": SRC_TESTS + "\n\ndef test_scale_empty():\n    assert scale([], 2) == []\n"})
    done = subprocess.run([*PERPASS_CMD, "tasks", "mine", str(repo), "--out", str(tmp_path / "out"),
                           "--time-limit", "20", "--json"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    # accepted: the oracle passed and the unchanged repository failed, twice, in the real sandbox; without
    # src/ on the verifier's path both would fail to import and no test could be FAIL_TO_PASS
    assert [Path(p).name for p in report["accepted"]] == [f"shapes-{fix}"], report["rejected"]
    task = load_task(tmp_path / "out" / f"shapes-{fix}")
    assert task.python_path == ("src",)
    assert task.fail_to_pass == ("test_core.py::test_scale_empty",)
    assert task.pass_to_pass == ("test_core.py::test_scale",)

    # the agent's commands import the package the same way
    backend = open_backend()
    session = backend.start(SessionSpec(Limits(), seed=prepare_seed(task.repo, task.content_hash),
                                        python_path=task.python_path, label="src layout"))
    try:
        ran = session.run("python -c 'import shapes.core as c; print(c.__file__)'", 30)
    finally:
        session.close()
    assert ran.exit_code == 0, ran.output
    assert ran.output.strip() == f"{session.paths.workspace}/src/shapes/core.py"

    # exported to Harbor, its test.sh puts src/ on pytest's path: read back, the oracle passes, unchanged fails
    export_tasks([task], "harbor", tmp_path / "harbor")
    assert "ENV PYTHONPATH=/app/src\n" in (tmp_path / "harbor" / task.id / "environment" / "Dockerfile").read_text()
    harbor = load_task(tmp_path / "harbor" / task.id)
    assert harbor.python_path == ("src",)  # the agent's commands get it back from the Dockerfile's ENV
    checked = check_task_detail(harbor, backend, tmp_path)
    assert checked.ok, checked.problem
