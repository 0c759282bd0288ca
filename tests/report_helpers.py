"""Shared by tests/test_report_*.py: a real store from the real scheduler, and a headless Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml
from runs_helpers import small_tasks, solving_script, write_plan

from perpass.runs.plan import load_plan
from perpass.runs.scheduler import run_plan
from perpass.runs.store import Store

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# What a hostile transcript could try: close the data <script> and run its own.
HOSTILE = "</script><script>window.pwned=1</script><img src=x onerror='window.pwned=2'>"


def scripted_routes() -> dict[str, Any]:
    """A route that solves, one that declares done too early (capability), one that runs out of turns."""
    return {
        "solver": {"kind": "scripted", "script": solving_script(small_tasks()), "concurrency": 2},
        "quitter": {"kind": "scripted", "script": ["```bash\nls\n```", "```bash\nsubmit\n```"]},
        "looper": {"kind": "scripted", "harness": {"max_turns": 3},
                   "script": ["```bash\nls -la\n```", f"```bash\necho \"{HOSTILE}\"\n```",
                              "```bash\necho still-looking-for-the-bug\n```"]},
    }


def build_store(folder: Path) -> Path:
    """Runs the real scheduler: 3 scripted routes + the oracle, T0 and one T1 task, 3 repeats."""
    models = {"solver": {"route": "solver"}, "quitter": {"route": "quitter"}, "looper": {"route": "looper"},
              "orc": {"route": "oracle"}}
    plan = load_plan(write_plan(folder, models, scripted_routes(), repeats=3))
    with Store(folder / "runs") as store:
        run_plan(plan, store)
    return folder / "runs"


def write_prices(path: Path) -> Path:
    """Scripted routes are free by default: price them so the plots have something to show."""
    path.write_text(yaml.safe_dump({
        # One task per tier: clustered by task, 3 passes of it are one trial's worth (lower bound 0.21).
        "min_pass_rate": 0.2,
        "routes": {"solver": {"prices": {"input": 3.0, "output": 15.0}},
                   "quitter": {"prices": {"input": 0.25, "output": 2.0}},
                   "looper": {"prices": {"input": 1.25, "output": 10.0}}}}))
    return path


@contextmanager
def browser_page() -> Iterator[tuple[Any, list[str]]]:
    """A page in Debian's chromium (never `playwright install`), and the console errors it logs."""
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            yield page, errors
        finally:
            browser.close()


def open_report(page: Any, path: Path) -> None:
    page.goto(path.resolve().as_uri())
    page.wait_for_selector("body[data-ready]", timeout=15_000)
