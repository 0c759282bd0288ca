"""The one owner of the run store's schema: where the file is, its migrations, and how it is opened.

Every reader and writer of a run store opens it here (`open_writer`, `open_reader`); no other
module writes DDL. The schema is an ordered list of migrations (the pattern of Simon Willison's
`llm`): each has a name, is applied once, and is recorded in the `schema_migrations` table;
`PRAGMA user_version` holds how many are applied, so a perpass that knows fewer refuses the store
before touching it. Opening an older store applies the missing migrations in ONE transaction
(SQLite DDL is transactional): a kill half-way leaves the store exactly as it was.

Adding a column is one line here plus the line of the writer that fills it:

    MIGRATIONS = (
        ...,
        Migration("0003_calls_raw_usage", "ALTER TABLE calls ADD COLUMN raw_usage_json TEXT;"),
    )

Never edit or reorder a migration that has shipped; add the next one (see docs/contracts.md).

Why not sqlite-utils (which `llm` uses): the migrations perpass needs are plain ADD COLUMN / CREATE
TABLE statements, its `transform()` and `add_column()` manage transactions of their own while perpass
wants every pending migration and the version bump in one, and it would add six dependencies
(click, tabulate, sqlite-fts4, ...) to every install for what is some forty lines here.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from urllib.parse import quote

from perpass.errors import UserError

DB_NAME = "perpass.db"
SQLITE_HEADER = b"SQLite format 3\x00"
MIGRATIONS_TABLE = "schema_migrations"
UPGRADE_HINT = "upgrade perpass (pip install -U perpass)"


@dataclass(frozen=True)
class Migration:
    """One schema change. `sql` is one or more statements; they run inside the migration transaction."""

    name: str
    sql: str


def _sql_file(name: str) -> Migration:
    return Migration(name, files("perpass.runs").joinpath("migrations", f"{name}.sql").read_text())


MIGRATIONS: tuple[Migration, ...] = (
    _sql_file("0001_initial"),  # the schema perpass 0.1.0 created: version 1
    Migration("0002_runs_perpass_version", "ALTER TABLE runs ADD COLUMN perpass_version TEXT;"),
    _sql_file("0003_allocation_stops"),  # adaptive allocation: cells stopped early
    _sql_file("0004_episode_verdict"),  # the verifier's reason, per-test outcomes and evidence
    _sql_file("0005_call_billing"),  # raw usage, cache writes, reported cost, compute time, host load
    _sql_file("0006_episode_agent"),  # external agents: which one ran, and its own log
)
SCHEMA_VERSION = len(MIGRATIONS)


# -- where the store is -----------------------------------------------------------------------------


def db_path(store: Path) -> Path:
    """`store` names the store's folder (holding perpass.db) or the database file itself."""
    if store.is_dir():
        return store / DB_NAME
    if store.suffix == ".db" or store.is_file():
        return store
    return store / DB_NAME


def _refuse_non_store(db: Path) -> None:
    """One line for every path that exists but is no run store (a folder, a text file, ...), and for a
    store a newer perpass wrote: read from the file's header, before SQLite adds its -wal/-shm files."""
    if db.is_dir():
        raise UserError(f"{db}: is a folder, not a run store; move it away or pass --store another folder")
    if not db.is_file():
        raise UserError(f"{db}: not a regular file, not a run store; pass --store a folder")
    try:
        with db.open("rb") as handle:
            head = handle.read(100)
    except OSError as err:
        raise UserError(f"{db}: cannot read it ({err.strerror}); check its permissions") from None
    if not head and db.suffix == ".db":
        return  # an empty .db: SQLite creates the store in it
    if not head.startswith(SQLITE_HEADER):
        raise UserError(
            f"{db}: not a perpass run store (not a SQLite database); --store takes the store's folder"
        )
    if len(head) == 100:
        _refuse_newer(db, int.from_bytes(head[60:64], "big"))  # the header's copy of PRAGMA user_version


def _refuse_newer(db: Path, version: int) -> None:
    if version > SCHEMA_VERSION:
        raise UserError(
            f"{db}: store schema version {version} is newer than this perpass understands "
            f"({SCHEMA_VERSION}); {UPGRADE_HINT}"
        )


def _make_folder(folder: Path) -> None:
    for parent in (folder, *folder.parents):
        if parent.exists() and not parent.is_dir():
            raise UserError(f"{parent}: is a file, not a folder; --store takes a folder (or a .db file)")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UserError(f"{folder}: cannot create the store folder ({err.strerror})") from None


# -- migrations ------------------------------------------------------------------------------------


def statements(sql: str) -> Iterator[str]:
    """Split a script into statements without `executescript`, which would COMMIT the transaction."""
    buffer = ""
    for line in sql.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            yield buffer
            buffer = ""
    if any(line.strip() and not line.strip().startswith("--") for line in buffer.splitlines()):
        yield buffer  # a last statement without its semicolon


def user_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def applied_migrations(conn: sqlite3.Connection) -> list[str]:
    """Names of the applied migrations; a store older than the migrations table has applied the
    first `user_version` ones (perpass 0.1.0 wrote version 1 and no table)."""
    has_table = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (MIGRATIONS_TABLE,)
    ).fetchone()
    if has_table:
        return [r[0] for r in conn.execute(f"SELECT name FROM {MIGRATIONS_TABLE} ORDER BY rowid")]
    return [m.name for m in MIGRATIONS[: user_version(conn)]]


def check_version(conn: sqlite3.Connection, db: Path) -> int:
    """The store's version; a UserError when a newer perpass wrote it (nothing touched)."""
    try:
        version = user_version(conn)
        applied = applied_migrations(conn) if version else []
    except sqlite3.DatabaseError as err:
        raise UserError(f"{db}: not a perpass run store ({err}); point --store elsewhere") from None
    _refuse_newer(db, version)
    known = {m.name for m in MIGRATIONS}
    unknown = [name for name in applied if name not in known]
    if unknown:
        raise UserError(f"{db}: store has migration {unknown[0]}, unknown to this perpass; {UPGRADE_HINT}")
    return version


def migrate(conn: sqlite3.Connection, db: Path) -> list[str]:
    """Apply the missing migrations in one transaction; returns their names (empty when up to date).

    `conn` must be in autocommit mode (isolation_level=None): the transaction is explicit here.
    """
    if check_version(conn, db) == SCHEMA_VERSION:
        return []
    conn.execute("BEGIN IMMEDIATE")  # another process may be migrating: wait for it, then re-check
    try:
        done = set(applied_migrations(conn)) if check_version(conn, db) else set()
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} (name TEXT PRIMARY KEY, applied_at REAL)"
        )
        for name in sorted(done):  # a store from before the table: record what it already had
            conn.execute(f"INSERT OR IGNORE INTO {MIGRATIONS_TABLE}(name, applied_at) VALUES (?, NULL)", (name,))
        applied = []
        for migration in MIGRATIONS:
            if migration.name in done:
                continue
            for statement in statements(migration.sql):
                conn.execute(statement)
            conn.execute(
                f"INSERT INTO {MIGRATIONS_TABLE}(name, applied_at) VALUES (?, ?)", (migration.name, time.time())
            )
            applied.append(migration.name)
        conn.execute(
            "INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
        )
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")  # transactional: rolled back with the rest
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return applied


# -- opening ---------------------------------------------------------------------------------------


def _connect(db: Path, *, read_only: bool = False) -> sqlite3.Connection:
    target = f"file:{quote(str(db.absolute()))}?mode=ro" if read_only else str(db)
    try:
        return sqlite3.connect(target, uri=read_only, check_same_thread=False, isolation_level=None, timeout=30)
    except sqlite3.Error as err:
        raise UserError(f"{db}: cannot open the run store ({err})") from None


def open_writer(store: Path, *, create: bool = True) -> tuple[Path, sqlite3.Connection]:
    """The store's database path and a migrated, WAL-mode connection in autocommit mode.

    `create=False`: a missing store is a UserError saying how to make one.
    """
    db = db_path(store).absolute()  # episode folders hang off it; keep them absolute
    if db.exists():
        _refuse_non_store(db)
    elif not create:
        raise UserError(f"{db}: no run store here; run `perpass run PLAN --store {db.parent}` first")
    else:
        _make_folder(db.parent)
    conn = _connect(db)
    conn.row_factory = sqlite3.Row
    try:
        check_version(conn, db)  # before anything writes: WAL mode itself changes the file
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable across a process kill
        conn.execute("PRAGMA foreign_keys=ON")
        migrate(conn, db)
    except sqlite3.OperationalError as err:
        conn.close()
        raise UserError(f"{db}: cannot write the run store ({err}); check the folder's permissions") from None
    except BaseException:
        conn.close()
        raise
    return db, conn


def open_reader(store: Path) -> tuple[Path, sqlite3.Connection]:
    """A read-only connection to an existing store, migrated first when an older perpass wrote it."""
    db = db_path(store)
    if not db.exists():
        raise UserError(f"{db}: no run store here; run `perpass run PLAN` first or pass --store DIR")
    _refuse_non_store(db)
    conn = _connect(db, read_only=True)
    try:
        version = check_version(conn, db)
        if version == 0:
            raise UserError(f"{db}: an empty run store; run `perpass run PLAN --store {db.parent}` first")
    except BaseException:
        conn.close()
        raise
    if version < SCHEMA_VERSION:
        conn.close()
        _, writer = open_writer(db, create=False)
        writer.close()
        conn = _connect(db, read_only=True)
    return db, conn
