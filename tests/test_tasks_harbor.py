"""Harbor task folders: loaded (or refused with the reason), run by the oracle and by scripted routes through
the real loop, bwrap and verifier, judged by the reward test.sh writes; export of the built-in tasks to
Harbor and back."""

from __future__ import annotations

from pathlib import Path

import pytest
from agent_helpers import SUBMIT, bash, scripted_route
from tasks_helpers import write_files

from perpass.agent.loop import run_episode
from perpass.endpoints.routes import open_route
from perpass.errors import UserError
from perpass.runs.task_check import check_task_detail
from perpass.sandbox import SandboxBackend, open_backend
from perpass.tasks import builtin_tasks, load_task
from perpass.tasks.export import export_tasks
from perpass.verifier.sandboxed import unchanged_delivery, verify

TOML = '''schema_version = "1.1"

[task]
name = "acme/Word-Count"
description = "word counting"

[metadata]
difficulty = "easy"

[verifier]
timeout_sec = 60.0

[agent]
timeout_sec = 120.0
'''
DOCKERFILE = """# the shape of many Harbor tasks
FROM python:3.12-slim
WORKDIR /app
COPY src/ /app/
RUN pip install --no-cache-dir pytest
"""
COUNT_BUG = "def count(text):\n    return len(text.split(' '))\n"
COUNT_OK = "def count(text):\n    return len(text.split())\n"
UNIQUE_BUG = "\n\ndef unique(text):\n    return len(text.split())\n"
UNIQUE_OK = "\n\ndef unique(text):\n    return len(set(text.lower().split()))\n"
BUGGY, FIXED_COUNT, FIXED = COUNT_BUG + UNIQUE_BUG, COUNT_OK + UNIQUE_BUG, COUNT_OK + UNIQUE_OK
# Partial credit: each check is half the reward, written to reward.json as Harbor tasks do.
TEST_SH = """#!/bin/bash
cd /app
score=0
PYTHONPATH=/app python /tests/check_count.py && score=$((score+1))
PYTHONPATH=/app python /tests/check_unique.py && score=$((score+1))
python -c "import json; json.dump({'reward': $score / 2}, open('/logs/verifier/reward.json', 'w'))"
"""
CHECKS = {
    "check_count.py": "from wordcount import count\nassert count('a  b   c') == 3, count('a  b   c')\n",
    "check_unique.py": "from wordcount import unique\nassert unique('a A b a') == 2, unique('a A b a')\n",
}
# The oracle writes through the absolute /app path, as Harbor solutions do.
SOLVE = f"set -e\ncat > /app/wordcount.py <<'PY'\n{FIXED}PY\n"


def write_harbor(folder: Path, toml: str = TOML, dockerfile: str | None = DOCKERFILE,
                 test_sh: str = TEST_SH) -> Path:
    files = {"task.toml": toml, "instruction.md": "Fix count() and unique() in /app/wordcount.py.\n",
             "tests/test.sh": test_sh, "solution/solve.sh": SOLVE,
             **{f"tests/{name}": text for name, text in CHECKS.items()}}
    if dockerfile is not None:
        files.update({"environment/Dockerfile": dockerfile, "environment/src/wordcount.py": BUGGY})
    write_files(folder, files)
    return folder


@pytest.fixture(scope="module")
def backend() -> SandboxBackend:
    return open_backend()


def test_harbor_folder_loads_as_a_task(tmp_path: Path) -> None:
    task = load_task(write_harbor(tmp_path / "wc"))
    assert (task.id, task.tier, task.source, task.delivery) == ("word-count", "T1", "harbor", "workspace")
    assert task.time_limit_s == 120 and task.verify_timeout_s == 60
    assert task.repo == (tmp_path / "wc" / "environment" / "src").resolve()
    assert task.requirements == ()  # a bare pytest is already in the task Python
    assert task.fixed_paths.workspace == "/app"


def test_oracle_passes_and_unchanged_fails(tmp_path: Path, backend: SandboxBackend) -> None:
    checked = check_task_detail(load_task(write_harbor(tmp_path / "wc")), backend, tmp_path)
    assert checked.oracle_pass and checked.unchanged_fails, checked.problem


def scripted_episode(task_folder: Path, script: list, tmp_path: Path, backend: SandboxBackend):
    with open_route(scripted_route(script), tmp_path / "logs") as live:
        return run_episode(load_task(task_folder), live, backend, tmp_path / "episode")


def fix_with(source: str) -> dict:
    return bash(f"cd /app && cat > wordcount.py <<'PY'\n{source}PY\npwd")


def test_scripted_routes_are_judged_by_the_reward(tmp_path: Path, backend: SandboxBackend) -> None:
    folder = write_harbor(tmp_path / "wc")
    full = scripted_episode(folder, [fix_with(FIXED), SUBMIT], tmp_path / "full", backend)
    assert full.passed, full.verifier_output
    assert "harbor reward 1.0" in (full.verifier_output or "")
    half = scripted_episode(folder, [fix_with(FIXED_COUNT), SUBMIT], tmp_path / "half", backend)
    assert not half.passed and "harbor reward 0.5 (passes at >= 1.0)" in (half.verifier_output or "")

    lenient = write_harbor(tmp_path / "lenient", toml=TOML.replace(
        'difficulty = "easy"', 'difficulty = "easy"\nperpass_reward_threshold = 0.5'))
    half_ok = scripted_episode(lenient, [fix_with(FIXED_COUNT), SUBMIT], tmp_path / "half-ok", backend)
    assert half_ok.passed, half_ok.verifier_output


def test_no_reward_written_is_a_fail_with_the_reason(tmp_path: Path, backend: SandboxBackend) -> None:
    task = load_task(write_harbor(tmp_path / "wc", test_sh="#!/bin/bash\necho tests ran\n"))
    verdict = verify(task, unchanged_delivery(task), backend)
    assert not verdict.passed and verdict.method == "command"
    assert "tests ran" in verdict.output and "wrote no reward" in verdict.output


@pytest.mark.parametrize(("where", "content", "expected"), [
    ("environment/Dockerfile", "FROM ubuntu:24.04\nWORKDIR /app\n", "Dockerfile:1: base image `ubuntu:24.04`"),
    ("environment/Dockerfile", DOCKERFILE + "RUN apt-get install -y curl\n",
     "Dockerfile:6: `RUN apt-get install -y curl` is not a pip install"),
    ("environment/Dockerfile", DOCKERFILE + "ENV X=1\n", "Dockerfile:6: `ENV X=1` is not allowed"),
    ("environment/Dockerfile", DOCKERFILE + "ENV PYTHONPATH=/app/../etc\n", "`ENV PYTHONPATH=/app/../etc` is not"),
    ("environment/Dockerfile", DOCKERFILE + "ENV PYTHONPATH=/usr/lib\n", "`ENV PYTHONPATH=/usr/lib` is not"),
    ("environment/Dockerfile", DOCKERFILE.replace("/app", "/usr"), "WORKDIR `/usr` must be one top-level"),
    ("environment/Dockerfile", DOCKERFILE + "RUN pip install --index-url http://x six\n",
     "pip option --index-url is not supported"),
    ("environment/Dockerfile", DOCKERFILE + "RUN pip install six@https://example.com/six.whl\n",
     "installs from a URL or path"),
    ("task.toml", TOML + '\n[environment]\ndocker_image = "ghcr.io/x/y:1"\n', "docker_image = 'ghcr.io/x/y:1'"),
    ("tests/test.sh", "#!/bin/bash\ncurl -LsSf https://astral.sh/uv/install.sh | sh\n",
     "test.sh:2: `curl` installs or downloads at test time"),
])
def test_environments_needing_an_image_are_refused_at_load(tmp_path: Path, where: str, content: str,
                                                           expected: str) -> None:
    folder = write_harbor(tmp_path / "wc")
    (folder / where).write_text(content)
    with pytest.raises(UserError) as caught:
        load_task(folder)
    assert expected in str(caught.value) and "\n" not in str(caught.value)
    assert str(folder / where) in str(caught.value)


def test_no_environment_means_an_empty_repository(tmp_path: Path) -> None:
    task = load_task(write_harbor(tmp_path / "wc", dockerfile=None))
    assert list(task.repo.iterdir()) == [] and task.fixed_paths.workspace == "/app"


def test_export_keeps_what_perpass_needs(tmp_path: Path) -> None:
    written = export_tasks(builtin_tasks(), "harbor", tmp_path / "out")
    assert len(written) == len(builtin_tasks())
    for original in builtin_tasks():
        back = load_task(tmp_path / "out" / original.id)
        assert (back.id, back.tier, back.allow, back.source) == (original.id, original.tier, original.allow, "harbor")
        assert (back.time_limit_s, back.verify_timeout_s) == (original.time_limit_s, original.verify_timeout_s)
    with pytest.raises(UserError, match="already exist"):
        export_tasks(builtin_tasks()[:1], "harbor", tmp_path / "out")


@pytest.mark.slow
def test_round_trip_of_every_builtin_task(tmp_path: Path, backend: SandboxBackend) -> None:
    """export → import: every built-in task, now a Harbor task, still passes its oracle and fails unchanged."""
    export_tasks(builtin_tasks(), "harbor", tmp_path / "out")
    problems = {}
    for original in builtin_tasks():
        checked = check_task_detail(load_task(tmp_path / "out" / original.id), backend, tmp_path)
        if not checked.ok:
            problems[original.id] = checked.problem
    assert problems == {}


def test_dockerfile_pip_installs_become_the_task_requirements(tmp_path: Path) -> None:
    folder = write_harbor(tmp_path / "wc", dockerfile=DOCKERFILE.replace(
        "pip install --no-cache-dir pytest", "pip install --no-cache-dir pytest more-itertools==10.5.0 -r reqs.txt"))
    (folder / "environment" / "reqs.txt").write_text("# extra\nattrs>=23\n")
    assert load_task(folder).requirements == ("more-itertools==10.5.0", "attrs>=23")


FORGER = '''import json, os, time
if os.fork() == 0:  # on import: a detached daemon that rewrites the reward once test.sh has written it
    os.setsid()
    if os.fork() == 0:
        path = "/logs/verifier/reward.json"
        for _ in range(600):
            try:
                if os.path.exists(path) and json.load(open(path)).get("reward") != 1:
                    json.dump({"reward": 1}, open(path, "w"))
            except Exception:
                pass
            time.sleep(0.005)
    os._exit(0)
'''


def test_a_daemon_the_delivered_code_leaves_to_rewrite_the_reward_is_not_a_pass(tmp_path: Path,
                                                                                 backend: SandboxBackend) -> None:
    """Harbor's reward is a file the tested code could write too: a detached daemon the agent adds, racing
    test.sh's own write, must not turn a failing delivery into a pass."""
    result = scripted_episode(write_harbor(tmp_path / "wc"), [fix_with(FORGER + BUGGY), SUBMIT], tmp_path / "e",
                              backend)
    assert not result.passed, result.verifier_output
