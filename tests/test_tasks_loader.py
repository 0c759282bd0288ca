"""Loading tasks: task.toml errors, content hash, the built-in packs, selection, oracle replies."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from conftest import PERPASS_CMD
from tasks_helpers import GOOD_TOML, write_task

from perpass.agent.text_protocol import parse_command
from perpass.errors import UserError
from perpass.tasks import builtin_tasks, load_task, oracle_replies, select_tasks
from perpass.tasks.oracle import PUSH_COMMAND


def test_good_task_loads(tmp_path: Path) -> None:
    task = load_task(write_task(tmp_path / "t"))
    assert (task.id, task.tier, task.delivery, task.time_limit_s) == ("t1-tiny", "T1", "push", 60.0)
    assert task.test_command is None and task.hidden_dir == "tests_hidden"  # the hardened per-test run
    assert task.repo == (tmp_path / "t" / "repo").resolve()
    assert len(task.content_hash) == 64


HEAD = 'id = "x"\ntier = "T1"\ninstruction = "do"\n'  # a valid start; line 4 is the bad one


@pytest.mark.parametrize(("toml", "expected"), [
    ('id = "x"\ntier = \n', "task.toml:2: malformed TOML"),
    ('tier = "T1"\ninstruction = "do it"\n', "missing required key 'id'"),
    ('id = "x"\ninstruction = "do it"\n', "missing required key 'tier'"),
    ('id = "x"\ntier = "T1"\n', "missing required key 'instruction'"),
    ('id = "x"\ntier = "T7"\ninstruction = "do"\n', "task.toml:2: unknown tier 'T7'; use one of T0, T1"),
    (HEAD + 'delivery = "email"\n', "task.toml:4: delivery 'email' is not one"),
    (HEAD + "time_limit_s = -3\n", "task.toml:4: 'time_limit_s' must be a positive"),
    (HEAD + 'test_comand = "pytest"\n', "task.toml:4: unknown key 'test_comand'"),
    (HEAD + 'hidden_dir = "../up"\n', "task.toml:4: 'hidden_dir' must be a folder"),
    (HEAD + 'python_path = ["src/../../up"]\n', "task.toml:4: 'python_path' must be a folder inside"),
    (HEAD + 'python_path = ["/usr/lib/python3"]\n', "task.toml:4: 'python_path' must be a folder inside"),
    (HEAD + 'python_path = [".git/hooks"]\n', "task.toml:4: 'python_path' must be a folder inside"),
    (HEAD + 'python_path = ["src:/etc"]\n', "task.toml:4: 'python_path' entries may not contain ':'"),
    (HEAD + 'python_path = "src"\n', "task.toml:4: 'python_path' must be a list of strings"),
    ('id = "Bad Id"\ntier = "T1"\ninstruction = "do"\n', "task.toml:1: id 'Bad Id' must be lowercase"),
    ('id = "x"\ntier = "T1"\ninstruction = ""\n', "task.toml:3: 'instruction' must be a non-empty string"),
])
def test_bad_task_toml_is_one_clear_line(tmp_path: Path, toml: str, expected: str) -> None:
    folder = write_task(tmp_path / "t", toml=toml)
    with pytest.raises(UserError) as caught:
        load_task(folder)
    message = str(caught.value)
    assert expected in message and "\n" not in message
    assert str(folder / "task.toml") in message


def test_python_path_is_normalised_and_may_not_leave_through_a_link(tmp_path: Path) -> None:
    task = load_task(write_task(tmp_path / "t", toml=HEAD + 'python_path = ["./src/", "lib"]\n'))
    assert task.python_path == ("src", "lib")
    linked = write_task(tmp_path / "linked", toml=HEAD + 'python_path = ["src"]\n')
    (linked / "repo" / "src").symlink_to(tmp_path)
    with pytest.raises(UserError, match=r"task.toml:4: 'python_path' = 'src' resolves \(through a link"):
        load_task(linked)


def test_missing_parts_are_named(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="task.toml: file not found"):
        load_task(tmp_path)
    folder = write_task(tmp_path / "no-oracle", solve=None)
    with pytest.raises(UserError, match="no oracle; add solve.sh"):
        load_task(folder)
    fenced = write_task(tmp_path / "fenced", solve="echo ok\necho '```'\n")
    with pytest.raises(UserError, match=r"solve.sh:2: the oracle may not contain"):
        load_task(fenced)
    no_tests = write_task(tmp_path / "no-tests")
    (no_tests / "tests" / "test_hidden_answer.py").unlink()
    (no_tests / "tests").rmdir()
    with pytest.raises(UserError, match="tests: missing folder"):
        load_task(no_tests)


def test_content_hash_follows_content(tmp_path: Path) -> None:
    folder = write_task(tmp_path / "t")
    first = load_task(folder).content_hash
    assert load_task(folder).content_hash == first
    (folder / "repo" / "__pycache__").mkdir()
    (folder / "repo" / "__pycache__" / "answer.pyc").write_bytes(b"junk")
    assert load_task(folder).content_hash == first, "byproducts of running Python are not content"
    (folder / "repo" / "answer.py").write_text("def answer() -> int:\n    return 40\n")
    edited = load_task(folder).content_hash
    assert edited != first
    (folder / "repo" / "answer.py").rename(folder / "repo" / "answer2.py")
    assert load_task(folder).content_hash != edited, "a rename changes the hash"
    (folder / "tests" / "extra.txt").write_text("")
    assert len({first, edited, load_task(folder).content_hash}) == 3


def test_builtin_packs_shape() -> None:
    tasks = builtin_tasks()
    assert [t.id for t in tasks] == sorted(t.id for t in tasks)
    by_tier = {tier: [t for t in tasks if t.tier == tier] for tier in ("T0", "T1", "T2", "T3")}
    assert len(by_tier["T0"]) >= 1 and len(by_tier["T1"]) >= 6
    assert len(by_tier["T2"]) >= 5 and len(by_tier["T3"]) >= 4
    assert all(t.delivery == "workspace" for t in by_tier["T0"])
    assert all(t.delivery == "push" and "push" in t.instruction for t in tasks if t.tier != "T0")
    assert all(t.id.startswith(t.tier.lower() + "-") for t in tasks)
    for t in by_tier["T3"]:  # execution stamina: a feature across at least four source files
        assert len([p for p in t.repo.glob("*.py")]) >= 4, t.id


def test_select_tasks(tmp_path: Path) -> None:
    assert {t.tier for t in select_tasks(None, ["t2"], None)} == {"T2"}
    assert [t.id for t in select_tasks(None, None, ["t0-smoke-hello"])] == ["t0-smoke-hello"]
    with pytest.raises(UserError, match="unknown tier T9"):
        select_tasks(None, ["T9"], None)
    with pytest.raises(UserError, match="unknown task id nope"):
        select_tasks(None, None, ["nope"])
    write_task(tmp_path / "pack" / "a")
    write_task(tmp_path / "pack" / "b", toml=GOOD_TOML.replace("t1-tiny", "t1-other"))
    assert [t.id for t in select_tasks(tmp_path / "pack", None, None)] == ["t1-other", "t1-tiny"]
    assert [t.id for t in select_tasks(tmp_path / "pack" / "a", None, None)] == ["t1-tiny"]
    write_task(tmp_path / "pack" / "c")
    with pytest.raises(UserError, match="duplicate task id 't1-tiny'"):
        select_tasks(tmp_path / "pack", None, None)
    with pytest.raises(UserError, match="no task.toml found"):
        select_tasks(tmp_path / "pack" / "a" / "repo", None, None)


def test_oracle_replies_play_the_solution(tmp_path: Path) -> None:
    task = load_task(write_task(tmp_path / "t"))
    replies = oracle_replies(task)
    commands = [parse_command(reply) for reply in replies]
    assert commands == [(task.solution / "solve.sh").read_text().strip(), PUSH_COMMAND, "submit"]
    assert not any("tests_hidden" in reply or "test_hidden" in reply for reply in replies)
    workspace_task = next(t for t in builtin_tasks() if t.delivery == "workspace")
    assert [parse_command(r) for r in oracle_replies(workspace_task)][-1] == "submit"
    assert len(oracle_replies(workspace_task)) == 2


def test_patch_oracle(tmp_path: Path) -> None:
    folder = write_task(tmp_path / "t", solve=None)
    patch = ("--- a/answer.py\n+++ b/answer.py\n@@ -1,2 +1,2 @@\n"
             " def answer() -> int:\n-    return 41\n+    return 42\n")
    (folder / "solution" / "fix.patch").write_text(patch)
    command = parse_command(oracle_replies(load_task(folder))[0])
    assert command is not None and command.startswith("git apply")
    work = tmp_path / "work"
    (work).mkdir()
    (work / "answer.py").write_text((folder / "repo" / "answer.py").read_text())
    subprocess.run(["git", "init", "-q"], cwd=work, check=True)
    done = subprocess.run(["bash", "-c", command], cwd=work, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "return 42" in (work / "answer.py").read_text()


def test_cli_list_and_bad_task(tmp_path: Path) -> None:
    listed = subprocess.run([*PERPASS_CMD, "tasks", "list", "--tier", "T3", "--json"],
                            capture_output=True, text=True)
    assert listed.returncode == 0, listed.stderr
    assert '"tier": "T3"' in listed.stdout and '"tier": "T1"' not in listed.stdout
    bad = write_task(tmp_path / "bad", toml='id = "x"\ntier = "T5"\ninstruction = "do"\n')
    failed = subprocess.run([*PERPASS_CMD, "tasks", "list", str(bad)], capture_output=True, text=True)
    assert failed.returncode == 2
    assert len(failed.stderr.strip().splitlines()) == 1 and "unknown tier 'T5'" in failed.stderr
