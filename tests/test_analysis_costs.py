"""Cost arithmetic on hand-computed cases: cached and reasoning tokens, local pricing, overheads,
re-pricing from a prices file, and bad prices."""

from __future__ import annotations

from pathlib import Path

import pytest
from analysis_helpers import FREE_FAILS

from perpass.analysis.analyze import analyze
from perpass.analysis.prices import Overheads, PriceBook
from perpass.analysis.synthetic import StoreBuilder
from perpass.errors import UserError

CALLS = [(1000, 400, 300, 100, 1.0), (2000, 0, 100, 0, 2.0)]  # prompt, cached, completion, reasoning, latency
NO_OVERHEAD = PriceBook(overheads=FREE_FAILS)


def one_episode_store(tmp_path: Path, **route: object) -> Path:
    with StoreBuilder(tmp_path / "perpass.db") as b:
        cell = b.route("m/baseline", **route)  # type: ignore[arg-type]
        b.episode(cell, "t1", passed=True, calls=CALLS)
    return tmp_path


def test_cloud_cost_bills_cached_and_reasoning_tokens_once(tmp_path: Path) -> None:
    store = one_episode_store(
        tmp_path, prices={"input": 2, "cached_input": 0.5, "output": 8, "reasoning": 10}
    )
    layer = analyze(store, NO_OVERHEAD, n_boot=200).layers["m/baseline"]
    # call 1: 600 uncached × 2 + 400 cached × 0.5 + 200 plain output × 8 + 100 reasoning × 10 = 4000
    # call 2: 2000 × 2 + 100 × 8 = 4800
    assert layer.per_episode == pytest.approx(8800 / 1e6)
    assert layer.per_call == pytest.approx(4400 / 1e6)
    assert layer.per_token == pytest.approx(8800 / 3400)  # $ per 1M tokens at this mix
    assert layer.per_pass == pytest.approx(8800 / 1e6)


def test_reasoning_is_billed_as_output_without_its_own_price(tmp_path: Path) -> None:
    store = one_episode_store(tmp_path, prices={"input": 2, "output": 8})
    layer = analyze(store, NO_OVERHEAD, n_boot=200).layers["m/baseline"]
    # cached tokens at the input price; completion (reasoning inside) at the output price, once
    assert layer.per_episode == pytest.approx((3000 * 2 + 400 * 8) / 1e6)


def test_local_cost_is_wall_time_times_hourly_cost(tmp_path: Path) -> None:
    costs = {"hardware_price": 8760, "amortization_hours": 8760, "watts": 500, "kwh_price": 0.2}
    store = one_episode_store(tmp_path, kind="local", local_costs=costs)
    layer = analyze(store, NO_OVERHEAD, n_boot=200).layers["m/baseline"]
    hourly = 1.0 + 0.5 * 0.2
    assert layer.per_episode == pytest.approx(3.0 * hourly / 3600)
    assert layer.per_token == pytest.approx(3.0 * hourly / 3600 / 3400 * 1e6)


def test_overheads_enter_cost_per_pass_only(tmp_path: Path) -> None:
    with StoreBuilder(tmp_path / "perpass.db") as b:
        cell = b.route("m/baseline", prices={"input": 1, "output": 1})
        for t in ("t1", "t2"):
            b.episode(cell, t, repeat=0, passed=True, calls=[(500, 0, 500, 0, 1.0)])  # $0.001
            b.episode(cell, t, repeat=1, ceiling="capability", calls=[(500, 0, 500, 0, 1.0)])  # false done
            b.episode(cell, t, repeat=2, ceiling="turn", calls=[(500, 0, 500, 0, 1.0)])  # not a false done
    book = PriceBook(overheads=Overheads(reviewer_minutes=6, reviewer_hourly=50, false_done_drag=2))
    layer = analyze(tmp_path, book, n_boot=200).layers["m/baseline"]
    assert layer.per_episode == pytest.approx(0.001)
    # 6 episodes × $0.001 + 4 failures × $5 reviewer + 2 false dones × $2 drag, over 2 passes
    assert layer.per_pass == pytest.approx((0.006 + 20 + 4) / 2)
    assert layer.false_dones == 2


def test_retry_policy_charges_unsolvable_tasks_every_attempt(tmp_path: Path) -> None:
    with StoreBuilder(tmp_path / "perpass.db") as b:
        cell = b.route("m/baseline", prices={"input": 1000, "output": 0})  # $1 per 1000-token call
        for r in range(2):
            b.episode(cell, "easy", repeat=r, passed=True, calls=[(1000, 0, 0, 0, 1.0)])
            b.episode(cell, "hard", repeat=r, ceiling="capability", calls=[(1000, 0, 0, 0, 1.0)])
    one = analyze(tmp_path, NO_OVERHEAD, n_boot=200).layers["m/baseline"]
    three = analyze(
        tmp_path,
        PriceBook(overheads=Overheads(reviewer_minutes=0, false_done_drag=0, max_attempts=3)),
        n_boot=200,
    ).layers["m/baseline"]
    assert one.per_pass == pytest.approx(4 / 2)
    # easy: one attempt, always solved; hard: 3 attempts, never solved → (1 + 3) / 1 per task
    assert three.per_pass == pytest.approx(4.0)


def test_prices_file_reprices_without_rerunning(tmp_path: Path) -> None:
    store = one_episode_store(tmp_path, prices={"input": 2, "output": 8})
    prices = tmp_path / "prices.yaml"
    prices.write_text(
        "overheads: {reviewer_minutes: 0, false_done_drag: 0}\n"
        "routes:\n  m/baseline:\n    prices: {input: 1, output: 1}\n"
    )
    layer = analyze(store, prices, n_boot=200).layers["m/baseline"]
    assert layer.per_episode == pytest.approx(3400 / 1e6)


@pytest.mark.parametrize(
    "body, message",
    [
        ("routes:\n  m/baseline:\n    prices: {input: -1, output: 1}\n", "prices.yaml:3"),
        ("routes:\n  nosuch/route:\n    prices: {input: 1, output: 1}\n", "unknown route(s) nosuch/route"),
        ("overheads: {reviewer_minutes: -5}\n", "reviewer_minutes"),
    ],
)
def test_bad_prices_file_is_a_user_error(tmp_path: Path, body: str, message: str) -> None:
    store = one_episode_store(tmp_path, prices={"input": 2, "output": 8})
    prices = tmp_path / "prices.yaml"
    prices.write_text(body)
    with pytest.raises(UserError, match=message.replace("(", r"\(").replace(")", r"\)")):
        analyze(store, prices, n_boot=200)


def test_cloud_route_without_prices_is_priced_unknown_never_zero(tmp_path: Path) -> None:
    store = one_episode_store(tmp_path, model="no-such-model-anywhere")  # a base_url no database knows
    layer = analyze(store, n_boot=200).layers["m/baseline"]
    assert layer.pricing.kind == "unknown" and "PRICE UNKNOWN" in (layer.pricing.note or "")
    assert layer.per_episode is None and layer.per_pass is None and layer.per_call is None
    assert layer.per_pass_text.startswith("PRICE UNKNOWN")
