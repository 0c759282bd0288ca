"""Read a run store into numpy arrays (the store is opened, and migrated, by `perpass.runs.schema`).

One row per *finished* episode, and one element per call of those episodes (`calls`): prices are not
linear in summed tokens (a tier switches a whole call), so every call is priced on its own and the
episode's cost is the sum of its calls' costs. An episode without call rows (a store from before
calls were recorded) is read as one call holding the episode's totals. Counts are clamped per call
(cached and cache writes into prompt, reasoning into completion) so nothing is billed twice.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from perpass.analysis.pricemodels.base import CallUsage
from perpass.endpoints.usage import normalise_usage
from perpass.runs.schema import open_reader

CALLS_SQL = """
SELECT c.episode_id, c.prompt_tokens, c.cached_prompt_tokens, c.cache_write_tokens, c.cache_write_1h_tokens,
  c.completion_tokens, c.reasoning_tokens, c.latency_s, c.compute_s,
  CASE WHEN c.server_decode_n > 0 AND c.server_decode_ms > 0 THEN c.server_decode_n ELSE 0 END,
  CASE WHEN c.server_decode_n > 0 AND c.server_decode_ms > 0 THEN c.server_decode_ms / 1000.0 ELSE 0 END,
  c.provider_cost, COALESCE(c.aborted, 0)
FROM calls c JOIN episodes e ON e.id = c.episode_id WHERE e.status = 'finished' ORDER BY c.episode_id, c.idx
"""

RAW_USAGE_SQL = """
SELECT c.raw_usage_json, c.usage_shape FROM calls c JOIN episodes e ON e.id = c.episode_id
WHERE e.status = 'finished' ORDER BY c.episode_id, c.idx
"""
USAGE_COLUMNS = ("prompt_tokens", "cached_prompt_tokens", "cache_write_tokens", "cache_write_1h_tokens",
                 "completion_tokens", "reasoning_tokens")  # CALLS_SQL's columns 1-6, in its order

EPISODES_SQL = """
SELECT e.id, e.cell_id, e.task_id, e.tier, COALESCE(e.passed, 0), COALESCE(e.submitted, 0),
  CASE WHEN COALESCE(e.infra, 0) = 1 OR e.ceiling = 'infra' THEN 1 ELSE 0 END,
  COALESCE(e.ceiling, ''), COALESCE(e.stop_reason, ''), COALESCE(e.calls, 0),
  COALESCE(e.prompt_tokens, 0), COALESCE(e.cached_prompt_tokens, 0), COALESCE(e.completion_tokens, 0),
  COALESCE(e.reasoning_tokens, 0), COALESCE(e.wall_s, 0), COALESCE(e.model_s, 0), e.transcript,
  COALESCE(e.verdict_reason, ''), e.verdict_json, e.host_load, e.host_cpus
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
    host_load: np.ndarray = field(default_factory=lambda: np.zeros(0))  # 1-min load average (NaN: unknown)
    host_cpus: np.ndarray = field(default_factory=lambda: np.zeros(0))  # cores the host had (NaN: unknown)
    call_episode: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # call -> episode row
    call_usage: CallUsage = field(default_factory=lambda: CallUsage.of(prompt=np.zeros(0)))
    call_provider_cost: np.ndarray = field(default_factory=lambda: np.zeros(0))  # $ the endpoint reported (NaN)
    call_aborted: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))  # cut short by a budget

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


def load_store(store: Path, reread_usage: bool = False) -> StoreData:
    """`reread_usage`: read each call's counts again from the usage object its endpoint sent (kept in
    the store), with this perpass's readers, instead of the counts stored when it ran."""
    db, conn = open_reader(store)
    try:
        routes, cell_route = load_routes(conn)
        eps = conn.execute(EPISODES_SQL).fetchall()
        calls = conn.execute(CALLS_SQL).fetchall()
        if reread_usage:
            calls = reread(calls, conn.execute(RAW_USAGE_SQL).fetchall())
        unfinished = conn.execute("SELECT COUNT(*) FROM episodes WHERE status != 'finished'").fetchone()[0]
        runs = [
            dict(zip(("id", "plan_path", "trusted", "hardware_json", "started_at"), r, strict=True))
            for r in conn.execute("SELECT id, plan_path, trusted, hardware_json, started_at FROM runs")
        ]
    finally:
        conn.close()
    eps = [e for e in eps if e[1] in cell_route]
    cols = list(zip(*eps, strict=True)) if eps else [()] * 21
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
        host_load=f(19),
        host_cpus=f(20),
    )
    data.passed &= ~data.infra
    apply_calls(data, calls)
    return data


def reread(calls: list[tuple[Any, ...]], raw: list[tuple[str | None, str | None]]) -> list[tuple[Any, ...]]:
    """Calls rows with their counts read again from the raw usage they kept (rows without one stay)."""
    out = []
    for row, (raw_json, shape) in zip(calls, raw, strict=True):
        if raw_json:
            usage = normalise_usage(json.loads(raw_json), shape)
            row = (row[0], *(getattr(usage, c) for c in USAGE_COLUMNS), *row[1 + len(USAGE_COLUMNS):])
        out.append(row)
    return out


def apply_calls(data: StoreData, rows: list[tuple[Any, ...]]) -> None:
    """Keep every call as arrays, and replace episode-level usage with the sums of its calls where the
    calls were recorded. Episodes without call rows become one call holding their own totals."""
    arr = np.array(rows, dtype=np.float64).reshape(len(rows), 13)  # None -> NaN
    pos = np.searchsorted(data.episode_id, arr[:, 0].astype(np.int64)) if data.n else np.zeros(0, np.int64)
    pos = np.clip(pos, 0, max(data.n - 1, 0))
    hit = (data.episode_id[pos] == arr[:, 0]) if data.n else np.zeros(0, bool)
    pos, arr = pos[hit], arr[hit]
    has_calls = np.zeros(data.n, dtype=bool)
    has_calls[pos] = True
    bare = np.flatnonzero(~has_calls)
    nan = np.full(len(bare), np.nan)
    zero = np.zeros(len(bare))
    column = {  # per call: recorded calls first, then one stand-in call per episode without rows
        "episode": np.concatenate([pos, bare]),
        "prompt": np.concatenate([arr[:, 1], data.prompt[bare]]),
        "cached": np.concatenate([arr[:, 2], data.cached[bare]]),
        "cache_write": np.concatenate([arr[:, 3], zero]),
        "cache_write_1h": np.concatenate([arr[:, 4], zero]),
        "completion": np.concatenate([arr[:, 5], data.completion[bare]]),
        "reasoning": np.concatenate([arr[:, 6], data.reasoning[bare]]),
        "wall_s": np.concatenate([arr[:, 7], data.call_seconds[bare]]),
        "compute_s": np.concatenate([arr[:, 8], nan]),
        "decode_n": np.concatenate([arr[:, 9], zero]),
        "decode_s": np.concatenate([arr[:, 10], zero]),
        "provider_cost": np.concatenate([arr[:, 11], nan]),
        "aborted": np.concatenate([arr[:, 12], zero]),
    }
    episode = column["episode"]
    data.call_episode = episode
    data.call_usage = CallUsage.of(**{k: column[k] for k in ("prompt", "cached", "cache_write", "cache_write_1h",
                                                              "completion", "reasoning", "wall_s", "compute_s")})
    data.call_provider_cost = column["provider_cost"]
    data.call_aborted = column["aborted"] > 0

    def per_episode(values: np.ndarray, sel: np.ndarray = pos) -> np.ndarray:
        summed: np.ndarray = np.bincount(episode[: len(sel)], weights=values[: len(sel)], minlength=data.n)[sel]
        return summed

    u = data.call_usage
    data.calls[pos] = np.bincount(pos, minlength=data.n)[pos]
    data.prompt[pos] = per_episode(u.prompt)
    data.cached[pos] = per_episode(u.cached)
    data.completion[pos] = per_episode(u.completion)
    data.reasoning[pos] = per_episode(u.reasoning)
    # Calls without a latency fall back to the episode's model time (already in call_seconds).
    latency = per_episode(u.wall_s)
    data.call_seconds[pos] = np.where(latency > 0, latency, data.call_seconds[pos])
    data.decode_tokens[pos] = per_episode(column["decode_n"])
    data.decode_seconds[pos] = per_episode(column["decode_s"])
