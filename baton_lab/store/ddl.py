"""DuckDB DDL derived from the pandera models, so a column is declared exactly once."""

from __future__ import annotations

import polars as pl


def duckdb_type(dtype: object, is_json: bool) -> str:
    polars_type = getattr(dtype, "type", dtype)
    if is_json:
        return "JSON"
    if polars_type == pl.Int64:
        return "BIGINT"
    if polars_type == pl.Float64:
        return "DOUBLE"
    if polars_type == pl.Boolean:
        return "BOOLEAN"
    if isinstance(polars_type, pl.Datetime):
        return "TIMESTAMPTZ"
    if polars_type == pl.String:
        return "VARCHAR"
    raise TypeError(f"no DuckDB type for {dtype!r}")


def is_json_column(column: object) -> bool:
    return bool((getattr(column, "metadata", None) or {}).get("json"))


def create_table_sql(name: str) -> str:
    """From the models as compiled in `store.rules` (a test keeps them equal), so creating a store — a first
    capture — does not import pandera."""
    from .rules import columns, polars_dtype

    cols = ",\n  ".join(f"\"{col_name}\" {duckdb_type(polars_dtype(dtype), is_json)}"
                        for col_name, dtype, _nullable, _unique, is_json, _checks in columns(name))
    return f"CREATE TABLE IF NOT EXISTS {name} (\n  {cols}\n)"
