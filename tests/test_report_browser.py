"""The report in a real headless Chromium, built from a real store (the real scheduler, scripted routes and
the oracle): decision table, Pareto plot, episode browser, a failed episode's transcript, no console error."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from report_helpers import browser_page, build_store, open_report, write_prices

from perpass.report.html_report import write_report
from perpass.runs.store import Store

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("report")
    store = build_store(folder)
    html = write_report(store, folder / "report.html", write_prices(folder / "prices.yaml"))
    return html, store / "perpass.db"


def last_observation(db: Path, episode_id: int) -> str:
    with sqlite3.connect(db) as conn:
        row = conn.execute("SELECT observation FROM steps WHERE episode_id = ? AND observation IS NOT NULL "
                           "ORDER BY idx DESC LIMIT 1", (episode_id,)).fetchone()
    return str(row[0])


def test_sections_render_and_a_failed_episode_opens(report: tuple[Path, Path], test_output: Path) -> None:
    html, db = report
    with browser_page() as (page, errors):
        open_report(page, html)
        # Decision: one row per tier, with a primary route (solver or the oracle pass every time).
        tiers = page.locator("#decision-table tbody tr")
        assert tiers.count() == 2
        assert page.locator("#decision-table tbody tr >> nth=1").inner_text().startswith("T1")
        assert page.locator("#decision-table tbody a").count() >= 2
        # Cost layers, inversions and the Pareto plot: one point per route, hover shows the interval.
        assert page.locator("#layers-table tbody tr").count() == 4
        points = page.locator("#pareto-svg g.pt")
        assert points.count() == 4
        page.locator('#pareto-svg g.pt[data-route="solver/baseline"] circle').hover()
        tip = page.locator("#tooltip")
        assert tip.is_visible() and "solver/baseline" in tip.inner_text()
        assert "pass rate 1.00 [" in tip.inner_text()
        assert page.locator("#ceilings-table tbody tr").count() == 4
        assert page.locator(".card").count() == 4
        # Episode browser: filter to the route that runs out of turns, open its first episode.
        assert page.inner_text("#episode-count") == "24 of 24 episodes"
        page.select_option("#episode-filters select[data-filter=verdict]", "fail")
        page.select_option("#episode-filters select[data-filter=stop]", "turn_limit")
        assert page.inner_text("#episode-count") == "6 of 24 episodes"
        row = page.locator("#episode-table tbody tr >> nth=0")
        episode_id = int(row.get_attribute("data-id") or 0)
        row.click()
        page.wait_for_selector("#episode-view .step")
        view = page.locator("#episode-view")
        assert view.locator(".stop-reason").inner_text() == "turn_limit"
        observations = view.locator("pre.observation")
        assert observations.count() == 3
        assert observations.last.inner_text().strip() == last_observation(db, episode_id).strip()
        assert "hello.txt" in view.locator(".verifier-output").inner_text() or "FAILED" in view.locator(
            ".verifier-output").inner_text()
        # The hostile observation (it tries to close the script tag) is shown as text, never run.
        assert "</script><script>window.pwned=1</script>" in view.inner_text()
        assert page.evaluate("window.pwned") is None
        page.screenshot(path=str(test_output / "report-episode.png"))
        page.keyboard.press("Escape")
        assert view.is_hidden()
        page.screenshot(path=str(test_output / "report-full.png"), full_page=True)
        # A point of the plot leads to its episodes.
        page.locator('#pareto-svg g.pt[data-route="quitter/baseline"] circle').click()
        assert page.inner_text("#episode-count") == "6 of 24 episodes"
        assert errors == []


def test_opening_an_episode_by_its_address(report: tuple[Path, Path]) -> None:
    html, db = report
    with sqlite3.connect(db) as conn:
        episode_id = conn.execute("SELECT id FROM episodes WHERE stop_reason = 'submitted' AND passed = 0"
                                  ).fetchone()[0]
    with browser_page() as (page, errors):
        page.goto(html.resolve().as_uri() + f"#episode-{episode_id}")
        page.wait_for_selector("#episode-view .step")
        assert page.locator("#episode-view .stop-reason").inner_text() == "submitted"
        assert last_observation(db, episode_id).strip() in page.locator("#episode-view").inner_text()
        assert errors == []


def test_empty_store_report_says_so_in_the_browser(tmp_path: Path, test_output: Path) -> None:
    Store(tmp_path / "runs").close()
    html = write_report(tmp_path / "runs", tmp_path / "empty.html")
    with browser_page() as (page, errors):
        open_report(page, html)
        assert "no finished episode" in page.inner_text("#no-evidence")
        assert "No finished episode to browse" in page.inner_text("#episodes")
        page.screenshot(path=str(test_output / "report-empty.png"), full_page=True)
        assert errors == []
