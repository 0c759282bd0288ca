"""Ceiling shares, advice checked against OFAT cells, OFAT effects and the best config."""

from __future__ import annotations

from pathlib import Path

import pytest
from analysis_helpers import FREE_FAILS

from perpass.analysis.analyze import analyze
from perpass.analysis.ceilings import all_ceilings
from perpass.analysis.ofat import ofat_effects
from perpass.analysis.prices import PriceBook
from perpass.analysis.synthetic import StoreBuilder

BOOK = PriceBook(overheads=FREE_FAILS)
LOCAL = {"hardware_price": 3600, "amortization_hours": 3600, "watts": 0, "kwh_price": 0}  # $1/h


def ofat_store(tmp_path: Path) -> Path:
    """Baseline runs out of turns on most tasks; the max_turns=20 cell fixes it; temperature does nothing."""
    harness = {"harness": {"max_turns": 6}}
    with StoreBuilder(tmp_path / "perpass.db") as b:
        base = b.route("small/baseline", kind="local", local_costs=LOCAL, config=harness)
        more = b.route(
            "small/max_turns=20",
            kind="local",
            local_costs=LOCAL,
            factor="harness.max_turns",
            level=20,
            config={"harness": {"max_turns": 20}},
        )
        warm = b.route(
            "small/temperature=0.7",
            kind="local",
            local_costs=LOCAL,
            factor="sampling.temperature",
            level=0.7,
            config=harness,
        )
        call = (100, 0, 50, 0, 6.0)
        for t in range(12):
            for r in range(3):
                like_base = {"passed": t < 3, "calls": [call] * 6, "wall_s": 40}
                b.episode(base, f"t{t}", repeat=r, ceiling="turn" if t < 9 else "token", **like_base)
                b.episode(more, f"t{t}", repeat=r, passed=t < 10, ceiling="capability", calls=[call] * 8, wall_s=55)
                b.episode(warm, f"t{t}", repeat=r, ceiling="turn", **like_base)
    return tmp_path


def test_ceiling_shares_and_advice(tmp_path: Path) -> None:
    an = analyze(ofat_store(tmp_path), BOOK, n_boot=300)
    base = all_ceilings(an)["small/baseline"]
    assert base.failed == 27
    assert base.counts.model_dump() == {"turn": 18, "token": 9, "capability": 0}
    assert base.shares.turn == pytest.approx(18 / 27)
    assert base.dominant == "turn"
    assert "max_turns" in base.advice[0] and "n_ctx" in base.advice[1]
    assert base.failing_examples and all(e.transcript for e in base.failing_examples)


def test_turn_advice_is_checked_against_the_ofat_cell(tmp_path: Path) -> None:
    an = analyze(ofat_store(tmp_path), BOOK, n_boot=300)
    checks = all_ceilings(an)["small/baseline"].checks
    turn = [c for c in checks if c.ceiling == "turn"]
    assert len(turn) == 1
    assert turn[0].cell == "small/max_turns=20"
    assert turn[0].from_ == 6 and turn[0].to == 20
    assert turn[0].pass_rate_delta == pytest.approx(7 / 12)
    assert turn[0].verdict == "helped"


def test_a_lowered_limit_does_not_check_raise_the_limit_advice(tmp_path: Path) -> None:
    with StoreBuilder(tmp_path / "perpass.db") as b:
        base = b.route("m/baseline", config={"harness": {"max_turns": 6}}, prices={"input": 1, "output": 1})
        fewer = b.route("m/max_turns=3", factor="harness.max_turns", level=3, prices={"input": 1, "output": 1},
                        config={"harness": {"max_turns": 3}})
        for t in range(4):
            b.episode(base, f"t{t}", passed=False, ceiling="turn", calls=[(100, 0, 10, 0, 1.0)])
            b.episode(fewer, f"t{t}", passed=False, ceiling="turn", calls=[(100, 0, 10, 0, 1.0)])
    checks = all_ceilings(analyze(tmp_path, BOOK, n_boot=100))
    assert checks["m/baseline"].checks == []  # 6 → 3 turns says nothing about raising the limit
    assert checks["m/max_turns=3"].checks == []  # a cell is never checked against itself


def test_ofat_effects_and_best_config(tmp_path: Path) -> None:
    effects = ofat_effects(analyze(ofat_store(tmp_path), BOOK, n_boot=300))["small"]
    assert effects.baseline == "small/baseline"
    rows = {row.cell: row for row in effects.cells}
    turns = rows["small/max_turns=20"].effects
    assert turns["pass_rate"].delta == pytest.approx(10 / 12 - 3 / 12)
    assert turns["pass_rate"].significant is True
    assert turns["wall_s"].delta == pytest.approx(15.0)
    # cost per pass: baseline 36 s/ep × $1/h over 1/4 passing; max_turns=20: 48 s/ep over 10/12
    assert turns["per_pass"].delta == pytest.approx(48 / 3600 / (10 / 12) - 36 / 3600 / 0.25)
    warm = rows["small/temperature=0.7"].effects
    assert warm["pass_rate"].delta == 0 and warm["pass_rate"].significant is False
    assert effects.best.cell == "small/max_turns=20"
    assert rows["small/baseline"].decode_tok_s == pytest.approx(50 / 6.0)
