"""task.toml for the verifier: hidden_dir can never resolve into .git or outside the repository;
fail_to_pass, pass_to_pass and allow are read and checked, every error naming the file and line."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tasks_helpers import GOOD_TOML, write_task

from perpass.errors import UserError
from perpass.tasks import load_task


@pytest.mark.parametrize("value", ["./.git", ".git", ".GIT/hooks", "a/../.git/x", "sub/.git", "..", "../x",
                                   "/tmp/x", ".", "a/..", "\\\\server\\x", ".\\\\.git"])
def test_hidden_dir_outside_the_repository_or_in_git_is_refused(value: str, tmp_path: Path) -> None:
    toml = GOOD_TOML + f"hidden_dir = '{value}'\n"
    with pytest.raises(UserError) as err:
        load_task(write_task(tmp_path / "task", toml=toml))
    assert f"{tmp_path / 'task' / 'task.toml'}:5:" in str(err.value) and "hidden_dir" in str(err.value)


def test_hidden_dir_through_a_link_in_the_repository_is_refused(tmp_path: Path) -> None:
    folder = write_task(tmp_path / "task", toml=GOOD_TOML + "hidden_dir = 'up/x'\n")
    os.symlink("..", folder / "repo" / "up")
    with pytest.raises(UserError, match="resolves .* outside the repository"):
        load_task(folder)


def test_a_plain_hidden_dir_is_kept_normalised(tmp_path: Path) -> None:
    task = load_task(write_task(tmp_path / "task", toml=GOOD_TOML + "hidden_dir = './checks//hidden'\n"))
    assert task.hidden_dir == "checks/hidden"


def test_test_lists_and_allow_are_read(tmp_path: Path) -> None:
    toml = GOOD_TOML + ('fail_to_pass = ["test_hidden_answer.py::test_answer"]\n'
                        'pass_to_pass = ["test_hidden_answer.py::TestA::test_b[1-2]"]\nallow = ["time", "env"]\n')
    task = load_task(write_task(tmp_path / "task", toml=toml))
    assert task.fail_to_pass == ("test_hidden_answer.py::test_answer",)
    assert task.pass_to_pass == ("test_hidden_answer.py::TestA::test_b[1-2]",)
    assert task.allow == ("time", "env")


@pytest.mark.parametrize(("line", "words"), [
    ('allow = ["clock"]', "unknown allow entry 'clock'"),
    ('allow = "time"', "must be a list of strings"),
    ('fail_to_pass = ["test_answer"]', "is not a test id"),
    ('fail_to_pass = ["test_missing.py::test_x"]', "names a file that is not in"),
    ("pass_to_pass = [1]", "must be a list of strings"),
])
def test_bad_lists_name_the_file_and_line(line: str, words: str, tmp_path: Path) -> None:
    with pytest.raises(UserError) as err:
        load_task(write_task(tmp_path / "task", toml=GOOD_TOML + line + "\n"))
    assert "task.toml:5: " in str(err.value) and words in str(err.value), str(err.value)
