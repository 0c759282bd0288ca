"""Cards, plots, routing file, LiteLLM config, write_outputs and the CLI around them."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml
from analysis_helpers import TIER_KEYS

from perpass.analysis.analyze import analyze
from perpass.analysis.decide import decision as make_decision
from perpass.analysis.synthetic import StoreBuilder
from perpass.cli import main
from perpass.config import LocalCosts
from perpass.report import outputs
from perpass.report.outputs import write_outputs
from perpass.report.plots import pareto_frontier


def run_cli(
    args: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> tuple[int, str, str]:
    """The real entry point in-process (a subprocess per call costs seconds of imports)."""
    monkeypatch.setattr(sys, "argv", ["perpass", *args])
    code = 0
    try:
        main()
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def two_model_store(tmp_path: Path) -> Path:
    store = tmp_path / "runs"
    with StoreBuilder(store / "perpass.db", hardware={"gpu": "none", "ram_gb": 16}) as b:
        local = b.route(
            "small/baseline",
            kind="local",
            config={"gguf": "embedded", "harness": {"max_turns": 6}},
            local_costs={"hardware_price": 1500, "watts": 65},
        )
        turns = b.route(
            "small/max_turns=12",
            kind="local",
            factor="harness.max_turns",
            level=12,
            config={"gguf": "embedded", "harness": {"max_turns": 12}},
        )
        cloud = b.route(
            "cloud/baseline",
            prices={"input": 3, "output": 15},
            config={"base_url": "https://api.example.com/v1", "api_key_env": "EXAMPLE_KEY"},
        )
        local_call, cloud_call = (800, 200, 100, 0, 3.0), (2000, 0, 300, 0, 2.0)
        # 4 tasks per tier: the fewest whose all-pass clears a 0.5 minimum once repeats are clustered by task
        for t in range(8):
            ep = {"task_id": f"t{t}", "tier": "T1" if t < 4 else "T2"}
            for r in range(3):
                b.episode(local, **ep, repeat=r, passed=t < 2, ceiling="turn", calls=[local_call] * 4)
                b.episode(turns, **ep, repeat=r, passed=t < 4, ceiling="capability", calls=[local_call] * 6)
                b.episode(cloud, **ep, repeat=r, passed=True, calls=[cloud_call] * 3)
    return store


def test_write_outputs_writes_cards_decision_routing_and_litellm(tmp_path: Path) -> None:
    store = two_model_store(tmp_path)
    paths = write_outputs(store, tmp_path / "out")
    assert {"decision", "routing", "litellm"} <= set(paths)
    cards = tmp_path / "out" / "cards"
    assert sorted(p.name for p in cards.glob("*.md")) == ["cloud.md", "small.md"]
    assert sorted(p.name for p in cards.glob("*.html")) == ["cloud.html", "small.html"]
    for png in ("small-pass-vs-cost.png", "small-cost-by-layer.png"):
        assert (cards / png).read_bytes()[:4] == b"\x89PNG"
    md = (cards / "small.md").read_text()
    for heading in (
        "## What was tested",
        "## Four cost layers",
        "## OFAT effects",
        "## Ceilings",
        "**Best config:**",
        "## Episodes behind every number",
    ):
        assert heading in md
    assert "harness.max_turns = 12" in md
    assert "turn ceiling: raise harness.max_turns" in md
    assert "](../../runs/episodes/1/transcript.json)" in md  # links resolve from the card folder
    assert "small-pass-vs-cost.png" in md
    html = (cards / "small.html").read_text()
    assert "<table>" in html and 'src="small-pass-vs-cost.png"' in html
    decision = json.loads(paths["decision"].read_text())
    # T1: the local max_turns=12 cell passes everything for a fraction of a cent; T2: only the cloud passes
    assert decision["schema_version"] == 2
    assert decision["tiers"]["T1"]["primary"] == "small/max_turns=12"
    assert decision["tiers"]["T2"]["primary"] == "cloud/baseline"


def test_routing_and_litellm_files(tmp_path: Path) -> None:
    paths = write_outputs(two_model_store(tmp_path), tmp_path / "out")
    routing = yaml.safe_load(paths["routing"].read_text())
    t2 = routing["tiers"]["T2"]
    assert t2["primary"] == {"route": "cloud", "config": "cloud/baseline"} and t2["expected_cost_per_pass"] > 0
    assert t2["evidence"]["episode_ids"]
    assert routing["configs"]["cloud/baseline"]["settings"]["base_url"] == "https://api.example.com/v1"
    litellm = yaml.safe_load(paths["litellm"].read_text())
    groups = {m["model_name"]: m["litellm_params"] for m in litellm["model_list"]}
    assert groups["tier-t2"]["api_base"] == "https://api.example.com/v1"
    assert groups["tier-t2"]["api_key"] == "os.environ/EXAMPLE_KEY"
    assert groups["tier-t2"]["input_cost_per_token"] == pytest.approx(3e-6)
    assert groups["tier-t1"]["model"] == "openai/small/max_turns=12"
    assert groups["tier-t1"]["input_cost_per_second"] == pytest.approx(LocalCosts().hourly / 3600)  # no override
    assert litellm["router_settings"]["routing_strategy"] == "simple-shuffle"
    assert litellm["general_settings"]["master_key"] == "os.environ/LITELLM_MASTER_KEY"


def test_write_outputs_reuses_a_given_analysis(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = two_model_store(tmp_path)
    an = analyze(store)
    result = make_decision(an)

    def no_second_analysis(*args: object, **kwargs: object) -> None:
        raise AssertionError("the store was analysed again")

    monkeypatch.setattr(outputs, "analyze", no_second_analysis)
    monkeypatch.setattr(outputs, "make_decision", no_second_analysis)
    paths = outputs.write_outputs(store, tmp_path / "out", analysis=an, decision=result)
    assert json.loads(paths["decision"].read_text()) == result.to_json()
    assert (tmp_path / "out" / "cards" / "small.md").exists()


def test_card_says_the_pass_rate_is_clustered_names_few_tasks_and_lists_adaptive_stops(tmp_path: Path) -> None:
    store = two_model_store(tmp_path)
    with StoreBuilder(store / "perpass.db") as b:  # a stop as the scheduler records it
        cell_id = b.conn.execute("SELECT id FROM cells WHERE label = 'small/baseline'").fetchone()[0]
        b.conn.execute(
            "INSERT INTO allocation_stops(run_id, cell_id, tier, repeats, episodes, kind, reason, at)"
            " VALUES (?, ?, 'T2', 3, 12, 'cannot_reach_min_pass_rate', 'pass rate 0.00: even at 0.20 ...', 0)",
            (b.run_id, cell_id),
        )
    an = analyze(store)
    assert [(s.cell, s.tier, s.repeats) for s in an.stops] == [("small/baseline", "T2", 3)]
    write_outputs(store, tmp_path / "out", analysis=an)
    md = (tmp_path / "out" / "cards" / "small.md").read_text()
    assert "pass rate [95 %, clustered by task]" in md
    assert "small/baseline on T2 at N = 3 (12 episodes): cannot reach min pass rate" in md
    # each tier has 4 tasks: below the 8 from which the intervals' coverage was checked (8 in all: fine)
    assert "- small/baseline on T1: 4 task(s): the 95 % intervals were checked from 8 tasks up" in md
    assert "task(s): the 95 % intervals" not in md.split("- small/baseline on T1")[0]
    assert "Stopped early" not in (tmp_path / "out" / "cards" / "cloud.md").read_text()


def test_pareto_frontier() -> None:
    points = [("a", 1.0, 0.2), ("b", 2.0, 0.6), ("c", 3.0, 0.5), ("d", 4.0, 0.9), ("e", 0.5, 0.1)]
    assert pareto_frontier(points) == ["e", "a", "b", "d"]


def test_cli_decide_json_card_and_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = two_model_store(tmp_path)
    code, out, err = run_cli(
        [
            "decide",
            "--store",
            str(store),
            "--json",
            "--boot",
            "200",
            "--litellm",
            str(tmp_path / "litellm.yaml"),
        ],
        capsys,
        monkeypatch,
    )
    assert code == 0, err
    data = json.loads(out)
    assert set(data) >= {"tiers", "layers", "inversions"}
    assert set(data["tiers"]["T1"]) >= TIER_KEYS
    assert (store / "routing.yaml").exists() and (tmp_path / "litellm.yaml").exists()
    code, out, err = run_cli(["decide", "--store", str(store), "--boot", "200"], capsys, monkeypatch)
    assert code == 0 and "decision" in out and "T2" in out
    code, _, err = run_cli(
        ["card", "--store", str(store), "--out", str(tmp_path / "cards"), "--boot", "200"],
        capsys,
        monkeypatch,
    )
    assert code == 0, err
    assert (tmp_path / "cards" / "small.html").exists()
    prices = tmp_path / "prices.yaml"
    prices.write_text("routes:\n  nosuch:\n    prices: {input: 1, output: 1}\n")
    for args in (
        ["decide", "--store", str(tmp_path / "empty")],
        ["decide", "--store", str(store), "--prices", str(prices)],
    ):
        code, _, err = run_cli(args, capsys, monkeypatch)
        assert code == 2, err
        assert "Traceback" not in err and "error:" in err


def test_store_without_finished_episodes_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tmp_path / "runs"
    with StoreBuilder(store / "perpass.db") as b:
        cell = b.route("m/baseline", prices={"input": 1, "output": 1})
        b.episode(cell, "t0", status="started")
    code, _, err = run_cli(["decide", "--store", str(store)], capsys, monkeypatch)
    assert code == 2
    assert "no finished episode" in err


def test_interval_note_names_the_regimes_where_coverage_fell_short() -> None:
    from perpass.analysis.layers import interval_note

    assert interval_note(5, 0.5) is not None and "checked from 8 tasks up" in interval_note(5, 0.5)
    assert "92.5–92.9 %" in (interval_note(12, 0.85) or "")  # 8-15 tasks at high pass rates
    assert interval_note(12, 0.5) is None and interval_note(16, 0.85) is None
