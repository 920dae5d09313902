"""Batch validation against the pandera models, splitting what can be stored from what cannot.

A value outside its vocabulary is not coerced: the row is kept, the column set to null, the raw
value kept in `invalid_values`, and a `value` finding is recorded. A row missing a required value
cannot be stored and becomes an `item` finding.

A small batch (a capture's one snapshot and its items) is first checked with one polars expression per table
compiled from the same models (`store.rules`: dtypes, nullability, uniqueness, isin and range checks); only a batch
that fails it, a large one, or one of a table the expressions cannot model goes through pandera, which finds and
words each failure. Pandera's per-column machinery costs ~20 ms a table even for one row, and importing it ~1 s.
"""

from __future__ import annotations

import functools
import json
from collections import defaultdict
from typing import TYPE_CHECKING, Any

import polars as pl

from .._jsonutil import dumps, fragment
from ..normalize import Finding
from . import rules

if TYPE_CHECKING:
    import pandera.polars as pa

INTERNAL = ("_path", "_uri", "_source_id")
SMALL_BATCH = 10_000  # rows up to which the compiled expressions decide first (`passes`)


def polars_schema(table: str) -> dict[str, pl.DataType]:
    """The polars dtypes of a table's columns, in model order."""
    return {name: rules.polars_dtype(dtype) for name, dtype, *_ in rules.columns(table)}


def conform(table: str, frame: pl.DataFrame, *, without: tuple[str, ...] = ()) -> pl.DataFrame:
    """Add missing columns as nulls and order/cast columns as the model declares (internal columns kept).

    An integer outside the 64-bit range (a UInt64 or Int128 column from the input) becomes null here;
    `out_of_range` finds those values first so `validate` keeps them raw and flags them.
    """
    schema = {name: dtype for name, dtype in polars_schema(table).items() if name not in without}
    exprs = []
    for name, dtype in schema.items():
        if name in frame.columns:
            exprs.append(pl.col(name).cast(dtype, strict=dtype != pl.Int64))
        else:
            exprs.append(pl.lit(None, dtype=dtype).alias(name))
    exprs += [pl.col(name) for name in INTERNAL if name in frame.columns]
    return frame.select(exprs)


def out_of_range(table: str, frame: pl.DataFrame) -> list[tuple[int, str, Any]]:
    """(row, column, value) for integers the table's 64-bit columns cannot hold."""
    found: list[tuple[int, str, Any]] = []
    for name, dtype in polars_schema(table).items():
        if dtype != pl.Int64 or name not in frame.columns or frame[name].dtype in (pl.Int64, pl.Null):
            continue
        column = frame[name]
        lost = column.is_not_null() & column.cast(pl.Int64, strict=False).is_null()
        found += [(int(row), name, column[int(row)]) for row in lost.arg_true()]
    return found


@functools.cache  # building a model's schema (and copying it without a column) costs more than checking a few rows
def _schema(table: str, without: tuple[str, ...]) -> "pa.DataFrameSchema":
    from .schemas import TABLES

    schema = TABLES[table].to_schema()
    return schema.remove_columns([c for c in without if c in schema.columns]) if without else schema


@functools.cache
def _compiled(table: str, without: tuple[str, ...]) -> tuple[dict[str, pl.DataType], list[pl.Expr]] | None:
    """The expected dtype of each column and one boolean expression per check, or None when a check of the table is
    not one the expressions model (then pandera decides). Each expression is at least as strict as pandera's check."""
    spec = rules.rules()["tables"][table]
    if not spec["fast"]:
        return None
    expected: dict[str, pl.DataType] = {}
    exprs: list[pl.Expr] = []
    for name, dtype_name, nullable, unique, _json, checks in spec["columns"]:
        if name in without:
            continue
        dtype = rules.polars_dtype(dtype_name)
        expected[name] = dtype
        col = pl.col(name)
        if not nullable:
            exprs.append(col.null_count() == 0)
            if dtype.is_float():   # pandera's polars backend counts NaN as null in a float column
                exprs.append(~col.is_nan().any())
        if unique:
            exprs.append(col.is_unique().all())  # nulls count as values here: stricter than pandera, never laxer
        for check, argument in checks:
            if check == "isin":
                ok = col.is_in(pl.lit(pl.Series(argument, dtype=dtype)).implode()) | col.is_null()
            elif check == "greater_than_or_equal_to":
                ok = (col >= argument) | col.is_null()
                if dtype == pl.Float64:
                    ok = ok & ~col.is_nan().fill_null(False)
            else:
                return None
            exprs.append(ok.fill_null(False).all())
    return expected, exprs


def passes(table: str, data: pl.DataFrame, *, without: tuple[str, ...] = ("seq",)) -> bool | None:
    """True when `data` (a conformed batch, internal columns dropped) meets every check of the table's model, False
    when it does not, None when the table has a check the compiled expressions do not model."""
    compiled = _compiled(table, without)
    if compiled is None:
        return None
    expected, exprs = compiled
    if dict(data.schema) != expected:  # every column, no other (strict), with its dtype; in any order, as pandera
        return False
    if not exprs:
        return True
    return bool(data.select(pl.all_horizontal(exprs)).item())


def validate(table: str, frame: pl.DataFrame, *, without: tuple[str, ...] = ("seq",)) -> tuple[pl.DataFrame, list[Finding]]:
    """Validate a batch (all problems at once, `lazy=True`); returns the storable rows and the findings."""
    too_big = out_of_range(table, frame)
    frame = conform(table, frame, without=without)
    data = frame.drop([c for c in INTERNAL if c in frame.columns])
    if not too_big and data.height <= SMALL_BATCH and passes(table, data, without=without):
        return data, []
    import pandera.polars as pa

    schema = _schema(table, without)
    failures = [(index, column, "in the 64-bit integer range", value) for index, column, value in too_big]
    try:
        schema.validate(data, lazy=True)
        if not failures:
            return data, []
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        if cases.filter(pl.col("index").is_null()).height:
            # Schema-level failures (a wrong dtype, a missing column) are bugs in baton_lab, not bad input.
            raise RuntimeError(f"{table}: batch does not match its model:\n{cases.filter(pl.col('index').is_null())}")
        failures += [(int(row["index"]), row["column"], row["check"], frame[row["column"]][int(row["index"])])
                     for row in cases.select("column", "check", "index").iter_rows(named=True)]

    nullable = {name: col.nullable for name, col in schema.columns.items()}
    invalid: dict[int, dict[str, Any]] = defaultdict(dict)
    drop: dict[int, str] = {}
    findings: list[Finding] = []
    nulled: dict[str, list[int]] = defaultdict(list)
    for index, column, check, value in failures:
        if nullable.get(column, False) and value is not None:
            nulled[column].append(index)
            invalid[index][column] = value
            reason = f"{column} {value!r:.80} fails {check}; kept raw in invalid_values"
            findings.append(_finding(frame, index, column, "value", reason, value))
        else:
            drop.setdefault(index, f"{column} fails {check}")

    if nulled:
        data = data.with_columns(
            pl.when(pl.int_range(pl.len()).is_in(rows)).then(None).otherwise(pl.col(column)).alias(column)
            for column, rows in nulled.items()
        )
        if "invalid_values" in data.columns:
            merged = [
                _merge(old, invalid.get(i)) for i, old in enumerate(data["invalid_values"].to_list())
            ]
            data = data.with_columns(pl.Series("invalid_values", merged, dtype=pl.String))
    for index, reason in drop.items():
        findings.append(_finding(frame, index, None, "item", f"cannot be stored: {reason}", None))
    if drop:
        data = data.filter(~pl.int_range(pl.len()).is_in(list(drop)))
    schema.validate(data, lazy=True)
    return data, findings


def _merge(old: str | None, new: dict[str, Any] | None) -> str | None:
    if not new:
        return old
    merged = json.loads(old) if old else {}
    merged.update(new)
    return dumps(merged)


def _finding(frame: pl.DataFrame, index: int, column: str | None, kind: str, reason: str, value: Any) -> Finding:
    def get(name: str) -> Any:
        return frame[name][index] if name in frame.columns else None

    path = get("_path")
    if path and column:
        path = f"{path}.{column}"
    return Finding(
        uri=get("_uri") or "",
        json_path=path,
        kind=kind,
        reason=reason,
        fragment=fragment(dumps(value)) if value is not None else None,
        source_id=get("_source_id") or get("source_id") or "",
        namespace=get("namespace"),
        snapshot_id=get("snapshot_id") if kind == "value" else None,
        item_id=get("item_id"),
    )
