"""Harbor task folders: loaded (or refused with the reason), run by the oracle and by scripted routes through
the real loop, bwrap and verifier, judged by the reward test.sh writes; export of the built-in tasks to
Harbor and back."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from agent_helpers import SUBMIT, bash, scripted_route
from tasks_helpers import write_files

from perpass.agent.loop import reference_mounts, run_episode
from perpass.endpoints.routes import builtin_routes, open_route
from perpass.errors import UserError
from perpass.runs.task_check import check_task_detail
from perpass.sandbox import SandboxBackend, open_backend
from perpass.tasks import builtin_tasks, load_task
from perpass.tasks.export import export_tasks
from perpass.tasks.sources.harbor_inside.tools import script_installs
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
    ("environment/Dockerfile", DOCKERFILE + "RUN make install\n",
     "Dockerfile:6: `RUN make install` is not a pip install or apt-get install"),
    ("environment/Dockerfile", DOCKERFILE + "ENV X=1\n", "Dockerfile:6: `ENV X=1` is not allowed"),
    ("environment/Dockerfile", DOCKERFILE + "ENV PYTHONPATH=/app/../etc\n", "`ENV PYTHONPATH=/app/../etc` is not"),
    ("environment/Dockerfile", DOCKERFILE + "ENV PYTHONPATH=/usr/lib\n", "`ENV PYTHONPATH=/usr/lib` is not"),
    ("environment/Dockerfile", DOCKERFILE.replace("/app", "/usr"), "WORKDIR `/usr` must be one top-level"),
    ("environment/Dockerfile", DOCKERFILE + "RUN pip install --index-url http://x six\n",
     "pip option --index-url is not supported"),
    ("environment/Dockerfile", DOCKERFILE + "RUN pip install six@https://example.com/six.whl\n",
     "installs from a URL or path"),
    ("task.toml", TOML + '\n[environment]\ndocker_image = "ghcr.io/x/y:1"\n', "docker_image = 'ghcr.io/x/y:1'"),
    ("tests/test.sh", "#!/bin/bash\ncurl -LsSf https://example.com/data.tgz -o /tmp/d.tgz\n",
     "test.sh:2: `curl https://example.com/data.tgz` downloads at test time"),
    ("tests/test.sh", "#!/bin/bash\nset -e\n\nconda install -y numpy\n", "test.sh:4: `conda` installs at test"),
    ("tests/test.sh", "#!/bin/bash\nuv sync && uv run pytest\n", "test.sh:2: `uv sync` is not supported"),
    ("tests/test.sh", "#!/bin/bash\npip install -r /tests/req.txt\n", "the requirements file /tests/req.txt is in "
     "neither /tests nor the COPY lines"),
    ("tests/test.sh", "#!/bin/bash\npip install --index-url http://x y\n", "test.sh:2: pip option --index-url is not"),
    ("tests/test.sh", "#!/bin/bash\npip install -r /tests/../../../etc/passwd\n", "the requirements file "
     "/tests/../../../etc/passwd is in neither"),
    ("environment/docker-compose.yaml", "services: {}\n", "a docker-compose environment"),
    ("tests/Dockerfile", "FROM python:3.12\n", "a verifier image of its own"),
    ("task.toml", TOML + '\n[verifier.env]\nOPENAI_API_KEY = "${OPENAI_API_KEY}"\n', "[verifier] env: OPENAI_API_KEY"),
    ("tests/test.sh", "#!/bin/bash\napt-get install -y no-such-package-perpass\n",
     "apt packages no-such-package-perpass are not on this host"),
    ("environment/Dockerfile", DOCKERFILE + "RUN apt-get update && apt-get install -y no-such-package-perpass\n",
     "Dockerfile:6: apt packages no-such-package-perpass are not on this host"),
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


# What most Harbor tasks' test.sh look like (Harbor's task template): install curl and uv, then let uvx
# fetch pytest and the CTRF plugin, and turn pytest's exit code (or its CTRF report) into the reward.
UVX_TEST_SH = """#!/bin/bash
set -euo pipefail

apt-get update
apt-get install -y curl

curl -LsSf https://astral.sh/uv/0.9.5/install.sh | sh
source "$HOME/.local/bin/env"

if [ "$PWD" = "/" ]; then
    echo "Error: No working directory set."
    exit 1
fi

if uvx \\
  -p 3.13 \\
  -w pytest==8.4.1 \\
  -w pytest-json-ctrf==0.3.5 \\
  pytest --ctrf /logs/verifier/ctrf.json /tests/test_outputs.py -rA; then
  echo 1 > /logs/verifier/reward.txt
else
  echo 0 > /logs/verifier/reward.txt
fi
python3 - <<'PY'
import json
print("ctrf summary", json.load(open("/logs/verifier/ctrf.json"))["results"]["summary"]["passed"])
PY
"""
TEST_OUTPUTS = """import sys
sys.path.insert(0, "/app")
from wordcount import count, unique

def test_count():
    assert count("a  b   c") == 3

def test_unique():
    assert unique("a A b a") == 2
"""


def uvx_task(folder: Path) -> Path:
    write_harbor(folder, test_sh=UVX_TEST_SH)
    (folder / "tests" / "test_outputs.py").write_text(TEST_OUTPUTS)
    return folder


def test_the_installers_of_a_harbor_test_sh_become_the_task_venv(tmp_path: Path) -> None:
    """uvx's --with packages join the task's requirements (the Dockerfile's too); apt and the uv installer
    are accepted because this host has curl and the stand-ins provide uv offline."""
    task = load_task(uvx_task(tmp_path / "wc"))
    assert task.requirements == ("pytest==8.4.1", "pytest-json-ctrf==0.3.5")


@pytest.mark.parametrize(("script", "requirements", "apt"), [
    ("uvx --with pytest==8.4.1 --with pytest-json-ctrf==0.3.5 pytest /tests/t.py", ["pytest==8.4.1",
                                                                                     "pytest-json-ctrf==0.3.5"], []),
    ("uvx -w 'pytest>=8,<9,pytest-timeout' pytest", ["pytest>=8,<9", "pytest-timeout"], []),
    ("uvx ruff@0.6.9 check .", ["ruff==0.6.9"], []),
    ("uvx --from black==24.1.0 black --check .", ["black==24.1.0"], []),
    ("uv pip install --system pytest==8.4.1 requests && pytest", ["pytest==8.4.1", "requests"], []),
    ("uv run --with hypothesis pytest -q", ["hypothesis", "pytest"], []),
    ("python3 -m pip install -q attrs; apt-get update -qq && apt-get install -y -qq --no-install-recommends jq git",
     ["attrs"], ["jq", "git"]),
    ("if ! command -v uvx >/dev/null 2>&1; then\n  curl -LsSf https://astral.sh/uv/0.9.5/install.sh | sh\nfi",
     [], []),
    ("python3 << 'EOF'\npip install not-a-shell-line\ncurl https://example.com\nEOF\nexit 0", [], []),
    ("REWARD=0 uvx -q --isolated -w six pytest -p no:cacheprovider || true", ["six", "pytest"], []),
    ("curl -s http://localhost:8000/health && wget -qO- 127.0.0.1:9/x", [], []),
])
def test_test_sh_installers_are_read_at_load(script: str, requirements: list[str], apt: list[str]) -> None:
    installs, problems = script_installs(script)
    assert problems == [] and installs.requirements == requirements and installs.apt_packages == apt


def test_a_uvx_harbor_task_runs_offline_with_its_oracle(tmp_path: Path, backend: SandboxBackend) -> None:
    """Harbor's usual test.sh, verified without network: the stand-ins skip apt, turn the uv installer into
    nothing and run pytest (with the CTRF plugin) from the task venv; the oracle passes, the unchanged
    repository fails."""
    task = load_task(uvx_task(tmp_path / "wc"))
    checked = check_task_detail(task, backend, tmp_path)
    assert checked.oracle_pass and checked.unchanged_fails, checked.problem
    fixed = scripted_episode(tmp_path / "wc", [fix_with(FIXED), SUBMIT], tmp_path / "fixed", backend)
    assert fixed.passed, fixed.verifier_output
    output = fixed.verifier_output or ""
    assert "2 passed" in output and "ctrf summary 2" in output and "harbor reward 1.0" in output
    assert "runs pytest with the task's Python" in output and "apt-get install skipped" in output
    half = scripted_episode(tmp_path / "wc", [fix_with(FIXED_COUNT), SUBMIT], tmp_path / "half", backend)
    assert not half.passed and "1 failed, 1 passed" in (half.verifier_output or "")


def test_a_pip_install_the_venv_cannot_satisfy_fails_the_verdict_not_the_host(tmp_path: Path,
                                                                                 backend: SandboxBackend) -> None:
    """The stand-in pip checks, it never downloads: a package pinned at a version the venv lacks is a clear
    failure of the check (the task is broken), seen in the verifier's output."""
    folder = write_harbor(tmp_path / "wc", test_sh=TEST_SH.replace("cd /app\n", "cd /app\npip install six==1.16.0 "
                                                                   "&& echo SHOULD-NOT-RUN\n"))
    task = load_task(folder)
    assert task.requirements == ("six==1.16.0",)
    verdict = verify(task, unchanged_delivery(task), backend)
    assert "already in the task venv" in verdict.output and "SHOULD-NOT-RUN" in verdict.output


# Terminal-Bench's usual Dockerfile: a python base, apt tools, files copied one by one, harmless ENV.
TB_DOCKERFILE = """FROM ghcr.io/laude-institute/t-bench/python-3-13:20250620
ENV PYTHONUNBUFFERED=1 DEBIAN_FRONTEND=noninteractive
LABEL maintainer="someone"
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends git && rm -rf /var/lib/apt/lists/*
COPY src/wordcount.py /app/wordcount.py
COPY data/ /app/data/
COPY notes.txt .env ./
RUN pip install --no-cache-dir more-itertools==10.5.0
CMD ["bash"]
"""


def test_a_terminal_bench_dockerfile_assembles_the_repository(tmp_path: Path, backend: SandboxBackend) -> None:
    folder = write_harbor(tmp_path / "wc", dockerfile=TB_DOCKERFILE, test_sh=UVX_TEST_SH)
    write_files(folder, {"tests/test_outputs.py": TEST_OUTPUTS, "environment/data/words.txt": "a b\n",
                         "environment/notes.txt": "n\n", "environment/.env": "X=1\n",
                         "environment/unused.txt": "not copied\n"})
    task = load_task(folder)
    files = sorted(p.relative_to(task.repo).as_posix() for p in task.repo.rglob("*") if p.is_file())
    assert files == [".env", "data/words.txt", "notes.txt", "wordcount.py"]
    assert (task.repo / "wordcount.py").read_text() == BUGGY
    assert task.requirements == ("more-itertools==10.5.0", "pytest==8.4.1", "pytest-json-ctrf==0.3.5")
    assert load_task(folder).repo == task.repo  # built once per content
    checked = check_task_detail(task, backend, tmp_path)
    assert checked.oracle_pass and checked.unchanged_fails, checked.problem


@pytest.mark.parametrize(("line", "expected"), [
    ("COPY --from=build /out /app/", "only COPY of build-context files"),
    ("COPY ../secret /app/", "is not in the build context"),
    ("COPY src/ /etc/", "is outside the WORKDIR"),
    ("ADD https://example.com/x.tgz /app/", "is not in the build context"),
    ("ENV PATH=/evil:$PATH", "`ENV PATH=/evil:$PATH` is not allowed"),
    ("FROM python:3.12 AS base", "FROM must come first, once"),
])
def test_dockerfile_lines_outside_the_python_subset_are_refused(tmp_path: Path, line: str, expected: str) -> None:
    folder = write_harbor(tmp_path / "wc", dockerfile=DOCKERFILE + line + "\n")
    with pytest.raises(UserError, match=re.escape(expected)):
        load_task(folder)


def test_a_task_whose_workdir_is_the_sandbox_workspace(tmp_path: Path, backend: SandboxBackend) -> None:
    """WORKDIR /workspace: the agent already works there; in the verifier's session /workspace becomes the
    checkout, so the task's absolute paths hold on both sides."""
    folder = write_harbor(tmp_path / "wc", dockerfile=DOCKERFILE.replace("/app", "/workspace"),
                          test_sh=TEST_SH.replace("/app", "/workspace"))
    (folder / "solution" / "solve.sh").write_text(SOLVE.replace("/app", "/workspace"))
    task = load_task(folder)
    assert task.fixed_paths.workspace == "/workspace"
    checked = check_task_detail(task, backend, tmp_path)
    assert checked.oracle_pass and checked.unchanged_fails, checked.problem
    fixed = scripted_episode(folder, [bash(f"cat > /workspace/wordcount.py <<'PY'\n{FIXED}PY\npwd"), SUBMIT],
                             tmp_path / "e", backend)
    assert fixed.passed and "harbor reward 1.0" in (fixed.verifier_output or ""), fixed.verifier_output


TEST_SH_REWRITER = '''import glob
for path in ["/tests/test.sh", *glob.glob("/tests/*.py")]:  # on import, while test.sh runs
    try:
        text = open(path).read()
        open(path, "w").write(text.replace("$score / 2", "1").replace("assert ", "assert True or "))
        print("REWROTE", path)
    except OSError as err:
        print("REFUSED", path, err.strerror)
'''


def test_the_tested_code_cannot_rewrite_test_sh_while_it_runs(tmp_path: Path, backend: SandboxBackend) -> None:
    """bash reads a script as it runs it, so code that rewrites /tests/test.sh mid-run changes what runs
    next (this forged a reward of 1 before the hidden tests were bound read-only)."""
    result = scripted_episode(write_harbor(tmp_path / "wc"), [fix_with(TEST_SH_REWRITER + BUGGY), SUBMIT],
                              tmp_path / "e", backend)
    output = result.verifier_output or ""
    assert not result.passed and "harbor reward 0.0" in output, output
    assert "REWROTE" not in output and "REFUSED /tests/test.sh Read-only file system" in output


# What the foreign tasks that used to be refused do (seen in public Harbor task repositories).
SOLVE_PY = "import pathlib\npathlib.Path('/app/wordcount.py').write_text(FIXED)\n"
FOREIGN_DOCKERFILE = """FROM --platform=linux/amd64 python:3.12-slim@sha256:""" + "0" * 64 + """
ENV PYTHONPATH=/app/lib
WORKDIR /app
COPY . /app/
RUN mkdir -p /app/data /app/output/reports
RUN pip install --no-cache-dir --retries 3 --timeout 60 --only-binary=:all: -r /app/requirements.txt
"""
FOREIGN_TEST_SH = """#!/bin/bash
pip install --quiet --no-cache-dir -r /tests/requirements-test.txt 2>/dev/null && echo "test deps there" || \\
  echo "install failed" >&2
cd /app && PYTHONPATH=/app python /tests/check_count.py && PYTHONPATH=/app python /tests/check_unique.py \\
  && echo 1 > /logs/verifier/reward.txt || echo 0 > /logs/verifier/reward.txt
"""


def test_foreign_harbor_habits_load_and_run(tmp_path: Path, backend: SandboxBackend) -> None:
    """--platform, PYTHONPATH before WORKDIR, `mkdir -p` below WORKDIR, pip's --retries/--only-binary, `-r` at
    a container path, a redirected `pip install -r /tests/...` in test.sh, and a solve.sh that runs the
    solve.py beside it in /solution (seen only by the oracle)."""
    folder = write_harbor(tmp_path / "wc", dockerfile=FOREIGN_DOCKERFILE, test_sh=FOREIGN_TEST_SH)
    write_files(folder, {"environment/requirements.txt": "more-itertools==10.5.0\n",
                         "environment/lib/.keep": "", "tests/requirements-test.txt": "six==1.16.0\n",
                         "solution/solve.sh": "#!/bin/bash\nset -e\npython3 \"$(dirname \"$0\")/solve.py\"\n",
                         "solution/solve.py": f"FIXED = {FIXED!r}\n" + SOLVE_PY})
    (folder / "environment" / "src").rename(tmp_path / "unused")
    (folder / "environment" / "wordcount.py").write_text(BUGGY)
    task = load_task(folder)
    assert task.requirements == ("more-itertools==10.5.0", "six==1.16.0") and task.python_path == ("lib",)
    assert (task.repo / "data").is_dir() and (task.repo / "output" / "reports").is_dir()
    checked = check_task_detail(task, backend, tmp_path)
    assert checked.oracle_pass and checked.unchanged_fails, checked.problem
    assert "test deps there" in verify(task, unchanged_delivery(task), backend).output
    looked = scripted_episode(folder, [bash("test -d /app/output/reports && echo made; echo $PYTHONPATH"), SUBMIT],
                              tmp_path / "e", backend)
    seen = (looked.steps[0].observation or "").split()
    assert seen[-2:] == ["made", "/workspace/lib"], seen  # /app is a link to /workspace


def test_only_the_oracle_sees_the_solution_folder(tmp_path: Path, backend: SandboxBackend) -> None:
    folder = write_harbor(tmp_path / "wc")
    looked = scripted_episode(folder, [bash("ls /solution 2>&1; echo listed"), SUBMIT], tmp_path / "e", backend)
    seen = looked.steps[0].observation or ""
    assert "listed" in seen and "No such file or directory" in seen and "solve.sh" not in seen
    with open_route(builtin_routes()["oracle"], tmp_path / "o") as live:
        assert reference_mounts(load_task(folder), live.route)[0].inside == "/solution"


def test_a_folder_shaped_like_harbor_without_its_instruction_says_so(tmp_path: Path) -> None:
    folder = write_harbor(tmp_path / "wc")
    (folder / "instruction.md").unlink()
    with pytest.raises(UserError, match="instruction.md: missing; a Harbor task"):
        load_task(folder)


def test_a_link_in_the_tests_folder_does_not_carry_a_host_file_into_the_sandbox(tmp_path: Path,
                                                                                backend: SandboxBackend) -> None:
    """A task folder is foreign input too: its tests/ link to a host file must reach the verifier's session
    as a link (dangling there), never as the file's bytes the tested code could print."""
    secret = tmp_path / "host-secret.txt"
    secret.write_text("HOST-SECRET-42\n")
    folder = write_harbor(tmp_path / "wc", test_sh="#!/bin/bash\ncat /tests/leak /app/tests_hidden/leak 2>&1\n"
                                                   "echo 0 > /logs/verifier/reward.txt\n")
    (folder / "tests" / "leak").symlink_to(secret)
    task = load_task(folder)
    output = verify(task, unchanged_delivery(task), backend).output
    assert "HOST-SECRET-42" not in output and "/tests/leak" in output, output
