"""`perpass export`: the run store's tables as Parquet, CSV or JSON Lines, one file per table.

For pandas, DuckDB, Polars or a notebook: `pd.read_parquet("export/episodes.parquet")`. Rows are
streamed in batches, so a store of any size exports in bounded memory. Columns keep the store's
names; SQL NULL is null in Parquet and JSON Lines and an empty field in CSV. Parquet goes through
pyarrow (the optional extra `perpass[export]`); CSV and JSON Lines need nothing.
"""

from __future__ import annotations

import csv
import json
import sqlite3
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from perpass import files
from perpass.errors import UserError
from perpass.runs.schema import open_reader

ExportFormat = Literal["parquet", "csv", "jsonl"]
FORMATS: tuple[ExportFormat, ...] = ("parquet", "csv", "jsonl")
SUFFIX = {"parquet": ".parquet", "csv": ".csv", "jsonl": ".jsonl"}
BATCH = 5000


@dataclass(frozen=True)
class TableExport:
    name: str  # the file's name
    table: str  # the store table its rows come from
    sql: str


# A cell carries its config (model, kind, the full route JSON), so one file says what each cell ran.
TABLES = (
    TableExport("runs", "runs", "SELECT * FROM runs ORDER BY id"),
    TableExport(
        "cells", "cells",
        "SELECT c.*, g.model, g.kind, g.config_json FROM cells c JOIN configs g ON g.config_hash = c.config_hash"
        " ORDER BY c.id",
    ),
    TableExport("episodes", "episodes", "SELECT * FROM episodes ORDER BY id"),
    TableExport("steps", "steps", "SELECT * FROM steps ORDER BY episode_id, idx"),
    TableExport("calls", "calls", "SELECT * FROM calls ORDER BY episode_id, idx"),
)


@dataclass(frozen=True)
class Exported:
    table: str
    path: Path
    rows: int


def column_types(conn: sqlite3.Connection, table: str) -> dict[str, str]:
    """Declared SQLite type of each column (INTEGER, REAL, TEXT), for typed Parquet columns."""
    return {r[1]: (r[2] or "TEXT").upper() for r in conn.execute(f"PRAGMA table_info({table})")}


def batches(conn: sqlite3.Connection, sql: str) -> tuple[list[str], Iterator[list[tuple[Any, ...]]]]:
    cursor = conn.execute(sql)
    names = [d[0] for d in cursor.description]

    def rows() -> Iterator[list[tuple[Any, ...]]]:
        while chunk := cursor.fetchmany(BATCH):
            yield chunk

    return names, rows()


def _write_csv(path: Path, names: list[str], chunks: Iterator[list[tuple[Any, ...]]]) -> int:
    count = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(names)
        for chunk in chunks:
            writer.writerows(chunk)
            count += len(chunk)
    return count


def _write_jsonl(path: Path, names: list[str], chunks: Iterator[list[tuple[Any, ...]]]) -> int:
    count = 0
    encode = json.JSONEncoder(ensure_ascii=False, check_circular=False).encode  # one encoder, not one a row
    with path.open("w", encoding="utf-8") as handle:
        for chunk in chunks:
            handle.writelines(encode(dict(zip(names, row, strict=True))) + "\n" for row in chunk)
            count += len(chunk)
    return count


def _arrow_type(declared: str) -> Any:
    import pyarrow as pa

    if "INT" in declared:
        return pa.int64()
    if "REAL" in declared or "FLOA" in declared or "DOUB" in declared:
        return pa.float64()
    return pa.string()


def _write_parquet(path: Path, names: list[str], chunks: Iterator[list[tuple[Any, ...]]],
                   types: dict[str, str]) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([(n, _arrow_type(types.get(n, "TEXT"))) for n in names])
    count = 0
    with pq.ParquetWriter(path, schema) as writer:
        for chunk in chunks:
            columns = list(zip(*chunk, strict=True))
            writer.write_table(pa.Table.from_arrays(
                [pa.array(col, type=field.type) for col, field in zip(columns, schema, strict=True)], schema=schema))
            count += len(chunk)
        if count == 0:
            writer.write_table(schema.empty_table())
    return count


def require_pyarrow() -> None:
    try:
        import pyarrow  # noqa: F401
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        raise UserError(
            "--format parquet needs pyarrow: pip install 'perpass[export]' (or use --format csv or jsonl)"
        ) from None


def export_store(store: Path, out: Path, fmt: ExportFormat) -> list[Exported]:
    """Write every table of the store to `out` as `<table><suffix>`; each file appears whole or not at all."""
    if fmt not in FORMATS:
        raise UserError(f"--format {fmt}: use one of {', '.join(FORMATS)}")
    if fmt == "parquet":
        require_pyarrow()
    _, conn = open_reader(store)
    try:
        files.output_folder(out)
        done: list[Exported] = []
        with ExitStack() as renames:  # every file is renamed into place only once all are written
            for spec in TABLES:
                path = out / f"{spec.name}{SUFFIX[fmt]}"
                tmp = renames.enter_context(files.atomic_path(path))
                names, chunks = batches(conn, spec.sql)
                if fmt == "csv":
                    count = _write_csv(tmp, names, chunks)
                elif fmt == "jsonl":
                    count = _write_jsonl(tmp, names, chunks)
                else:
                    types = {**column_types(conn, "configs"), **column_types(conn, spec.table)}
                    count = _write_parquet(tmp, names, chunks, types)
                done.append(Exported(spec.name, path, count))
    finally:
        conn.close()
    return done
