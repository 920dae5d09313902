"""memory-hall's SQLite file as a source: its `entries` table, read-only (`mode=ro`, safe while the server writes:
WAL gives a consistent snapshot), as one document in the shape of a `GET /v1/memory` listing, so the
`memhall_entries` format reads both. The JSON columns (`tags_json`, `references_json`, `metadata_json`) are parsed
back to what the API returns; a value that is not JSON is kept as text."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Iterator
from urllib.parse import quote

from .base import Record, SourceInfo, SourceReader
from .files import mtime

SQLITE_MAGIC = b"SQLite format 3\x00"
JSON_COLUMNS = {"tags_json": "tags", "references_json": "references", "metadata_json": "metadata"}


def is_sqlite(head: bytes) -> bool:
    return head.startswith(SQLITE_MAGIC)


def _connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=ro", uri=True, timeout=5.0)


def has_entries(path: Path) -> bool:
    try:
        con = _connect(path)
        try:
            columns = {row[1] for row in con.execute("PRAGMA table_info(entries)").fetchall()}
        finally:
            con.close()
    except sqlite3.Error:
        return False
    return {"entry_id", "namespace", "type", "content", "created_at"} <= columns


def _value(column: str, value: object) -> object:
    if column in JSON_COLUMNS and isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _records(path: Path, info: SourceInfo, format_name: str) -> Iterator[Record]:
    try:
        con = _connect(path)
        try:
            cursor = con.execute("SELECT * FROM entries ORDER BY created_at, entry_id")
            names = [d[0] for d in cursor.description]
            entries = [{JSON_COLUMNS.get(n, n): _value(n, v) for n, v in zip(names, row)} for row in cursor.fetchall()]
        finally:
            con.close()
    except sqlite3.Error as exc:
        yield Record(info, None, "", error=f"cannot read the entries table: {exc}", observed_at=mtime(path),
                     observed_kind="file_mtime")
        return
    doc = {"entries": entries, "next_cursor": None}
    yield Record(info, "table entries", json.dumps(doc, ensure_ascii=False, default=str)[:2000], doc=doc,
                 observed_at=mtime(path), observed_kind="file_mtime", format=format_name)


def reader(path: Path, sha: str, size: int, format_name: str) -> SourceReader:
    info = SourceInfo(uri=str(path), sha256=sha, size_bytes=size, container="memhall-sqlite")
    return SourceReader(info, lambda: _records(path, info, format_name))
