"""The run store: one SQLite file (WAL) per project folder, safe against a kill at any moment.

An episode row is written `started` when the episode begins and completed, with all its calls and
steps, in one transaction when it ends. A crash therefore leaves at most `started` rows, which are
never counted and are re-run on resume.
"""

from __future__ import annotations

import fcntl
import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Literal

import perpass
from perpass.errors import UserError
from perpass.runs.schema import DB_NAME, SCHEMA_VERSION, db_path, open_writer
from perpass.runs.status import INTERRUPTED, CellStatus, RunStatus

if TYPE_CHECKING:
    from perpass.agent.types import EpisodeResult
    from perpass.runs.plan import CellSpec, Plan
    from perpass.tasks import Task

EpisodeKey = tuple[int, str, int]  # (cell_id, task_hash, repeat)

__all__ = ["DB_NAME", "SCHEMA_VERSION", "Store", "db_path"]


class Store:
    """Open (or create) a run store. Thread-safe: one connection, writes serialised by a lock.

    The schema (and its migrations) belongs to `perpass.runs.schema`; this class reads and writes rows.
    """

    def __init__(self, path: Path, *, create: bool = True) -> None:
        self.path, self.db = open_writer(path, create=create)
        self.dir = self.path.parent
        self._lock = threading.RLock()
        self._live: BinaryIO | None = None  # held while a run of this process is in progress

    def close(self) -> None:
        self._release_live()
        self.db.close()

    # -- is a run in progress? ---------------------------------------------------------------------
    # A run holds a shared flock on STORE/perpass.db.lock while it runs; the kernel drops it when the
    # process dies however it dies, so `status` can tell a running cell from an interrupted one.

    @property
    def _lock_path(self) -> Path:
        return self.path.with_name(self.path.name + ".lock")

    def _hold_live(self) -> None:
        if self._live is None:
            self._live = self._lock_path.open("ab")
            fcntl.flock(self._live, fcntl.LOCK_SH)

    def _release_live(self) -> None:
        if self._live is not None:
            self._live.close()  # closing the file drops the lock
            self._live = None

    def run_in_progress(self) -> bool:
        """True while some `perpass run` (this process included) is running on this store."""
        if not self._lock_path.exists():
            return False
        with self._lock_path.open("rb") as probe:
            try:
                fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            return False

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")

    # -- runs, configs, tasks, cells ---------------------------------------------------------------

    def begin_run(self, plan: Plan, hardware: dict[str, Any] | None = None) -> int:
        """The run of this plan: the existing one when the same plan ran before (resume), else a new one."""
        plan_hash = plan.plan_hash()
        self._hold_live()
        with self.transaction() as db:
            row = db.execute(
                "SELECT id FROM runs WHERE plan_hash = ? ORDER BY id DESC LIMIT 1", (plan_hash,)
            ).fetchone()
            if row:
                run_id = int(row["id"])
                db.execute("UPDATE runs SET finished_at = NULL WHERE id = ?", (run_id,))
            else:
                cur = db.execute(
                    "INSERT INTO runs(plan_path, plan_hash, trusted, hardware_json, started_at, planned_episodes,"
                    " repeats, infra_retries, perpass_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        str(plan.source) if plan.source else None,
                        plan_hash,
                        int(plan.trusted),
                        json.dumps(hardware) if hardware else None,
                        time.time(),
                        plan.planned_episodes,
                        plan.repeats,
                        plan.spec.infra_retries,
                        perpass.__version__,
                    ),
                )
                run_id = int(cur.lastrowid or 0)
            for task in plan.tasks:
                self._ensure_task(db, task)
            for position, cell in enumerate(plan.cells):
                self._ensure_cell(db, run_id, cell, position, len(plan.tasks) * plan.repeats)
        return run_id

    def finish_run(self, run_id: int) -> None:
        with self.transaction() as db:
            db.execute("UPDATE runs SET finished_at = ? WHERE id = ?", (time.time(), run_id))
        self._release_live()

    @staticmethod
    def _ensure_task(db: sqlite3.Connection, task: Task) -> None:
        db.execute(
            "INSERT OR IGNORE INTO tasks(content_hash, task_id, tier, path) VALUES (?, ?, ?, ?)",
            (task.content_hash, task.id, task.tier, str(task.root)),
        )

    @staticmethod
    def _ensure_cell(
        db: sqlite3.Connection, run_id: int, cell: CellSpec, position: int, planned: int
    ) -> None:
        route = cell.route
        db.execute(
            "INSERT OR IGNORE INTO configs(config_hash, route_name, model, kind, config_json) "
            "VALUES (?, ?, ?, ?, ?)",
            (cell.config_hash, route.name, route.model, route.kind, route.model_dump_json()),
        )
        db.execute(
            "INSERT OR IGNORE INTO cells(run_id, model_key, label, config_hash, factor, level_json, changes_json,"
            " route_name, planned_episodes, position) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                run_id,
                cell.model_key,
                cell.label,
                cell.config_hash,
                cell.factor,
                json.dumps(cell.level) if cell.factor else None,
                json.dumps(cell.changes, sort_keys=True),
                cell.route_name,
                planned,
                position,
            ),
        )

    def cell_ids(self, run_id: int) -> dict[str, int]:
        """config_hash -> cell id for the run."""
        rows = self.db.execute("SELECT id, config_hash FROM cells WHERE run_id = ?", (run_id,)).fetchall()
        return {r["config_hash"]: int(r["id"]) for r in rows}

    def cell_status(self, cell_id: int) -> tuple[str, str | None]:
        row = self.db.execute("SELECT status, reason FROM cells WHERE id = ?", (cell_id,)).fetchone()
        return str(row["status"]), row["reason"]

    def set_cell_status(self, cell_id: int, status: str, reason: str | None = None) -> None:
        with self.transaction() as db:
            db.execute("UPDATE cells SET status = ?, reason = ? WHERE id = ?", (status, reason, cell_id))

    def record_stop(
        self, run_id: int, cell_id: int, tier: str, repeats: int, episodes: int, kind: str, reason: str
    ) -> None:
        """An adaptive plan stopped giving this cell episodes on this tier (kept once: stopping is final)."""
        with self.transaction() as db:
            db.execute(
                "INSERT OR IGNORE INTO allocation_stops(run_id, cell_id, tier, repeats, episodes, kind, reason, at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (run_id, cell_id, tier, repeats, episodes, kind, reason, time.time()),
            )

    def record_gate(
        self,
        run_id: int,
        route_name: str,
        config_hash: str,
        ok: bool,
        reason: str,
        smoke: dict[str, Any] | None,
        episode: dict[str, Any] | None,
    ) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO gates(run_id, route_name, config_hash, ok, reason, smoke_json, episode_json, at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    route_name,
                    config_hash,
                    int(ok),
                    reason,
                    json.dumps(smoke, default=str),
                    json.dumps(episode, default=str),
                    time.time(),
                ),
            )

    # -- episodes ----------------------------------------------------------------------------------

    def finished_keys(self, run_id: int) -> set[EpisodeKey]:
        """Episodes of the run already finished: the resume scan (one indexed query)."""
        rows = self.db.execute(
            "SELECT e.cell_id, e.task_hash, e.repeat FROM episodes e JOIN cells c ON c.id = e.cell_id "
            "WHERE c.run_id = ? AND e.status = 'finished'",
            (run_id,),
        ).fetchall()
        return {(int(r[0]), str(r[1]), int(r[2])) for r in rows}

    def start_episode(self, cell_id: int, task: Task, repeat: int) -> int:
        """Write (or re-open) the episode row as `started` and return its id."""
        now = time.time()
        with self.transaction() as db:
            row = db.execute(
                "SELECT id, status FROM episodes WHERE cell_id = ? AND task_hash = ? AND repeat = ?",
                (cell_id, task.content_hash, repeat),
            ).fetchone()
            if row is None:
                cur = db.execute(
                    "INSERT INTO episodes(cell_id, task_hash, task_id, tier, repeat, status, attempts, started_at)"
                    " VALUES (?, ?, ?, ?, ?, 'started', 1, ?)",
                    (cell_id, task.content_hash, task.id, task.tier, repeat, now),
                )
                return int(cur.lastrowid or 0)
            if row["status"] == "finished":
                raise RuntimeError(f"episode {row['id']} is already finished; the scheduler must skip it")
            # A crash left it 'started': clear whatever that attempt wrote and start it again.
            db.execute("DELETE FROM calls WHERE episode_id = ?", (row["id"],))
            db.execute("DELETE FROM steps WHERE episode_id = ?", (row["id"],))
            db.execute("UPDATE episodes SET attempts = 1, started_at = ? WHERE id = ?", (now, row["id"]))
            return int(row["id"])

    def retry_episode(self, episode_id: int) -> None:
        """Count one more infra re-try of a started episode."""
        with self.transaction() as db:
            db.execute("UPDATE episodes SET attempts = attempts + 1 WHERE id = ?", (episode_id,))

    def finish_episode(self, episode_id: int, result: EpisodeResult, *, infra: bool | None = None) -> None:
        """Complete the episode with its calls and steps, all in one transaction."""
        infra = result.infra if infra is None else infra
        step_rows, call_rows = [], []
        for step in result.steps:
            step_rows.append(
                (
                    episode_id,
                    step.index,
                    json.dumps(step.messages_in),
                    step.reply,
                    json.dumps(step.tool_calls) if step.tool_calls else None,
                    step.action,
                    step.observation,
                    step.exit_code,
                    step.action_s,
                    step.harness_s,
                )
            )
            u = step.usage
            call_rows.append(
                (
                    episode_id,
                    step.index,
                    u.prompt_tokens,
                    u.cached_prompt_tokens,
                    u.completion_tokens,
                    u.reasoning_tokens,
                    u.latency_s,
                    u.ttft_s,
                    u.finish_reason,
                    u.server_prompt_ms,
                    u.server_decode_ms,
                    u.server_prompt_n,
                    u.server_decode_n,
                    u.retries,
                    u.cache_write_tokens,
                    u.cache_write_1h_tokens,
                    json.dumps(u.raw_usage) if u.raw_usage else None,
                    u.shape,
                    u.provider_cost,
                    u.compute_s,
                    int(u.aborted),
                )
            )
        with self.transaction() as db:
            db.execute("DELETE FROM calls WHERE episode_id = ?", (episode_id,))
            db.execute("DELETE FROM steps WHERE episode_id = ?", (episode_id,))
            db.executemany(
                "INSERT INTO steps(episode_id, idx, messages_in_json, reply, tool_calls_json, action,"
                " observation, exit_code, action_s, harness_s) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                step_rows,
            )
            db.executemany(
                "INSERT INTO calls(episode_id, idx, prompt_tokens, cached_prompt_tokens, "
                "completion_tokens, reasoning_tokens, latency_s, ttft_s, finish_reason, "
                "server_prompt_ms, server_decode_ms, server_prompt_n, server_decode_n, retries, cache_write_tokens,"
                " cache_write_1h_tokens, raw_usage_json, usage_shape, provider_cost, compute_s, aborted) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                call_rows,
            )
            db.execute(
                "UPDATE episodes SET status = 'finished', stop_reason = ?, ceiling = ?, passed = ?, submitted = ?,"
                " infra = ?, turns = ?, calls = ?, prompt_tokens = ?, cached_prompt_tokens = ?,"
                " completion_tokens = ?, reasoning_tokens = ?, wall_s = ?, model_s = ?, verifier_output = ?,"
                " error = ?, transcript = ?, finished_at = ?, verdict_reason = ?, verdict_json = ?, host_load = ?,"
                " host_cpus = ?, agent = ?, agent_log = ? WHERE id = ?",
                (
                    result.stop_reason,
                    "infra" if infra else result.ceiling,
                    int(result.passed),
                    int(result.submitted),
                    int(infra),
                    result.turns,
                    result.calls,
                    result.prompt_tokens,
                    result.cached_prompt_tokens,
                    result.completion_tokens,
                    result.reasoning_tokens,
                    result.wall_s,
                    result.model_s,
                    result.verifier_output,
                    result.error,
                    result.transcript,
                    time.time(),
                    result.verdict.reason if result.verdict is not None else None,
                    # the tests' output is verifier_output already
                    result.verdict.model_dump_json(exclude={"output"}) if result.verdict is not None else None,
                    result.host_load,
                    result.host_cpus,
                    result.agent,
                    result.agent_log,
                    episode_id,
                ),
            )

    # -- reading -----------------------------------------------------------------------------------

    def latest_run_id(self) -> int | None:
        row = self.db.execute("SELECT id FROM runs ORDER BY started_at DESC, id DESC LIMIT 1").fetchone()
        return int(row["id"]) if row else None

    def status(self, run_id: int | None = None) -> dict[str, Any]:
        """`run_status` as the plain dict `run_plan` returns and `status --json` prints."""
        return self.run_status(run_id).model_dump(mode="json")

    def run_status(self, run_id: int | None = None) -> RunStatus:
        """Progress of a run (default: the latest): totals and one entry per cell."""
        run_id = run_id if run_id is not None else self.latest_run_id()
        if run_id is None:
            return RunStatus(run_id=None, trusted=True, planned=0, finished=0, started=0, infra=0, passed=0)
        run = self.db.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        if run is None:
            raise UserError(f"{self.path}: no run with id {run_id}; `perpass status` lists the latest")
        rows = self.db.execute(
            "SELECT c.id, c.model_key, c.label, c.route_name, c.factor, c.level_json, c.config_hash, c.status,"
            " c.reason, c.planned_episodes,"
            " SUM(e.status = 'finished') AS finished, SUM(e.status = 'started') AS started,"
            " SUM(e.status = 'finished' AND e.infra = 1) AS infra,"
            " SUM(e.status = 'finished' AND e.passed = 1)"
            " AS passed FROM cells c LEFT JOIN episodes e ON e.cell_id = c.id WHERE c.run_id = ?"
            " GROUP BY c.id ORDER BY c.position",
            (run_id,),
        ).fetchall()
        live = self.run_in_progress()
        cells = [
            CellStatus(
                id=r["id"],
                model=r["model_key"],
                label=r["label"],
                route=r["route_name"],
                factor=r["factor"],
                level=json.loads(r["level_json"]) if r["level_json"] else None,
                config_hash=r["config_hash"],
                status=INTERRUPTED if r["status"] == "running" and not live else r["status"],
                reason=r["reason"],
                planned=r["planned_episodes"],
                finished=r["finished"] or 0,
                started=r["started"] or 0,
                infra=r["infra"] or 0,
                passed=r["passed"] or 0,
            )
            for r in rows
        ]
        return RunStatus(
            run_id=run_id,
            plan=run["plan_path"],
            trusted=bool(run["trusted"]),
            planned=run["planned_episodes"],
            finished=sum(c.finished for c in cells),
            started=sum(c.started for c in cells),
            infra=sum(c.infra for c in cells),
            passed=sum(c.passed for c in cells),
            done=run["finished_at"] is not None,
            in_progress=live,
            cells=cells,
        )

    def finished_per_config(self, plan_hash: str) -> dict[str, int]:
        """Finished episodes per cell config in the run of this plan (what a resume will not redo)."""
        rows = self.db.execute(
            "SELECT c.config_hash, COUNT(e.id) FROM cells c JOIN episodes e ON e.cell_id = c.id"
            " WHERE e.status = 'finished' AND c.run_id = (SELECT MAX(id) FROM runs WHERE plan_hash = ?)"
            " GROUP BY c.config_hash",
            (plan_hash,),
        ).fetchall()
        return {str(r[0]): int(r[1]) for r in rows}

    def mean_episode_seconds(
        self, column: Literal["config_hash", "route_name"], keys: list[str]
    ) -> dict[str, float]:
        """Past mean wall time of finished episodes (any run) per cell config or route, for ETA estimates."""
        if not keys:
            return {}
        rows = self.db.execute(
            f"SELECT c.{column}, AVG(e.wall_s) FROM episodes e JOIN cells c ON c.id = e.cell_id "
            f"WHERE e.status = 'finished' AND e.wall_s IS NOT NULL AND c.{column} IN ({','.join('?' * len(keys))}) "
            f"GROUP BY c.{column}",
            keys,
        ).fetchall()
        return {str(r[0]): float(r[1]) for r in rows}
