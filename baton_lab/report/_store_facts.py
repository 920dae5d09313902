"""What the report says about the data itself: quality (what was lost, unseen or guessed) and provenance."""

from __future__ import annotations

import hashlib
import platform
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from typing import Any

import duckdb
import polars as pl

from ..store import connection, info

QUARANTINE_SHOWN = 25
SOURCES_SHOWN = 40
_VERSIONED = ("duckdb", "polars", "pyarrow", "pandera", "scipy", "altair", "vl-convert-python", "jinja2")


@dataclass(frozen=True)
class Quality:
    namespaces: pl.DataFrame          # namespace, snapshots, schema_versions, order_rule, first/last seen
    quarantine_by_reason: pl.DataFrame  # kind, reason, rows
    quarantine: pl.DataFrame          # every quarantine row, with where and why
    captures: pl.DataFrame            # namespace, runs, failed, unseen_revisions
    stored_snapshots: int

    @property
    def quarantine_sample(self) -> pl.DataFrame:
        return self.quarantine.head(QUARANTINE_SHOWN)

    @property
    def quarantine_total(self) -> int:
        return self.quarantine.height


def quality(con: duckdb.DuckDBPyConnection, namespaces: list[str] | None) -> Quality:
    ns = info.namespaces(con)
    if namespaces:
        ns = ns.filter(pl.col("namespace").is_in(namespaces))
    quarantine = info.quarantine(con)
    if namespaces:
        # document-level rows often have no namespace (the document could not be read); keep them
        quarantine = quarantine.filter(pl.col("namespace").is_null() | pl.col("namespace").is_in(namespaces))
    by_reason = (quarantine.with_columns(pl.col("reason").str.slice(0, 160))
                 .group_by("kind", "reason").agg(rows=pl.len()).sort("rows", "kind", descending=[True, False]))
    captures = con.sql("""
        SELECT namespace, count(*) AS runs, count(*) FILTER (WHERE NOT ok) AS failed,
               coalesce(sum(unseen_revisions), 0) AS unseen_revisions
        FROM captures GROUP BY namespace ORDER BY namespace""").pl()
    if namespaces:
        captures = captures.filter(pl.col("namespace").is_in(namespaces))
    return Quality(ns, by_reason, quarantine, captures,
                   int(ns["snapshots"].sum()) if ns.height else 0)


def sources(con: duckdb.DuckDBPyConnection, namespaces: list[str] | None) -> pl.DataFrame:
    """Sources that contributed a snapshot to the namespaces shown (all sources when none are named)."""
    where = "" if not namespaces else "WHERE source_id IN (SELECT source_id FROM snapshots WHERE namespace IN ?)"
    params = [] if not namespaces else [namespaces]
    return con.sql(f"""SELECT format, format_version, uri, sha256, size_bytes, importer_version, imported_at
                       FROM sources {where} ORDER BY imported_at, uri""", params=params).pl()


def pattern_texts(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """The latest text of each pattern, to show beside its numbers (escaped by every renderer)."""
    return con.sql("""SELECT namespace, item_id AS pattern_id, arg_max(text, seq) AS text
                      FROM patterns GROUP BY namespace, item_id""").pl()


def provenance(con: duckdb.DuckDBPyConnection, store_path: str | None, src: pl.DataFrame, *, namespaces: list[str],
               window: int, generated_at: datetime) -> dict[str, Any]:
    digest = hashlib.sha256("\n".join(sorted(src["sha256"].to_list())).encode()).hexdigest()
    versions = {}
    for name in _VERSIONED:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "generated_at": generated_at.astimezone(timezone.utc).isoformat(timespec="seconds"),
        # a temporary store (the demo's) is removed after the report: no path that would point at nothing
        "store": {"path": store_path, "temporary": store_path is None, "schema_version": connection.SCHEMA_VERSION,
                  "tables": info.table_counts(con)},
        "namespaces": namespaces,
        "window_sessions": window,
        "baton_lab": metadata.version("baton-lab"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "libraries": versions,
        "sources": {
            "count": src.height,
            "bytes": int(src["size_bytes"].sum() or 0) if src.height else 0,
            "by_format": {f: n for f, n in src.group_by("format").len().sort("format").iter_rows()},
            # one hash over every source hash: two reports agree on their input iff this agrees
            "sha256_of_sorted_hashes": digest,
            "list": src.with_columns(pl.col("imported_at").dt.to_string()).to_dicts(),
        },
    }
