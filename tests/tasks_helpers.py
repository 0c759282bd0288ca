"""Helpers of the tasks tests: write small task folders on disk."""

from __future__ import annotations

from pathlib import Path

GOOD_TOML = '''id = "t1-tiny"
tier = "T1"
time_limit_s = 60
instruction = "Make answer() return 42, then commit and push to origin main."
'''
REPO = {"answer.py": "def answer() -> int:\n    return 41\n"}
HIDDEN = {"test_hidden_answer.py": "from answer import answer\n\n\ndef test_answer() -> None:\n"
                                   "    assert answer() == 42\n"}
SOLVE = "sed -i 's/return 41/return 42/' answer.py\n"


def write_files(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def write_task(folder: Path, toml: str = GOOD_TOML, repo: dict[str, str] | None = None,
               hidden: dict[str, str] | None = None, solve: str | None = SOLVE) -> Path:
    """A complete task folder: task.toml, repo/, tests/, solution/solve.sh."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "task.toml").write_text(toml)
    write_files(folder / "repo", REPO if repo is None else repo)
    write_files(folder / "tests", HIDDEN if hidden is None else hidden)
    (folder / "solution").mkdir(exist_ok=True)
    if solve is not None:
        (folder / "solution" / "solve.sh").write_text(solve)
    return folder
