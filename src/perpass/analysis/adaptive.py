"""The adaptive stopping rule against a run store: evidence of one run's rounds, and what stopped when.

`StoreAllocator` is what `perpass run` hands the scheduler for an `allocation: adaptive` plan
(the runs stage only knows its Protocol, `runs.scheduler.Allocator`). It prices the run's
episodes as the analysis does (a prices file for overheads and the minimum pass rate, else the
defaults) and applies `allocation.race`. Only episodes with repeat < N count at the look after
N repeats, so a resumed run replays exactly the same rounds.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from perpass.analysis.allocation import CellEvidence, RacingRule, Verdict, race
from perpass.analysis.prices import PriceBook, episode_costs, failure_overheads, load_price_book
from perpass.analysis.store_data import connect_read_only, load_store


def run_repeats(db: Path, run_id: int) -> dict[int, int]:
    """episode id -> repeat index, for the finished episodes of one run."""
    conn = connect_read_only(db)
    try:
        rows = conn.execute(
            "SELECT e.id, e.repeat FROM episodes e JOIN cells c ON c.id = e.cell_id "
            "WHERE c.run_id = ? AND e.status = 'finished'",
            (run_id,),
        ).fetchall()
    finally:
        conn.close()
    return {int(i): int(r) for i, r in rows}


def evidence_from_store(store: Path, run_id: int, repeats_done: int, book: PriceBook) -> list[CellEvidence]:
    """Per (cell, tier), per task: the run's valid episodes with repeat < repeats_done."""
    data = load_store(store)
    repeats = run_repeats(data.path, run_id)
    costs, _ = episode_costs(data, book)
    spent = costs + failure_overheads(data, book)
    repeat = np.array([repeats.get(int(e), -1) for e in data.episode_id], dtype=np.int64)
    keep = (repeat >= 0) & (repeat < repeats_done) & ~data.infra
    out = []
    for tier in sorted({str(t) for t in data.tier[keep]}):
        in_tier = keep & (data.tier == tier)
        tasks = np.unique(data.task[in_tier])
        row = np.searchsorted(tasks, data.task)
        for r, route in enumerate(data.routes):
            if run_id not in route.run_ids:
                continue
            sel = in_tier & (data.route == r)
            if sel.any():
                out.append(
                    CellEvidence.from_episodes(route.label, tier, row[sel], data.passed[sel], spent[sel], len(tasks))
                )
    return out


@dataclass
class StoreAllocator:
    """The scheduler's Allocator for an adaptive plan."""

    rule: RacingRule
    book: PriceBook

    @classmethod
    def for_plan(
        cls, error_rate: float, min_repeats: int, max_repeats: int, prices: Path | None
    ) -> StoreAllocator:
        book = load_price_book(prices)
        rule = RacingRule(error_rate, book.min_pass_rate, min_repeats, max_repeats)
        return cls(rule, book)

    def review(
        self, store_path: Path, run_id: int, repeats_done: int, stopped: frozenset[tuple[str, str]]
    ) -> list[Verdict]:
        return race(evidence_from_store(store_path, run_id, repeats_done, self.book), self.rule, stopped)


@dataclass(frozen=True)
class AllocationStop:
    """A cell of an adaptive run that stopped getting episodes on a tier: when and why."""

    run_id: int
    cell: str
    tier: str
    repeats: int
    episodes: int
    kind: str
    reason: str


def read_stops(store: Path) -> list[AllocationStop]:
    """Every recorded stop (none for a store without adaptive runs, or from before they existed)."""
    conn = connect_read_only(store)
    try:
        if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'allocation_stops'").fetchone():
            return []
        rows = conn.execute(
            "SELECT s.run_id, c.label, s.tier, s.repeats, s.episodes, s.kind, s.reason FROM allocation_stops s"
            " JOIN cells c ON c.id = s.cell_id ORDER BY s.run_id, s.repeats, c.position, s.tier"
        ).fetchall()
    except sqlite3.DatabaseError:
        return []
    finally:
        conn.close()
    return [AllocationStop(int(a), str(b), str(c), int(d), int(e), str(f), str(g)) for a, b, c, d, e, f, g in rows]
