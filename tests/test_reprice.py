"""Re-pricing a finished store: another price table (or the database on another date) changes layers and
the ranking, from the stored usage, and nothing in the store is written. `perpass prices show`."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from analysis_helpers import FREE_FAILS
from conftest import run_perpass

from perpass.analysis.analyze import analyze
from perpass.analysis.prices import PriceBook
from perpass.analysis.reprice import reprice
from perpass.analysis.synthetic import StoreBuilder

ANTHROPIC = {"base_url": "https://api.anthropic.com/v1"}
DEEPSEEK = {"base_url": "https://api.deepseek.com/v1"}


def two_route_store(tmp_path: Path) -> Path:
    """`cachey` reads a long cached prefix every call and passes 3 of 4; `plain` sends short prompts and passes
    2 of 4. With cache reads at a tenth of the input price, cachey is cheaper per pass; billed at the full
    input price, it is not."""
    with StoreBuilder(tmp_path / "perpass.db") as b:
        cachey = b.route("cachey/baseline", prices={"input": 3, "cached_input": 0.3, "output": 15})
        plain = b.route("plain/baseline", prices={"input": 3, "cached_input": 0.3, "output": 15})
        for t in range(4):
            b.episode(cachey, f"t{t}", passed=t < 3, calls=[(40000, 38000, 500, 0, 2.0)] * 3)
            b.episode(plain, f"t{t}", passed=t < 2, calls=[(6000, 0, 500, 0, 2.0)] * 3)
    return tmp_path


def digest(store: Path) -> str:
    return hashlib.sha256((store / "perpass.db").read_bytes()).hexdigest()


def test_reprice_with_a_second_table_changes_the_ranking_and_writes_nothing(tmp_path: Path) -> None:
    store = two_route_store(tmp_path / "store")
    prices = tmp_path / "no-cache-discount.yaml"
    prices.write_text("overheads: {reviewer_minutes: 0, false_done_drag: 0}\nroutes:\n"
                      "  cachey/baseline: {prices: {input: 3, output: 15}}\n")
    before = digest(store)
    proc = run_perpass("reprice", "--store", str(store), "--prices", str(prices), "--boot", "200", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["ranking_before"] == ["cachey/baseline", "plain/baseline"]
    assert out["ranking_after"] == ["plain/baseline", "cachey/baseline"] and out["ranking_changed"]
    cachey = out["routes"]["cachey/baseline"]
    # 3 calls × (2000 × 3 + 38000 × 0.3 + 500 × 15) before; × (40000 × 3 + 500 × 15) after
    assert cachey["per_episode_before"] == pytest.approx(3 * (2000 * 3 + 38000 * 0.3 + 500 * 15) / 1e6)
    assert cachey["per_episode_after"] == pytest.approx(3 * (40000 * 3 + 500 * 15) / 1e6)
    assert out["decision"]["rankings"]["per_pass"] == out["ranking_after"]
    assert digest(store) == before  # nothing written into the finished store


def test_a_route_without_prices_is_priced_from_the_database_by_its_endpoint(tmp_path: Path) -> None:
    with StoreBuilder(tmp_path / "perpass.db") as b:
        cell = b.route("sonnet/baseline", model="claude-sonnet-4-5", config=ANTHROPIC)
        b.episode(cell, "t1", passed=True, calls=[(15100, 0, 300, 0, 1.0, 15000, 0, None)])
    layer = analyze(tmp_path, PriceBook(overheads=FREE_FAILS), n_boot=100).layers["sonnet/baseline"]
    assert layer.pricing.source == "genai-prices" and layer.pricing.version
    # Anthropic's 5-minute cache writes at 1.25 × input ($3.75 per 1M); prompt_tokens include them
    assert layer.per_episode == pytest.approx((100 * 3 + 15000 * 3.75 + 300 * 15) / 1e6)
    assert layer.billing is not None and layer.billing.cost_shares["cache_write"] > 0.9


def test_reprice_at_another_date_uses_the_prices_in_force_then(tmp_path: Path) -> None:
    with StoreBuilder(tmp_path / "perpass.db") as b:
        cell = b.route("flash/baseline", model="deepseek-v4-flash", config=DEEPSEEK)
        b.episode(cell, "t1", passed=True, calls=[(1_000_000, 0, 0, 0, 1.0)])
    costs = {}
    for day in (datetime(2026, 8, 20, tzinfo=UTC), datetime(2026, 9, 20, tzinfo=UTC)):
        result = reprice(tmp_path, PriceBook(at=day), n_boot=200)
        costs[day.date().isoformat()] = result.routes["flash/baseline"].per_episode_after
    # genai-prices: deepseek-v4-flash input $0.22 per 1M from 2026-08-17, $0.15 from 2026-09-10
    assert costs == {"2026-08-20": pytest.approx(0.22), "2026-09-20": pytest.approx(0.15)}


def test_a_prices_file_can_price_a_route_as_another_provider(tmp_path: Path) -> None:
    with StoreBuilder(tmp_path / "perpass.db") as b:
        cell = b.route("ds/baseline", model="deepseek-chat", config={"base_url": "http://127.0.0.1:9/v1"})
        b.episode(cell, "t1", passed=True, calls=[(10000, 9000, 500, 0, 1.0)])
    assert analyze(tmp_path, n_boot=100).layers["ds/baseline"].pricing.kind == "unknown"  # a local URL
    prices = tmp_path / "p.yaml"
    prices.write_text("routes:\n  ds/baseline: {provider: deepseek}\n")
    layer = analyze(tmp_path, prices, n_boot=100).layers["ds/baseline"]
    assert layer.pricing.source == "genai-prices" and (layer.pricing.note or "").startswith("deepseek/")


def test_prices_show_prints_the_database_entry_per_1m_tokens() -> None:
    proc = run_perpass("prices", "show", "gemini-2.5-pro", "--provider", "google", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert {"source", "version", "input", "cached_input", "cache_write", "output", "tiers"} <= set(out)
    assert (out["source"], out["input"], out["output"]) == ("genai-prices", 1.25, 10.0)
    assert out["tiers"][0]["above_prompt_tokens"] == 200000 and out["tiers"][0]["input"] == 2.5


@pytest.mark.parametrize("args, message", [
    (("prices", "show", "no-such-model-xyz"), "not in the price database"),
    (("prices", "show", "gpt-4o", "--at", "yesterday"), "--at 'yesterday'"),
])
def test_bad_input_is_one_line_and_exit_2(args: tuple[str, ...], message: str) -> None:
    proc = run_perpass(*args)
    assert proc.returncode == 2 and message in proc.stderr and proc.stdout == ""


def test_reprice_reads_usage_again_from_what_the_endpoint_sent(tmp_path: Path) -> None:
    """A store written by a perpass that read DeepSeek's cache hits as nothing: its stored counts bill every
    prompt token at the miss price; re-pricing reads the kept raw usage with today's reader."""
    with StoreBuilder(tmp_path / "perpass.db") as b:
        cell = b.route("ds/baseline", prices={"input": 0.27, "cached_input": 0.07, "output": 1.10})
        b.episode(cell, "t1", passed=True, calls=[(10000, 0, 500, 0, 1.0)])
    raw = {"usage": {"prompt_tokens": 10000, "completion_tokens": 500, "prompt_cache_hit_tokens": 9000,
                     "prompt_cache_miss_tokens": 1000}}
    with sqlite3.connect(tmp_path / "perpass.db") as conn:
        conn.execute("UPDATE calls SET raw_usage_json = ?, usage_shape = 'openai_chat'", (json.dumps(raw),))
    route = reprice(tmp_path, PriceBook(), n_boot=200).routes["ds/baseline"]
    assert route.per_episode_before == pytest.approx((10000 * 0.27 + 500 * 1.10) / 1e6)
    assert route.per_episode_after == pytest.approx((1000 * 0.27 + 9000 * 0.07 + 500 * 1.10) / 1e6)
