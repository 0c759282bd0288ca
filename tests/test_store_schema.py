"""The store's one schema owner: a v1 store written by perpass 0.1.0's own writer is migrated, a
failed migration leaves the file as it was, and a newer store is refused by every command."""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import sqlite3
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from conftest import run_perpass
from runs_helpers import small_tasks, solving_script, write_plan

from perpass.agent.types import EpisodeResult
from perpass.analysis.analyze import analyze
from perpass.analysis.decide import decision
from perpass.errors import UserError
from perpass.runs import schema
from perpass.runs.plan import load_plan
from perpass.runs.scheduler import run_plan
from perpass.runs.schema import MIGRATIONS, SCHEMA_VERSION, Migration, open_reader
from perpass.runs.store import Store

FIXTURES = Path(__file__).parent / "fixtures"
V1_TABLES = ("runs", "configs", "tasks", "cells", "episodes", "calls", "steps", "gates")  # meta: version


def store_v1() -> ModuleType:
    """perpass 0.1.0's run store writer, frozen in tests/fixtures."""
    spec = importlib.util.spec_from_file_location("store_v1", FIXTURES / "store_v1" / "store_v1.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["store_v1"] = module
    spec.loader.exec_module(module)
    return module


def as_0_1_0_writer(store_class: type[Any]) -> type[Any]:
    """The frozen writer takes results as 0.1.0 made them: a step's usage was a dict then."""

    class Writer(store_class):
        def finish_episode(self, episode_id: int, result: EpisodeResult, **kwargs: Any) -> None:
            steps = [dataclasses.replace(s, usage=dataclasses.asdict(s.usage)) for s in result.steps]
            super().finish_episode(episode_id, dataclasses.replace(result, steps=steps), **kwargs)

    return Writer


def v1_store(folder: Path) -> Path:
    """A real v1 store: a plan of a scripted solver and the oracle, run by today's scheduler into the
    0.1.0 writer. Returns the plan path."""
    routes = {"solver": {"kind": "scripted", "script": solving_script(small_tasks()), "prices": {
        "input": 1.0, "output": 4.0}}}
    plan_path = write_plan(folder, {"solver": {"route": "solver"}, "orc": {"route": "oracle"}}, routes)
    with as_0_1_0_writer(store_v1().Store)(folder / "runs") as old:
        status = run_plan(load_plan(plan_path), old)
    assert status["finished"] == 12 and status["passed"] == 12, status
    return plan_path


# Columns later migrations add to v1 tables (0002: runs.perpass_version; 0004: the episode's verdict;
# 0005: per-call billing and the host's load; 0006: the episode's agent and its log).
ADDED_COLUMNS = {"perpass_version", "verdict_reason", "verdict_json", "cache_write_tokens", "cache_write_1h_tokens",
                 "raw_usage_json", "usage_shape", "provider_cost", "compute_s", "aborted", "host_load", "host_cpus",
                 "agent", "agent_log"}


def rows(db: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every v1 column of every v1 table, in id order."""
    conn = sqlite3.connect(db)
    try:
        out = {}
        for table in V1_TABLES:
            columns = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
            columns = [c for c in columns if c not in ADDED_COLUMNS]
            out[table] = conn.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY rowid").fetchall()
        return out
    finally:
        conn.close()


def version_and_migrations(db: Path) -> tuple[int, list[tuple[str, bool]]]:
    conn = sqlite3.connect(db)
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        names = [(name, at is not None) for name, at in conn.execute(
            "SELECT name, applied_at FROM schema_migrations ORDER BY rowid")]
        return version, names
    finally:
        conn.close()


def test_a_v1_store_written_by_0_1_0_is_migrated_and_resumes(tmp_path: Path) -> None:
    plan_path = v1_store(tmp_path)
    db = tmp_path / "runs" / "perpass.db"
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    assert not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'schema_migrations'").fetchone()
    conn.close()
    before = rows(db)
    assert len(before["calls"]) > 0 and len(before["steps"]) > 0

    with Store(tmp_path / "runs") as store:
        assert rows(db) == before  # every row and value kept
        assert version_and_migrations(db) == (
            SCHEMA_VERSION, [("0001_initial", False), *((m.name, True) for m in MIGRATIONS[1:])])
        columns = [r[1] for r in store.db.execute("PRAGMA table_info(runs)")]
        assert "perpass_version" in columns
        assert store.db.execute("SELECT perpass_version FROM runs").fetchone()[0] is None  # unknown: not made up
        status = run_plan(load_plan(plan_path), store)  # resume: everything finished, nothing re-run
    assert status["finished"] == 12 and rows(db)["episodes"] == before["episodes"]
    an = analyze(tmp_path / "runs")
    assert an.data.n == 12 and int(an.data.passed.sum()) == 12
    assert float(an.data.prompt.sum()) > 0  # per-call usage read from the migrated calls table
    assert {c.route for c in decision(an).tiers["T1"].candidates} == {"solver/baseline", "orc/baseline"}


def test_readers_migrate_an_older_store_too(tmp_path: Path) -> None:
    v1_store(tmp_path)
    db = tmp_path / "runs" / "perpass.db"
    before = rows(db)
    proc = run_perpass("report", "--store", str(tmp_path / "runs"), "--out", str(tmp_path / "report.html"))
    assert proc.returncode == 0, proc.stderr
    assert version_and_migrations(db)[0] == SCHEMA_VERSION and rows(db) == before
    path, conn = open_reader(tmp_path / "runs")
    conn.close()
    assert path == db


def test_a_failed_migration_leaves_the_store_as_it_was(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Store(tmp_path).close()
    db = tmp_path / "perpass.db"
    digest = hashlib.sha256(db.read_bytes()).hexdigest()
    broken = (*MIGRATIONS, Migration("0099_good", "ALTER TABLE runs ADD COLUMN good TEXT;"),
              Migration("0100_bad", "CREATE TABLE fine (x);\nALTER TABLE no_such_table ADD COLUMN y TEXT;"))
    monkeypatch.setattr(schema, "MIGRATIONS", broken)
    monkeypatch.setattr(schema, "SCHEMA_VERSION", len(broken))
    with pytest.raises(UserError, match="no_such_table"):
        Store(tmp_path)
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert "good" not in [r[1] for r in conn.execute("PRAGMA table_info(runs)")]
    assert not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'fine'").fetchone()
    conn.close()
    assert hashlib.sha256(db.read_bytes()).hexdigest() == digest


def test_a_store_with_a_migration_unknown_here_is_refused(tmp_path: Path) -> None:
    Store(tmp_path).close()
    conn = sqlite3.connect(tmp_path / "perpass.db")
    conn.execute("UPDATE schema_migrations SET name = '0002_from_another_branch' WHERE name = ?",
                 (MIGRATIONS[1].name,))
    conn.commit()
    conn.close()
    with pytest.raises(UserError, match="0002_from_another_branch, unknown to this perpass"):
        Store(tmp_path)


def test_statements_are_split_without_committing() -> None:
    sql = "-- a comment; with a semicolon\nCREATE TABLE a (x TEXT DEFAULT ';');\nINSERT INTO a VALUES ('b;c')"
    assert [s.strip() for s in schema.statements(sql)] == [
        "-- a comment; with a semicolon\nCREATE TABLE a (x TEXT DEFAULT ';');", "INSERT INTO a VALUES ('b;c')"]


NEWER_COMMANDS = [
    ["status", "--store", "{store}"],
    ["status", "--json", "--store", "{store}"],
    ["report", "--store", "{store}", "--out", "{out}/report.html"],
    ["decide", "--store", "{store}", "--routing", "{out}/routing.yaml"],
    ["card", "--store", "{store}", "--out", "{out}/cards"],
    ["plan", "{plan}", "--store", "{store}"],
    ["run", "{plan}", "--store", "{store}", "--progress", "quiet"],
    ["export", "--store", "{store}", "--format", "csv", "--out", "{out}/export"],
]


@pytest.mark.parametrize("command", NEWER_COMMANDS, ids=lambda c: " ".join(c[:2]).replace("{store}", ""))
def test_every_command_refuses_a_newer_store_in_one_line(tmp_path: Path, command: list[str]) -> None:
    store = tmp_path / "store"
    Store(store).close()
    db = store / "perpass.db"
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    digest = hashlib.sha256(db.read_bytes()).hexdigest()
    listing = sorted(p.name for p in store.iterdir())
    plan = write_plan(tmp_path / "plan", {"orc": {"route": "oracle"}})
    out = tmp_path / "out"
    args = [a.format(store=store, out=out, plan=plan) for a in command]
    proc = run_perpass(*args)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and str(db) in lines[0] and f"version {SCHEMA_VERSION + 1} is newer" in lines[0], lines
    assert hashlib.sha256(db.read_bytes()).hexdigest() == digest
    assert sorted(p.name for p in store.iterdir()) == listing and not out.exists()


def test_only_the_schema_module_connects_or_writes_ddl() -> None:
    """One owner: no other module of perpass opens the store with sqlite3 or changes its schema."""
    src = Path(__file__).parent.parent / "src" / "perpass"
    owners = {src / "runs" / "schema.py"}
    offenders = []
    for path in src.rglob("*.py"):
        if path in owners or "packs" in path.parts:  # task packs are small user repositories
            continue
        text = path.read_text()
        for needle in ("sqlite3.connect(", "CREATE TABLE", "ALTER TABLE", "CREATE INDEX", "DROP TABLE",
                       "executescript("):
            if needle in text:
                offenders.append(f"{path.relative_to(src)}: {needle}")
    assert offenders == []
