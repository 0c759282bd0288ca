"""Build run stores by hand: the real schema (opened through `perpass.runs.schema`), rows you choose.

Used by the analysis tests (stores where the right answer is known) and the benchmark
(10,000 episodes, 200,000 calls). It writes exactly the columns the runs stage writes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from perpass.runs.schema import open_writer

# (prompt, cached, completion, reasoning, latency_s[, cache_write, cache_write_1h, provider_cost]) per call
Call = tuple[int, int, int, int, float] | tuple[int, int, int, int, float, int, int, float | None]

STOP_OF_CEILING = {
    "turn": "turn_limit",
    "token": "context_limit",
    "capability": "submitted",
    "infra": "endpoint_error",
    None: "submitted",
}


class StoreBuilder:
    def __init__(self, db: Path, hardware: dict[str, Any] | None = None) -> None:
        _, self.conn = open_writer(db)
        self.conn.execute("BEGIN")  # one transaction for every row: committed by close()
        cur = self.conn.execute(
            "INSERT INTO runs (plan_path, plan_hash, hardware_json, started_at) VALUES (?, ?, ?, ?)",
            ("plan.yaml", "h", json.dumps(hardware or {}), time.time()),
        )
        self.run_id = int(cur.lastrowid or 0)
        self.tasks: set[str] = set()
        self.next_episode = 1

    def route(
        self,
        label: str,
        *,
        model_key: str | None = None,
        kind: str = "openai",
        prices: dict[str, float] | None = None,
        local_costs: dict[str, float] | None = None,
        factor: str | None = None,
        level: Any = None,
        config: dict[str, Any] | None = None,
        model: str | None = None,
    ) -> int:
        """Add a cell (and its config); returns the cell id."""
        body: dict[str, Any] = {
            "name": label.split("/")[0],
            "kind": kind,
            "model": model or label,
            "prices": prices,
            "local_costs": local_costs,
            **(config or {}),
        }
        chash = f"cfg-{label}"
        self.conn.execute(
            "INSERT INTO configs VALUES (?, ?, ?, ?, ?)",
            (chash, body["name"], body["model"], kind, json.dumps(body)),
        )
        cur = self.conn.execute(
            "INSERT INTO cells (run_id, model_key, label, config_hash, factor, level_json, changes_json,"
            " status) VALUES (?, ?, ?, ?, ?, ?, ?, 'done')",
            (
                self.run_id,
                model_key or label.split("/")[0],
                label,
                chash,
                factor,
                None if factor is None else json.dumps(level),
                json.dumps({} if factor is None else {factor: level}),
            ),
        )
        return int(cur.lastrowid or 0)

    def _task(self, task_id: str, tier: str) -> None:
        if task_id not in self.tasks:
            self.conn.execute(
                "INSERT INTO tasks VALUES (?, ?, ?, ?)", (f"h-{task_id}", task_id, tier, f"tasks/{task_id}")
            )
            self.tasks.add(task_id)

    def episode(
        self,
        cell: int,
        task_id: str,
        *,
        tier: str = "T1",
        repeat: int = 0,
        passed: bool = False,
        ceiling: str | None = "capability",
        submitted: bool | None = None,
        calls: Sequence[Call] = (),
        wall_s: float = 10.0,
        status: str = "finished",
        transcript: str | None = None,
    ) -> int:
        """Add an episode and its calls; returns the episode id. `ceiling` is ignored when passed."""
        self._task(task_id, tier)
        ceiling = None if passed else ceiling
        stop = STOP_OF_CEILING[ceiling]
        if submitted is None:
            submitted = stop == "submitted"
        eid = self.next_episode
        self.next_episode += 1
        sums = [sum(int(c[i] or 0) for c in calls) for i in range(4)]  # tokens: the first four fields
        self.conn.execute(
            "INSERT INTO episodes (id, cell_id, task_hash, task_id, tier, repeat, status, stop_reason,"
            " ceiling, passed, submitted, infra, turns, calls, prompt_tokens, cached_prompt_tokens,"
            " completion_tokens, reasoning_tokens, wall_s, model_s, transcript, started_at, finished_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                eid,
                cell,
                f"h-{task_id}",
                task_id,
                tier,
                repeat,
                status,
                stop,
                ceiling,
                int(passed),
                int(submitted),
                int(ceiling == "infra"),
                len(calls),
                len(calls),
                *sums,
                wall_s,
                sum(c[4] for c in calls),
                transcript or f"episodes/{eid}/transcript.json",
                0.0,
                1.0,
            ),
        )
        self.conn.executemany(
            "INSERT INTO calls (episode_id, idx, prompt_tokens, cached_prompt_tokens, completion_tokens,"
            " reasoning_tokens, latency_s, cache_write_tokens, cache_write_1h_tokens, provider_cost, finish_reason)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'stop')",
            [(eid, i, *c, *(None,) * (8 - len(c))) for i, c in enumerate(calls)],
        )
        return eid

    def close(self) -> None:
        self.conn.execute("COMMIT")
        self.conn.close()

    def __enter__(self) -> StoreBuilder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
