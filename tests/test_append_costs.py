"""What keeps one more snapshot cheap keeps the store the same: imports checkpoint without DuckDB's vacuum and every
COMPACT_EVERY-th import compacts; small batches are validated by expressions derived from the pandera models, which
accept and reject exactly what pandera does. (Speed itself is measured in bench/append_bench.py, not here.)"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Iterator

import duckdb
import polars as pl
import pytest

import baton_lab as bl
from baton_lab.store import ingest
from builders import loop, v1, write


def _row_groups(db: Path, table: str) -> int:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(f"SELECT count(DISTINCT row_group_id) FROM pragma_storage_info('{table}')").fetchall()[0][0]
    finally:
        con.close()


def _counter(db: Path) -> str | None:
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute("SELECT value FROM baton_lab_meta WHERE key = 'imports_since_compaction'").fetchall()
        return rows[0][0] if rows else None
    finally:
        con.close()


def test_imports_leave_small_row_groups_until_a_compacting_checkpoint(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ingest, "COMPACT_EVERY", 4)
    lab = bl.open(tmp_path / "s.duckdb")
    groups, counters = [], []
    for n in range(8):
        path = write(tmp_path / f"b{n}.json", v1(f"s{n}", updated_at=f"2026-06-{n + 1:02d}T10:00:00Z",
                                                 loops=[loop(f"L{n}")]))
        assert lab.import_(path, namespace="ns").stored == 1
        groups.append(_row_groups(lab.path, "snapshots"))
        counters.append(_counter(lab.path))
    # each import's snapshot lands in a row group of its own, until the 4th import's checkpoint merges them
    assert counters == ["1", "2", "3", "0", "1", "2", "3", "0"]
    assert groups[:3] == [1, 2, 3]
    assert groups[3] < groups[2] and groups[7] < groups[6]
    assert lab.snapshots("ns")["seq"].to_list() == list(range(1, 9))


def test_a_compacting_checkpoint_that_cannot_run_is_tried_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The count is reset only when the compacting checkpoint ran: one that failed (another transaction open) is
    tried again at the next import, not 64 imports later."""
    monkeypatch.setattr(ingest, "COMPACT_EVERY", 2)
    ran = iter([True, False, True, True, True])   # the 2nd import's compacting checkpoint fails
    real = ingest._checkpoint
    monkeypatch.setattr(ingest, "_checkpoint", lambda con: real(con) and next(ran))
    lab = bl.open(tmp_path / "s.duckdb")
    counters = []
    for n in range(3):
        path = write(tmp_path / f"b{n}.json", v1(f"s{n}", updated_at=f"2026-06-{n + 1:02d}T10:00:00Z"))
        assert lab.import_(path, namespace="ns").stored == 1
        counters.append(_counter(lab.path))
    assert counters == ["1", "2", "0"]


# -- small batches: the compiled expressions against pandera --------------------------------------------------------

def test_generated_rules_match_the_pandera_models() -> None:
    from baton_lab.store import rules

    assert rules.rules() == rules.derive(), "the models changed: run `python -m baton_lab.store.rules`"


def _valid_frame(table: str, without: tuple[str, ...]) -> pl.DataFrame:
    """Three rows meeting every rule of the table: built from the rules, judged below by pandera itself."""
    from baton_lab.store import rules

    data: dict[str, list[Any]] = {}
    schema: dict[str, pl.DataType] = {}
    for name, dtype, _nullable, _unique, _json, checks in rules.columns(table):
        if name in without:
            continue
        allowed = dict(checks)
        if "isin" in allowed:
            values = [allowed["isin"][i % len(allowed["isin"])] for i in range(3)]
        elif dtype == "Int64":
            values = [allowed.get("greater_than_or_equal_to", -5) + i for i in range(3)]
        elif dtype == "Float64":
            values = [allowed.get("greater_than_or_equal_to", -1.5) + 0.25 * i for i in range(3)]
        elif dtype == "Boolean":
            values = [False, True, False]
        elif dtype.startswith("Datetime"):
            values = [datetime(2026, 1, 1 + i, tzinfo=UTC) for i in range(3)]
        else:
            values = [f"{name}-{i}" for i in range(3)]
        data[name], schema[name] = values, rules.polars_dtype(dtype)
    return pl.DataFrame(data, schema=schema)


def _mutations(table: str, frame: pl.DataFrame) -> Iterator[tuple[str, pl.DataFrame]]:
    """One violation (or near-violation) of each rule at a time, on one row."""
    from baton_lab.store import rules

    def at(column: str, row: int, value: Any) -> pl.DataFrame:
        values = frame[column].to_list()
        values[row] = value
        return frame.with_columns(pl.Series(column, values, dtype=frame.schema[column]))

    for name, dtype, _nullable, unique, _json, checks in rules.columns(table):
        if name not in frame.columns:
            continue
        yield f"{name} null", at(name, 1, None)
        if unique:
            yield f"{name} duplicated", at(name, 2, frame[name][0])
        for check, argument in checks:
            if check == "isin":
                yield f"{name} outside", at(name, 0, "not-in-the-vocabulary")
                yield f"{name} case", at(name, 0, str(argument[0]).upper())
            elif check == "greater_than_or_equal_to":
                yield f"{name} below", at(name, 2, argument - 1)
                yield f"{name} at bound", at(name, 2, argument)
                if dtype == "Float64":
                    yield f"{name} NaN", at(name, 1, float("nan"))
    yield "no rows", frame.head(0)
    yield "extra column", frame.with_columns(pl.lit(1).alias("not_a_column"))
    first = frame.columns[0]
    yield "column missing", frame.drop(first)
    yield "columns reordered", frame.select([*frame.columns[1:], first])
    yield "wrong dtype", frame.with_columns(pl.col(first).cast(pl.String).cast(pl.Categorical))


@pytest.mark.parametrize("without", [("seq",), ()])
def test_compiled_checks_accept_and_reject_what_pandera_does(without: tuple[str, ...]) -> None:
    import pandera.polars as pa

    from baton_lab.store import rules
    from baton_lab.store.validate import _schema, passes

    checked = 0
    for table in rules.table_names():
        schema = _schema(table, without)
        frame = _valid_frame(table, without)
        for label, candidate in [("valid", frame), *_mutations(table, frame)]:
            try:
                schema.validate(candidate, lazy=True)
                pandera_ok = True
            except (pa.errors.SchemaErrors, pa.errors.SchemaError):
                pandera_ok = False
            assert passes(table, candidate, without=without) is pandera_ok, (table, label, pandera_ok)
            checked += not pandera_ok
        assert passes(table, frame, without=without) is True, table
    assert checked > 150  # the mutations do violate the rules: pandera rejects each of these


def test_a_small_batch_with_bad_values_is_worded_by_pandera() -> None:
    from baton_lab.store.validate import validate

    frame = _valid_frame("open_loops", ("seq",)).with_columns(
        pl.Series("status", ["open", "open", "nonsense"]), pl.Series("item_id", ["a", None, "c"]),
        pl.lit(None, dtype=pl.String).alias("invalid_values"), pl.lit(None, dtype=pl.String).alias("extra"),
        pl.lit(None, dtype=pl.String).alias("verify"))
    data, findings = validate("open_loops", frame)
    assert data["item_id"].to_list() == ["a", "c"]  # the row without an id cannot be stored
    assert data["status"].to_list() == ["open", None]
    assert json.loads(data["invalid_values"][1]) == {"status": "nonsense"}
    assert sorted(f.kind for f in findings) == ["item", "value"]


def test_tables_are_created_as_the_pandera_models_declare_them() -> None:
    from baton_lab.store.ddl import create_table_sql, duckdb_type, is_json_column
    from baton_lab.store.schemas import TABLES

    for name, model in TABLES.items():
        columns = [f'"{col_name}" {duckdb_type(col.dtype, is_json_column(col))}'
                   for col_name, col in model.to_schema().columns.items()]
        assert create_table_sql(name) == f"CREATE TABLE IF NOT EXISTS {name} (\n  " + ",\n  ".join(columns) + "\n)"
