"""The Session Baton server's SQLite file: one row per namespace, the latest write only."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ..model import SessionSnapshot
from .files import compact

SCHEMA = "CREATE TABLE IF NOT EXISTS batons (namespace TEXT PRIMARY KEY, updated_at TEXT NOT NULL, data TEXT NOT NULL)"
UPSERT = (
    "INSERT INTO batons (namespace, updated_at, data) VALUES (?, ?, ?) "
    "ON CONFLICT(namespace) DO UPDATE SET updated_at = excluded.updated_at, data = excluded.data"
)


def write_sqlite(path: Path, finals: list[SessionSnapshot]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    con = sqlite3.connect(path)
    try:
        con.execute(SCHEMA)
        con.executemany(UPSERT, [(s.namespace, s.server_updated_at, compact(s.v1)) for s in finals])
        con.commit()
    finally:
        con.close()
    return 1
