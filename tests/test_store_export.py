"""`perpass export`: every table of the store, in each format, reads back to the store's own rows."""

from __future__ import annotations

import csv
import json
import os
import sqlite3
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from conftest import run_perpass

from perpass.analysis.synthetic import StoreBuilder
from perpass.runs.export import TABLES

EXPECTED_TABLES = {"runs", "cells", "episodes", "steps", "calls"}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("export") / "runs"
    with StoreBuilder(folder / "perpass.db") as b:
        a = b.route("a/baseline", prices={"input": 1.0, "output": 2.0})
        c = b.route("a/temperature=0.7", factor="temperature", level=0.7, prices={"input": 1.0, "output": 2.0})
        for cell in (a, c):
            for r in range(3):
                b.episode(cell, "t1-x", repeat=r, passed=r != 1, calls=[(120, 20, 30, 5, 0.25), (200, 0, 40, 0, 0.5)])
        b.episode(a, "t1-y", status="started")  # an interrupted episode is exported too, as it is stored
    conn = sqlite3.connect(folder / "perpass.db")
    conn.execute("INSERT INTO steps (episode_id, idx, reply, observation, exit_code) VALUES"
                 " (1, 0, 'héllo, \"quoted\"\nsecond line', NULL, 0)")
    conn.commit()
    conn.close()
    return folder


def store_rows(store: Path, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(store / "perpass.db")
    try:
        return [tuple(r) for r in conn.execute(sql)]
    finally:
        conn.close()


@pytest.mark.parametrize("fmt", ["parquet", "csv", "jsonl"])
def test_each_table_reads_back_to_the_store_rows(store: Path, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / "out"
    proc = run_perpass("export", "--store", str(store), "--format", fmt, "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert {p.name for p in out.iterdir()} == {f"{t}.{fmt}" for t in EXPECTED_TABLES}  # nothing else left
    for spec in TABLES:
        want = store_rows(store, spec.sql)
        path = out / f"{spec.name}.{fmt}"
        if fmt == "parquet":
            table = pq.read_table(path)
            got = [tuple(row.values()) for row in table.to_pylist()]
            assert got == want, spec.name
        elif fmt == "jsonl":
            got = [tuple(json.loads(line).values()) for line in path.read_text(encoding="utf-8").splitlines()]
            assert got == want, spec.name
        else:
            with path.open(newline="", encoding="utf-8") as handle:
                got_text = list(csv.reader(handle))[1:]
            assert got_text == [["" if v is None else str(v) for v in row] for row in want], spec.name
    assert len(store_rows(store, "SELECT * FROM episodes")) == 7


def test_parquet_columns_are_typed(store: Path, tmp_path: Path) -> None:
    run_perpass("export", "--store", str(store), "--format", "parquet", "--out", str(tmp_path))
    schema = pq.read_schema(tmp_path / "episodes.parquet")
    assert str(schema.field("passed").type) == "int64" and str(schema.field("wall_s").type) == "double"
    assert str(schema.field("task_id").type) == "string"
    assert str(pq.read_schema(tmp_path / "cells.parquet").field("config_json").type) == "string"


def test_parquet_without_pyarrow_is_one_line_naming_the_extra(store: Path, tmp_path: Path) -> None:
    hidden = tmp_path / "hidden"
    (hidden / "pyarrow").mkdir(parents=True)
    (hidden / "pyarrow" / "__init__.py").write_text("raise ImportError('no pyarrow here')\n")
    env = {**os.environ, "PYTHONPATH": str(hidden)}
    proc = run_perpass("export", "--store", str(store), "--out", str(tmp_path / "out"), env=env)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert "pip install 'perpass[export]'" in proc.stderr and not (tmp_path / "out").exists()
