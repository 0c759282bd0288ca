"""The report of a real embedded-model run (local-smollm2 through llama_cpp.server, one T0 episode)."""

from __future__ import annotations

from pathlib import Path

import pytest
from report_helpers import browser_page, open_report
from runs_helpers import write_plan

from perpass.report.html_report import write_report
from perpass.runs.plan import load_plan
from perpass.runs.scheduler import run_plan
from perpass.runs.store import Store

pytestmark = [pytest.mark.model, pytest.mark.browser]


def test_embedded_model_episode_is_in_the_report(tmp_path: Path, test_output: Path) -> None:
    plan = load_plan(write_plan(tmp_path, {"smol": {"route": "local-smollm2"}}, repeats=1, tiers=("T0",),
                                allow_single_run=True, smoke={"enabled": False}))
    with Store(tmp_path / "runs") as store:
        status = run_plan(plan, store)
    assert status["finished"] == 1, status
    html = write_report(tmp_path / "runs", tmp_path / "report.html")
    with browser_page() as (page, errors):
        open_report(page, html)
        assert page.inner_text("#episode-count") == "1 of 1 episodes"
        assert "fewer than 3 repeats" in page.inner_text("#summary")  # allow_single_run: flagged
        page.locator("#episode-table tbody tr >> nth=0").click()
        page.wait_for_selector("#episode-view .step")
        view = page.locator("#episode-view")
        assert view.locator(".stop-reason").inner_text() not in ("", "—")
        assert "smol/baseline" in view.inner_text()
        # A real model reports real usage: the first step shows its prompt tokens.
        assert "tokens 0 " not in view.locator(".step-head").first.inner_text()
        page.screenshot(path=str(test_output / "report-model-episode.png"))
        assert errors == []
