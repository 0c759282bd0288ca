"""`perpass episode` as a user runs it: a real process, JSON on stdout, a transcript on disk."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import run_perpass as perpass

KEYS = {"task", "route", "stop_reason", "ceiling", "passed", "false_done", "turns", "calls", "prompt_tokens",
        "completion_tokens", "wall_s", "transcript"}


def test_episode_json_with_a_scripted_route_from_a_routes_file(tmp_path: Path) -> None:
    routes = tmp_path / "routes.yaml"
    routes.write_text(
        "routes:\n"
        "  lazy:\n"
        "    kind: scripted\n"
        "    script:\n"
        "      - \"```bash\\nsubmit\\n```\"\n"
    )
    done = perpass("episode", "--route", "lazy", "--task", "t1-leap-year-rule", "--routes", str(routes),
                   "--out", str(tmp_path / "ep"), "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert set(data) == KEYS
    assert data["stop_reason"] == "submitted" and data["false_done"] and data["ceiling"] == "capability"
    assert Path(data["transcript"]) == tmp_path / "ep" / "transcript.json" and Path(data["transcript"]).exists()


def test_episode_oracle_summary_on_the_terminal(tmp_path: Path) -> None:
    done = perpass("episode", "--route", "oracle", "--task", "t0-smoke-hello", "--out", str(tmp_path / "ep"))
    assert done.returncode == 0, done.stderr
    assert "submitted" in done.stdout and "True" in done.stdout


def test_unknown_task_is_one_line_exit_2(tmp_path: Path) -> None:
    done = perpass("episode", "--route", "oracle", "--task", "no-such-task", "--out", str(tmp_path / "ep"))
    assert done.returncode == 2 and "no-such-task" in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_an_episode_into_a_used_folder_redoes_it_cleanly(tmp_path: Path) -> None:
    """`make demo` run twice sends its one episode to the same folder: the second run must redo it
    (a fresh session, its transcript replacing the first), not stop as sandbox_error."""
    folder = tmp_path / "episode-t0"
    runs = []
    for _ in range(2):
        done = perpass("episode", "--route", "oracle", "--task", "t0-smoke-hello", "--out", str(folder), "--json")
        assert done.returncode == 0, done.stderr
        runs.append(json.loads(done.stdout))
    assert [r["stop_reason"] for r in runs] == ["submitted", "submitted"] and all(r["passed"] for r in runs)
    assert json.loads((folder / "transcript.json").read_text())["summary"]["passed"] is True
