"""Store schema and export benchmarks. `.venv/bin/python benchmarks/bench_store.py` prints medians.

1. open an up-to-date store (what every command pays: header check, version, migrations table);
2. migrate a v1 store of 10,000 episodes and 100,000 calls to the current schema (copies of one
   store, each migrated once);
3. `perpass export` of that store: rows per second for csv, jsonl and parquet.
Targets: open ≤ 50 ms; migration ≤ 2 s; export ≥ 25,000 rows/s in every format (JSON Lines is
the slowest: one json encode per row in Python).
"""

from __future__ import annotations

import re
import shutil
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from _timing import bench

from perpass.analysis.synthetic import StoreBuilder
from perpass.runs.export import export_store
from perpass.runs.schema import MIGRATIONS, open_reader, open_writer

EPISODES = 10_000
CALLS_PER_EPISODE = 10


def build(db: Path) -> int:
    with StoreBuilder(db) as b:
        cells = [b.route(f"m{m}/baseline", prices={"input": 1.0, "output": 2.0}) for m in range(20)]
        for i in range(EPISODES):
            b.episode(cells[i % 20], f"t{i % 50}", repeat=i // 100, passed=i % 3 > 0,
                      calls=[(1000 + k, 100, 200, 0, 0.5) for k in range(CALLS_PER_EPISODE)])
    return EPISODES * (1 + CALLS_PER_EPISODE) + 20 + 1


def as_v1(db: Path) -> None:
    """Take the store back to what perpass 0.1.0 wrote: migration 0001 only, no migrations table. Undoes
    what every later migration added (read from the migrations themselves, so a new one needs no edit)."""
    conn = sqlite3.connect(db)
    for migration in reversed(MIGRATIONS[1:]):
        for table, column in re.findall(r"ALTER TABLE (\w+) ADD COLUMN (\w+)", migration.sql):
            conn.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        for table in re.findall(r"CREATE TABLE (?:IF NOT EXISTS )?(\w+)", migration.sql):
            conn.execute(f"DROP TABLE {table}")
    conn.execute("DROP TABLE schema_migrations")
    conn.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        db = root / "current" / "perpass.db"
        rows = build(db)

        def open_current() -> None:
            open_writer(db)[1].close()
            open_reader(db)[1].close()

        bench("open writer + reader (up to date)", open_current, 15)

        v1 = root / "v1.db"
        shutil.copy(db, v1)
        as_v1(v1)
        copies = []
        for i in range(5):
            copy = root / f"m{i}" / "perpass.db"
            copy.parent.mkdir()
            shutil.copy(v1, copy)
            copies.append(copy)
        times = []
        for copy in copies:
            start = time.perf_counter()
            open_writer(copy)[1].close()
            times.append(time.perf_counter() - start)
        print(f"{'migrate v1 (10,000 episodes) to current':<40} median {statistics.median(times) * 1000:7.1f} ms "
              f"(min {min(times) * 1000:.1f}, n={len(times)})")

        for fmt in ("csv", "jsonl", "parquet"):
            times = []
            for i in range(3):
                start = time.perf_counter()
                export_store(db.parent, root / f"out-{fmt}-{i}", fmt)  # type: ignore[arg-type]
                times.append(time.perf_counter() - start)
            median = statistics.median(times)
            print(f"{'export ' + fmt:<40} median {median:6.2f} s for {rows:,} rows: {rows / median:,.0f} rows/s")


if __name__ == "__main__":
    main()
