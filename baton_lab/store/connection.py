"""Opening the store: default path, read-only or writable, locking, the schema version and forward migrations."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import duckdb

from ..errors import NotAStore, StoreDamaged, StoreNotFound, StoreTooNew
from . import faults
from .ddl import create_table_sql  # reads the pandera models only when a table is created

DEFAULT_DB = "baton_lab.duckdb"
ENV_VAR = "BATON_LAB_DB"


def resolve_path(path: str | os.PathLike[str] | None) -> Path:
    """--db / path= wins, then $BATON_LAB_DB, then ./baton_lab.duckdb."""
    if path is not None:
        return Path(path)
    return Path(os.environ.get(ENV_VAR) or DEFAULT_DB)


# Each migration names the tables it creates, so a later model change cannot alter what an old step did.
_TABLES_V1 = ("sources", "snapshots", "open_loops", "follow_ups", "patterns", "pattern_occurrences", "decisions",
              "events", "quarantine", "infra_state", "discovery_cache", "session_bridge", "patch_proposals",
              "namespace_order")


def _migration_1(con: duckdb.DuckDBPyConnection) -> None:
    """Schema 1: the canonical tables of concepts.md §2 plus the v2 sections."""
    for name in _TABLES_V1:
        con.execute(create_table_sql(name))


def _migration_2(con: duckdb.DuckDBPyConnection) -> None:
    """Schema 2: the `captures` log (one row per namespace per capture run, failures included)."""
    con.execute(create_table_sql("captures"))


def _migration_3(con: duckdb.DuckDBPyConnection) -> None:
    """Schema 3: formats beyond Session Baton keep their own status word (`status_raw`) and Beads' `defer_until`."""
    for table in ("open_loops", "follow_ups", "patterns", "decisions"):
        con.execute(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS status_raw VARCHAR")
    con.execute("ALTER TABLE follow_ups ADD COLUMN IF NOT EXISTS defer_until VARCHAR")


_TABLES_ORG = ("repositories", "changes", "change_files", "conflicts", "rework", "line_fates")


def _migration_4(con: duckdb.DuckDBPyConnection) -> None:
    """Schema 4: the org view of concepts.md §2c (a git repository's changes, conflicts, rework, line fates)."""
    for name in _TABLES_ORG:
        con.execute(create_table_sql(name))


# Forward migrations: index i migrates schema version i to i + 1. Append, never edit.
MIGRATIONS: list[Callable[[duckdb.DuckDBPyConnection], None]] = [_migration_1, _migration_2, _migration_3, _migration_4]
SCHEMA_VERSION = len(MIGRATIONS)


def _schema_version(con: duckdb.DuckDBPyConnection) -> int:
    con.execute("CREATE TABLE IF NOT EXISTS baton_lab_meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
    rows = con.execute("SELECT value FROM baton_lab_meta WHERE key = 'schema_version'").fetchall()
    row = rows[0] if rows else None
    return int(row[0]) if row else 0


def migrate(con: duckdb.DuckDBPyConnection) -> int:
    version = _schema_version(con)
    if version > SCHEMA_VERSION:
        raise StoreTooNew(f"store schema version {version} is newer than this baton-lab understands ({SCHEMA_VERSION})")
    if version == SCHEMA_VERSION:
        return version
    con.execute("BEGIN TRANSACTION")
    try:
        for step in MIGRATIONS[version:]:
            step(con)
        con.execute("INSERT OR REPLACE INTO baton_lab_meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return SCHEMA_VERSION


# Nothing is fetched at run time: DuckDB would otherwise download an extension to read, say, a SQLite file
# named by --db.
CONFIG = {"autoload_known_extensions": False, "autoinstall_known_extensions": False}


def connect(path: str | os.PathLike[str] | None, *, read_only: bool = False,
            create: bool = True) -> duckdb.DuckDBPyConnection:
    """Open the store. `read_only` never writes to the file (read-only files and folders can be read);
    otherwise a missing store is created when `create`, and an older one migrated. Another program's DuckDB
    database is refused, never modified; another process writing gives `StoreLocked`."""
    db = resolve_path(path)
    if db.is_dir():
        raise NotAStore(f"{db} is a folder, not a store file", hint=f"name a file, e.g. --db {db / DEFAULT_DB}")
    if not db.exists():
        if read_only or not create:
            raise StoreNotFound(f"no store at {db}")
        try:
            db.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise (faults.explain(exc, db) or exc) from None
        return _open_migrated(db)
    if not read_only and not db.with_name(db.name + ".wal").exists():
        return _open_writable(db)
    probe = open_duckdb(db, read_only=True)
    try:
        version = stored_version(probe, db)
    except BaseException:
        probe.close()
        raise
    if version > SCHEMA_VERSION:
        probe.close()
        raise StoreTooNew(f"store schema version {version} is newer than this baton-lab understands ({SCHEMA_VERSION})")
    if read_only and version == 0:
        probe.close()
        raise NotAStore(f"{db} is an empty DuckDB database, not yet a baton_lab store",
                        hint="`baton-lab import` (or `capture`) initialises it; read commands never write")
    if read_only and version == SCHEMA_VERSION:
        return probe
    probe.close()
    con = _open_migrated(db)
    if not read_only:
        return con
    con.close()  # migrated an older store forward; reading goes on read-only
    return open_duckdb(db, read_only=True)


def open_duckdb(db: Path, *, read_only: bool) -> duckdb.DuckDBPyConnection:
    try:
        con = duckdb.connect(str(db), read_only=read_only, config=CONFIG)
    except (duckdb.Error, OSError) as exc:
        raise (faults.explain(exc, db) or exc) from None  # in use by another process, not DuckDB, damaged…
    con.execute("SET TimeZone = 'UTC'")
    # A library must not draw on the user's terminal; the CLI shows its own progress.
    try:
        con.execute("SET enable_progress_bar = false")
    except duckdb.InvalidInputException:
        pass  # Jupyter without ipywidgets: DuckDB refuses the setting, and its bar is already off there
    return con


def _open_writable(db: Path) -> duckdb.DuckDBPyConnection:
    """One writable open of an existing store, checked before anything is written: opening a DuckDB file writable
    and reading it changes nothing (no checkpoint without a WAL to replay, which `connect` opens read-only first), so
    another program's database is still refused unmodified, and a capture pays one open instead of two."""
    def check_then_migrate(con: duckdb.DuckDBPyConnection) -> None:
        version = stored_version(con, db)
        if version > SCHEMA_VERSION:
            raise StoreTooNew(f"store schema version {version} is newer than this baton-lab understands ({SCHEMA_VERSION})")
        if version < SCHEMA_VERSION:
            migrate(con)

    return _opened(db, check_then_migrate)


def _open_migrated(db: Path) -> duckdb.DuckDBPyConnection:
    return _opened(db, migrate)


def _opened(db: Path, prepare: Callable[[duckdb.DuckDBPyConnection], object]) -> duckdb.DuckDBPyConnection:
    """The store opened writable and `prepare`d; closed again, with the fault explained, when preparing fails."""
    con = open_duckdb(db, read_only=False)
    try:
        prepare(con)
    except BaseException as exc:
        con.close()
        if isinstance(exc, (duckdb.Error, OSError)):
            raise (faults.explain(exc, db) or exc) from None
        raise
    return con


def stored_version(con: duckdb.DuckDBPyConnection, db: Path) -> int:
    """The store's schema version; 0 for an empty database. Another program's database is refused here,
    before anything could write to it."""
    try:
        tables = [row[0] for row in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
            "UNION ALL SELECT view_name FROM duckdb_views() WHERE database_name = current_database() "
            "AND NOT internal ORDER BY 1").fetchall()]
        if "baton_lab_meta" not in tables:
            if tables:
                shown = ", ".join(tables[:5]) + (", …" if len(tables) > 5 else "")
                raise NotAStore(f"{db} is another program's DuckDB database (tables: {shown}), not a baton_lab "
                                "store; it was not modified")
            return 0
        rows = con.execute("SELECT value FROM baton_lab_meta WHERE key = 'schema_version'").fetchall()
    except duckdb.Error as exc:
        raise (faults.explain(exc, db) or exc) from None
    try:
        return int(rows[0][0]) if rows else 0
    except ValueError:
        raise StoreDamaged(f"the store {db} is damaged: its schema version {rows[0][0]!r} is not a number") from None
