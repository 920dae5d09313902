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


_RULE_TYPES = {"String": "VARCHAR", "Int64": "BIGINT", "Float64": "DOUBLE", "Boolean": "BOOLEAN",
               "Datetime(UTC)": "TIMESTAMPTZ"}


def create_table_sql(name: str) -> str:
    """From the models as compiled in `store.rules` (a test keeps them equal), so creating a store — a first
    capture — does not import pandera."""
    from .rules import columns

    cols = ",\n  ".join(f"\"{col_name}\" {'JSON' if is_json else _RULE_TYPES[dtype]}"
                        for col_name, dtype, _nullable, _unique, is_json, _checks in columns(name))
    return f"CREATE TABLE IF NOT EXISTS {name} (\n  {cols}\n)"


def polars_schema(name: str) -> dict[str, pl.DataType]:
    """The polars dtypes of a table, for building empty or typed frames."""
    from .validate import polars_schema as compiled

    return compiled(name)
