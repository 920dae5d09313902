"""Read-side summaries of the store: table counts, namespaces, quarantine, schema description."""

from __future__ import annotations

from typing import Any

import duckdb
import polars as pl

from .ddl import duckdb_type, is_json_column
from .rules import table_names


def table_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    union = " UNION ALL ".join(f"SELECT '{name}' AS t, count(*) AS n FROM {name}" for name in table_names())
    return {name: n for name, n in con.execute(union).fetchall()}


def namespaces(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """One row per namespace: snapshot count, seq range, observed and claimed time ranges, ordering rule."""
    return con.sql("""
        SELECT s.namespace, count(*) AS snapshots, max(s.seq) AS last_seq,
               -- file mtimes are not observations of when the state existed (checkouts reset them)
               min(s.observed_at) FILTER (WHERE s.observed_kind <> 'file_mtime') AS first_observed,
               max(s.observed_at) FILTER (WHERE s.observed_kind <> 'file_mtime') AS last_observed,
               min(s.written_at) AS first_written, max(s.written_at) AS last_written,
               string_agg(DISTINCT s.schema_version, ',' ORDER BY s.schema_version) AS schema_versions,
               any_value(o.order_rule) AS order_rule
        FROM snapshots s LEFT JOIN namespace_order o USING (namespace)
        GROUP BY s.namespace ORDER BY s.namespace
    """).pl()


def quarantine(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    return con.sql("""
        SELECT q.kind, q.location, q.reason, q.fragment, q.namespace, q.item_id, src.format AS source_format, q.recorded_at
        FROM quarantine q LEFT JOIN sources src USING (source_id)
        ORDER BY q.recorded_at, q.location
    """).pl()


def describe_schema() -> list[dict[str, Any]]:
    """Every table and column with its type, nullability, allowed values and meaning, from the pandera models."""
    from .schemas import TABLES  # pandera: `baton-lab schema` reads the models' descriptions

    tables = []
    for name, model in TABLES.items():
        schema = model.to_schema()
        columns = []
        for col_name, col in schema.columns.items():
            allowed = None
            checks = []
            for check in col.checks:
                stats = getattr(check, "statistics", None) or {}
                if "allowed_values" in stats:
                    allowed = sorted(stats["allowed_values"])
                else:
                    checks.append(str(check.error or check.name))
            columns.append({
                "name": col_name,
                "type": duckdb_type(col.dtype, is_json_column(col)),
                "nullable": bool(col.nullable),
                "unique": bool(col.unique),
                "allowed_values": allowed,
                "checks": checks,
                "description": col.description or "",
            })
        tables.append({"table": name, "description": (model.__doc__ or "").strip(), "columns": columns})
    return tables
