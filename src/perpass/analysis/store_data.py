"""Read a run store into numpy arrays (the store is opened, and migrated, by `perpass.runs.schema`).

One row per *finished* episode; per-call usage is summed per episode in SQL, which is all the
pricing needs (call cost is linear in tokens and wall time). Reasoning tokens are clamped into
completion tokens per call, and cached tokens into prompt tokens, so nothing is billed twice.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from perpass.runs.schema import open_reader

CALL_SUMS_SQL = """
SELECT episode_id, COUNT(*),
  SUM(COALESCE(prompt_tokens, 0)),
  SUM(MIN(COALESCE(cached_prompt_tokens, 0), COALESCE(prompt_tokens, 0))),
  SUM(COALESCE(completion_tokens, 0)),
  SUM(MIN(COALESCE(reasoning_tokens, 0), COALESCE(completion_tokens, 0))),
  SUM(COALESCE(latency_s, 0)),
  SUM(CASE WHEN server_decode_n > 0 AND server_decode_ms > 0 THEN server_decode_n ELSE 0 END),
  SUM(CASE WHEN server_decode_n > 0 AND server_decode_ms > 0 THEN server_decode_ms ELSE 0 END) / 1000.0
FROM calls GROUP BY episode_id ORDER BY episode_id
"""

EPISODES_SQL = """
SELECT e.id, e.cell_id, e.task_id, e.tier, COALESCE(e.passed, 0), COALESCE(e.submitted, 0),
  CASE WHEN COALESCE(e.infra, 0) = 1 OR e.ceiling = 'infra' THEN 1 ELSE 0 END,
  COALESCE(e.ceiling, ''), COALESCE(e.stop_reason, ''), COALESCE(e.calls, 0),
  COALESCE(e.prompt_tokens, 0), COALESCE(e.cached_prompt_tokens, 0), COALESCE(e.completion_tokens, 0),
  COALESCE(e.reasoning_tokens, 0), COALESCE(e.wall_s, 0), COALESCE(e.model_s, 0), e.transcript,
  COALESCE(e.verdict_reason, ''), e.verdict_json
FROM episodes e WHERE e.status = 'finished' ORDER BY e.id
"""


@dataclass
class RouteInfo:
    """A route for ranking: one cell label (merged over runs), with its model group and config."""

    label: str
    model_key: str
    route_name: str  # the route's name in routes.yaml (cells.route_name; configs.route_name holds the label)
    model: str
    kind: str
    config_hash: str
    config: dict[str, Any]
    factor: str | None
    level: Any
    changes: dict[str, Any]
    cell_ids: list[int] = field(default_factory=list)
    run_ids: list[int] = field(default_factory=list)

    @property
    def is_baseline(self) -> bool:
        return self.factor is None


@dataclass
class StoreData:
    """Finished episodes as parallel arrays; `route` indexes `routes`, `task` indexes `task_ids`."""

    path: Path
    routes: list[RouteInfo]
    task_ids: list[str]
    episode_id: np.ndarray
    route: np.ndarray
    task: np.ndarray
    tier: np.ndarray  # object array of tier names
    passed: np.ndarray  # bool; never True for infra episodes
    submitted: np.ndarray
    infra: np.ndarray
    ceiling: np.ndarray  # object array: turn|token|capability|infra|''
    stop_reason: np.ndarray
    calls: np.ndarray
    prompt: np.ndarray
    cached: np.ndarray
    completion: np.ndarray
    reasoning: np.ndarray
    call_seconds: np.ndarray  # Σ call latency; what local routes are priced from
    decode_tokens: np.ndarray  # tokens with server decode timings
    decode_seconds: np.ndarray
    wall_s: np.ndarray
    transcript: list[str | None]
    verdict_reason: np.ndarray  # object array: the verifier's reason (passed, tests_failed, tampered, ...) or ''
    verdict_json: list[str | None]  # the Verdict without its output: method, per-test outcomes, evidence
    unfinished: int
    runs: list[dict[str, Any]]

    @property
    def n(self) -> int:
        return len(self.episode_id)


def connect_read_only(store: Path) -> sqlite3.Connection:
    """A read-only connection to an existing store of this perpass's schema (older ones are migrated)."""
    return open_reader(store)[1]


def load_routes(conn: sqlite3.Connection) -> tuple[list[RouteInfo], dict[int, int]]:
    """Routes keyed by cell label; the same label in several runs is one route."""
    rows = conn.execute(
        "SELECT c.id, c.run_id, c.model_key, c.label, c.config_hash, c.factor, c.level_json, c.changes_json,"
        " COALESCE(NULLIF(c.route_name, ''), g.route_name), g.model, g.kind, g.config_json FROM cells c JOIN configs g"
        " ON g.config_hash = c.config_hash ORDER BY c.model_key, c.factor IS NOT NULL, c.label, c.id"
    ).fetchall()
    routes: list[RouteInfo] = []
    index: dict[str, int] = {}
    cell_route: dict[int, int] = {}
    for cid, run_id, model_key, label, chash, factor, level_json, changes_json, rname, model, kind, cjson in rows:
        if label not in index:
            index[label] = len(routes)
            routes.append(
                RouteInfo(
                    label=label,
                    model_key=model_key,
                    route_name=rname,
                    model=model,
                    kind=kind,
                    config_hash=chash,
                    config=json.loads(cjson or "{}"),
                    factor=factor,
                    level=json.loads(level_json) if level_json else None,
                    changes=json.loads(changes_json or "{}"),
                )
            )
        info = routes[index[label]]
        info.cell_ids.append(cid)
        info.run_ids.append(run_id)
        cell_route[cid] = index[label]
    return routes, cell_route


def load_store(store: Path) -> StoreData:
    db, conn = open_reader(store)
    try:
        routes, cell_route = load_routes(conn)
        eps = conn.execute(EPISODES_SQL).fetchall()
        sums = conn.execute(CALL_SUMS_SQL).fetchall()
        unfinished = conn.execute("SELECT COUNT(*) FROM episodes WHERE status != 'finished'").fetchone()[0]
        runs = [
            dict(zip(("id", "plan_path", "trusted", "hardware_json", "started_at"), r, strict=True))
            for r in conn.execute("SELECT id, plan_path, trusted, hardware_json, started_at FROM runs")
        ]
    finally:
        conn.close()
    eps = [e for e in eps if e[1] in cell_route]
    cols = list(zip(*eps, strict=True)) if eps else [()] * 19
    ep_ids = np.array(cols[0], dtype=np.int64)
    task_names = list(cols[2])
    task_ids = sorted(set(task_names))
    task_index = {t: i for i, t in enumerate(task_ids)}

    def f(i: int) -> np.ndarray:
        return np.array(cols[i], dtype=np.float64)

    data = StoreData(
        path=db,
        routes=routes,
        task_ids=task_ids,
        episode_id=ep_ids,
        route=np.array([cell_route[c] for c in cols[1]], dtype=np.int64),
        task=np.array([task_index[t] for t in task_names], dtype=np.int64),
        tier=np.array(cols[3], dtype=object),
        passed=np.array(cols[4], dtype=bool),
        submitted=np.array(cols[5], dtype=bool),
        infra=np.array(cols[6], dtype=bool),
        ceiling=np.array(cols[7], dtype=object),
        stop_reason=np.array(cols[8], dtype=object),
        calls=f(9),
        prompt=f(10),
        cached=np.minimum(f(11), f(10)),
        completion=f(12),
        reasoning=np.minimum(f(13), f(12)),
        call_seconds=f(15),
        decode_tokens=np.zeros(len(eps)),
        decode_seconds=np.zeros(len(eps)),
        wall_s=f(14),
        transcript=list(cols[16]),
        verdict_reason=np.array(cols[17], dtype=object),
        verdict_json=list(cols[18]),
        unfinished=int(unfinished),
        runs=runs,
    )
    data.passed &= ~data.infra
    apply_call_sums(data, sums)
    return data


def apply_call_sums(data: StoreData, sums: list[tuple[Any, ...]]) -> None:
    """Replace episode-level usage with the sums of its calls where the calls were recorded."""
    if not sums or data.n == 0:
        return
    arr = np.array(sums, dtype=np.float64)
    ids = arr[:, 0].astype(np.int64)
    pos = np.searchsorted(data.episode_id, ids)
    pos = np.clip(pos, 0, data.n - 1)
    hit = data.episode_id[pos] == ids
    pos, arr = pos[hit], arr[hit]
    data.calls[pos] = arr[:, 1]
    data.prompt[pos] = arr[:, 2]
    data.cached[pos] = arr[:, 3]
    data.completion[pos] = arr[:, 4]
    data.reasoning[pos] = arr[:, 5]
    # Calls without a latency fall back to the episode's model time (already in call_seconds).
    data.call_seconds[pos] = np.where(arr[:, 6] > 0, arr[:, 6], data.call_seconds[pos])
    data.decode_tokens[pos] = arr[:, 7]
    data.decode_seconds[pos] = arr[:, 8]
