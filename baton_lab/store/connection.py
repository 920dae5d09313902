"""Opening the store: default path, locking, the schema version and forward migrations."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import duckdb

from ..errors import BatonLabError, StoreLocked, StoreTooNew
from .ddl import create_table_sql

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


_TABLES_ORG = ("repositories", "changes", "change_files", "conflicts", "rework", "line_fates")


def _migration_3(con: duckdb.DuckDBPyConnection) -> None:
    """Schema 3: the org view of concepts.md §2c (a git repository's changes, conflicts, rework, line fates)."""
    for name in _TABLES_ORG:
        con.execute(create_table_sql(name))


# Forward migrations: index i migrates schema version i to i + 1. Append, never edit.
MIGRATIONS: list[Callable[[duckdb.DuckDBPyConnection], None]] = [_migration_1, _migration_2, _migration_3]
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


def connect(path: str | os.PathLike[str] | None, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open (and create or migrate) the store. Another process holding it gives `StoreLocked`."""
    db = resolve_path(path)
    if read_only and not db.exists():
        # A read on a store that does not exist yet sees an empty store, not an error.
        read_only = False
    if not read_only:
        db.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(db), read_only=read_only)
    except duckdb.IOException as exc:
        message = str(exc)
        if "lock" in message.lower():
            holder = message.split("Conflicting lock is held in", 1)[-1].strip().splitlines()[0] if "Conflicting lock" in message else ""
            detail = f" (held by {holder})" if holder else ""
            raise StoreLocked(f"the store {db} is in use by another process{detail}") from None
        raise BatonLabError(f"cannot open the store {db}: {message.splitlines()[0]}",
                            hint="is it a DuckDB file? use --db to point at another store") from None
    con.execute("SET TimeZone = 'UTC'")
    # A library must not draw on the user's terminal; the CLI shows its own progress.
    try:
        con.execute("SET enable_progress_bar = false")
    except duckdb.InvalidInputException:
        pass  # Jupyter without ipywidgets: DuckDB refuses the setting, and its bar is already off there
    if read_only:
        version = _read_version(con)
        if version > SCHEMA_VERSION:
            con.close()
            raise StoreTooNew(f"store schema version {version} is newer than this baton-lab understands ({SCHEMA_VERSION})")
        if version < SCHEMA_VERSION:
            con.close()
            return connect(db, read_only=False)
        return con
    migrate(con)
    return con


def _read_version(con: duckdb.DuckDBPyConnection) -> int:
    try:
        rows = con.execute("SELECT value FROM baton_lab_meta WHERE key = 'schema_version'").fetchall()
    except duckdb.CatalogException:
        return 0
    return int(rows[0][0]) if rows else 0
