"""What the cards say about a route's bill: our cost beside the endpoint's (flagged over 1 % apart), cost
shares, episodes measured on a busy host (wall limits there flagged), and unknown prices said loudly."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from analysis_helpers import FREE_FAILS

from perpass.analysis.analyze import analyze
from perpass.analysis.decide import decision
from perpass.analysis.prices import PriceBook
from perpass.analysis.synthetic import StoreBuilder
from perpass.report.cards import write_cards

PRICES = {"input": 1, "cached_input": 0.1, "cache_write": 1.25, "output": 10}
HOURLY = {"hardware_price": 3600, "amortization_hours": 3600, "watts": 0, "kwh_price": 0}


def store(tmp_path: Path) -> Path:
    with StoreBuilder(tmp_path / "perpass.db") as b:
        agree = b.route("agree/baseline", prices=PRICES)
        apart = b.route("apart/baseline", prices=PRICES)
        local = b.route("loc/baseline", kind="local", local_costs=HOURLY)
        unknown = b.route("mystery/baseline", model="mystery-model")
        # one call: 1000 uncached + 8000 cached + 1000 written, 100 out = 1000 + 800 + 1250 + 1000 = $0.00405
        call = (10000, 8000, 100, 0, 1.0, 1000, 0)
        for t in range(3):
            b.episode(agree, f"t{t}", passed=True, calls=[(*call, 0.00405 * 1.004)])
            b.episode(apart, f"t{t}", passed=True, calls=[(*call, 0.00405 * 1.05)])
            b.episode(local, f"t{t}", ceiling="turn", calls=[(1000, 0, 100, 0, 5.0)])
            b.episode(unknown, f"t{t}", passed=True, calls=[(1000, 0, 100, 0, 1.0)])
    with sqlite3.connect(tmp_path / "perpass.db") as conn:  # the local route's first episode: load 8 on 2 cores
        conn.execute("UPDATE episodes SET host_load = 0.5, host_cpus = 2")
        conn.execute("UPDATE episodes SET host_load = 8.0, stop_reason = 'wall_limit' WHERE id = (SELECT MIN(e.id)"
                     " FROM episodes e JOIN cells c ON c.id = e.cell_id WHERE c.label = 'loc/baseline')")
    return tmp_path


def test_billing_compares_reported_costs_and_flags_contention(tmp_path: Path) -> None:
    an = analyze(store(tmp_path), PriceBook(overheads=FREE_FAILS), n_boot=100)
    agree, apart = an.layers["agree/baseline"].billing, an.layers["apart/baseline"].billing
    assert agree is not None and agree.reported is not None and not agree.reported.disagree
    assert agree.reported.ours == pytest.approx(3 * 0.00405) and agree.reported.calls == 3
    assert apart is not None and apart.reported is not None and apart.reported.disagree
    assert agree.cost_shares == pytest.approx({"input": 1000 / 4050, "cached_input": 800 / 4050,
                                               "cache_write": 1250 / 4050, "output": 1000 / 4050,
                                               "reasoning": 0.0})
    local = an.layers["loc/baseline"].billing
    assert local is not None and local.contended_episodes == 1 and local.contended_wall_limits == 1
    assert local.cost_shares == {"compute": 1.0}
    assert an.layers["mystery/baseline"].pricing.kind == "unknown"


def test_cards_say_it(tmp_path: Path) -> None:
    an = analyze(store(tmp_path / "s"), PriceBook(overheads=FREE_FAILS), n_boot=100)
    written = write_cards(an, decision(an), tmp_path / "cards")
    text = {name: path.read_text() for name, path in written.items() if name.endswith(".md")}
    apart = next(t for n, t in text.items() if "apart" in n)
    assert "more than 1 % apart" in apart and "route-table" in apart and "cache write 31%" in apart
    local = next(t for n, t in text.items() if "loc" in n)
    assert "1 episode(s) measured on a busy host" in local and "stopped by the wall limit" in local
    assert "server compute time" in local
    mystery = next(t for n, t in text.items() if "mystery" in n)
    assert "**PRICE UNKNOWN** for mystery/baseline" in mystery and "$0.00" not in mystery
    assert "| unknown | unknown | unknown | unknown |" in mystery  # never $0, never ∞ per pass
