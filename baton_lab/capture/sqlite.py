"""Reading the current batons from the server's SQLite file, read-only and safe while the server runs.

session-baton: `batons(namespace, updated_at, data)`; memhall: `batons(tenant_id, namespace, updated_at,
data, revision)`. The file is opened with `mode=ro` (never `immutable`, which would be unsafe while the
server writes): SQLite's WAL gives a consistent snapshot without blocking the writer. Each row becomes an
API envelope `{"baton", "namespace", "updated_at", "revision"}`, so the api-envelope importer reads it.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from urllib.parse import quote

from .source import CaptureFailed, Fetched

SQLITE_MAGIC = b"SQLite format 3\x00"


def is_sqlite(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(16) == SQLITE_MAGIC
    except OSError:
        return False


def fetch(path: str | Path, namespace: str | None = None, tenant: str | None = None, *,
          timeout: float | None = None) -> list[Fetched]:
    db = Path(path)
    if not db.is_file():
        raise CaptureFailed(f"no such SQLite file: {db}")
    uri = f"file:{quote(str(db.resolve()))}?mode=ro"
    try:
        con = sqlite3.connect(uri, uri=True, timeout=timeout or 5.0)
    except sqlite3.Error as exc:
        raise CaptureFailed(f"cannot open {db} read-only: {exc}") from None
    try:
        columns = {row[1] for row in con.execute("PRAGMA table_info(batons)").fetchall()}
        if not {"namespace", "updated_at", "data"} <= columns:
            raise CaptureFailed(f"{db} has no batons(namespace, updated_at, data) table: not a session-baton or memhall store")
        has_tenant, has_revision = "tenant_id" in columns, "revision" in columns
        select = (f"SELECT namespace, updated_at, data, {'tenant_id' if has_tenant else 'NULL'}, "
                  f"{'revision' if has_revision else 'NULL'} FROM batons")
        where, params = [], []
        if namespace is not None:
            where.append("namespace = ?")
            params.append(namespace)
        if tenant is not None and has_tenant:
            where.append("tenant_id = ?")
            params.append(tenant)
        query = select + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY namespace"
        rows = con.execute(query, params).fetchall()
    except sqlite3.Error as exc:
        raise CaptureFailed(f"cannot read {db}: {exc}") from None
    finally:
        con.close()
    tenants = {row[3] for row in rows}
    fetched = []
    for ns, updated_at, data, tenant_id, revision in rows:
        # Several memhall tenants may use the same namespace: keep their histories apart.
        name = ns if tenant is not None or len(tenants) <= 1 else f"{tenant_id}/{ns}"
        try:
            baton = json.loads(data)
        except (TypeError, json.JSONDecodeError):
            baton = data  # kept as text: the importer quarantines it as "not a baton"
        envelope = {"baton": baton, "namespace": name, "updated_at": updated_at}
        if revision is not None:
            envelope["revision"] = revision
        where_row = f"{db}#tenant={tenant_id}/namespace={ns}" if tenant_id is not None else f"{db}#namespace={ns}"
        fetched.append(Fetched(namespace=name, data=json.dumps(envelope, ensure_ascii=False).encode(), uri=where_row,
                               tenant_id=tenant_id))
    return fetched
