"""`baton-lab check`: verify a store without changing it — it opens, its schema version, its tables and columns
(against the pandera models), every stored block readable, and the rows account for each other."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from ..errors import BatonLabError, StoreNotFound
from . import connection, faults
from .ddl import create_table_sql
from .schemas import TABLES

_ITEM_TABLES = ("open_loops", "follow_ups", "patterns", "decisions", "infra_state", "discovery_cache")


@dataclass
class Finding:
    check: str
    ok: bool
    detail: str


@dataclass
class CheckResult:
    path: Path
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(f.ok for f in self.findings)

    def add(self, check: str, ok: bool, detail: str) -> None:
        self.findings.append(Finding(check, ok, detail))

    def to_dict(self) -> dict[str, Any]:
        return {"store": str(self.path), "ok": self.ok,
                "findings": [{"check": f.check, "ok": f.ok, "detail": f.detail} for f in self.findings]}

    def __str__(self) -> str:
        lines = [f"{'ok  ' if f.ok else 'FAIL'} {f.check}: {f.detail}" for f in self.findings]
        problems = sum(not f.ok for f in self.findings)
        verdict = "the store is sound" if self.ok else f"{problems} problem(s) found"
        return "\n".join([f"store {self.path}", *lines, verdict])


def check_store(path: str | os.PathLike[str] | None) -> CheckResult:
    """Every check that can run, in order; a check that cannot run (the store does not open) says why."""
    db = connection.resolve_path(path)
    if not db.is_file():
        raise StoreNotFound(f"no store at {db}")
    result = CheckResult(db)
    try:
        con = connection.open_duckdb(db, read_only=True)  # never migrates or writes: check only looks
    except BatonLabError as exc:
        result.add("opens", False, f"{exc} ({exc.hint})" if exc.hint else str(exc))
        return result
    try:
        result.add("opens", True, f"{db.stat().st_size:,} bytes, opened read-only")
        try:
            version = connection.stored_version(con, db)
        except BatonLabError as exc:
            result.add("schema version", False, str(exc))
            return result
        _version(result, version)
        present = _tables(result, con)
        _readable(result, con, db, present)
        _accounting(result, con, present)
    finally:
        con.close()
    return result


def _version(result: CheckResult, version: int) -> None:
    if version == connection.SCHEMA_VERSION:
        result.add("schema version", True, f"{version} (current)")
    elif version > connection.SCHEMA_VERSION:
        result.add("schema version", False, f"{version} is newer than this baton-lab understands "
                                            f"({connection.SCHEMA_VERSION}): upgrade baton-lab")
    else:
        result.add("schema version", False, f"{version} is older than {connection.SCHEMA_VERSION}: the next write "
                                            "(`baton-lab import`) migrates it forward")


def _columns(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, str]]:
    columns: dict[str, dict[str, str]] = {}
    for table, column, dtype in con.execute(
            "SELECT table_name, column_name, data_type FROM duckdb_columns() "
            "WHERE database_name = current_database()").fetchall():
        columns.setdefault(table, {})[column] = dtype
    return columns


def _expected_columns() -> dict[str, dict[str, str]]:
    """The columns the DDL (generated from the pandera models) creates, as DuckDB names their types."""
    mem = duckdb.connect(":memory:", config=connection.CONFIG)
    try:
        for name in TABLES:
            mem.execute(create_table_sql(name))
        return _columns(mem)
    finally:
        mem.close()


def _tables(result: CheckResult, con: duckdb.DuckDBPyConnection) -> set[str]:
    columns, expected_all = _columns(con), _expected_columns()
    present, sound = set(), 0
    for name in TABLES:
        if name not in columns:
            result.add(f"table {name}", False, "missing (restore a backup or re-import into a new store)")
            continue
        present.add(name)
        expected = expected_all[name]
        missing = [c for c in expected if c not in columns[name]]
        wrong = [f"{c} is {columns[name][c]}, expected {t}" for c, t in expected.items()
                 if c in columns[name] and columns[name][c] != t]
        if missing or wrong:
            result.add(f"table {name}", False, "; ".join(
                ([f"missing column(s) {', '.join(missing)}"] if missing else []) + wrong))
        else:
            sound += 1
    if sound == len(TABLES):
        result.add("tables", True, f"all {len(TABLES)} tables with the columns of the pandera models")
    return present


def _readable(result: CheckResult, con: duckdb.DuckDBPyConnection, db: Path, present: set[str]) -> None:
    """Read every column of every row, so a damaged block (bad checksum, truncated file) shows up here."""
    damaged = []
    rows = 0
    for name in sorted(present):
        try:
            # an aggregate over every column, so no column can be skipped by the optimizer
            rows += con.execute(f"SELECT count(*), bit_xor(hash(COLUMNS(*))) FROM {name}").fetchone()[0]
        except duckdb.Error as exc:
            explained = faults.explain(exc, db)
            damaged.append(f"{name}: {explained or str(exc).splitlines()[0]}")
    if damaged:
        result.add("data readable", False, "; ".join(damaged))
    else:
        result.add("data readable", True, f"{rows:,} rows in {len(present)} tables read in full")


def _accounting(result: CheckResult, con: duckdb.DuckDBPyConnection, present: set[str]) -> None:
    """Rows that must account for each other: every snapshot, item and finding traces back to a source;
    each namespace's history is numbered 1..n; the ordering table counts what is there."""
    checks: list[tuple[str, str, set[str]]] = [
        ("snapshots without a source",
         "SELECT count(*) FROM snapshots WHERE source_id NOT IN (SELECT source_id FROM sources)", {"snapshots", "sources"}),
        ("quarantine findings without a source",
         "SELECT count(*) FROM quarantine WHERE source_id NOT IN (SELECT source_id FROM sources)", {"quarantine", "sources"}),
        ("duplicate snapshot ids", "SELECT count(*) - count(DISTINCT snapshot_id) FROM snapshots", {"snapshots"}),
        ("namespaces whose history is not numbered 1..n",
         "SELECT count(*) FROM (SELECT namespace FROM snapshots GROUP BY namespace "
         "HAVING min(seq) <> 1 OR max(seq) <> count(*) OR count(DISTINCT seq) <> count(*))", {"snapshots"}),
        ("namespaces whose ordering count disagrees with their snapshots",
         "SELECT count(*) FROM namespace_order o FULL JOIN (SELECT namespace, count(*) AS n FROM snapshots "
         "GROUP BY namespace) s USING (namespace) WHERE o.snapshots IS DISTINCT FROM s.n",
         {"snapshots", "namespace_order"}),
    ] + [(f"{t} rows without their snapshot",
          f"SELECT count(*) FROM {t} WHERE snapshot_id NOT IN (SELECT snapshot_id FROM snapshots)", {t, "snapshots"})
         for t in _ITEM_TABLES]
    problems = []
    ran = 0
    for label, sql, needs in checks:
        if not needs <= present:
            continue
        try:
            bad = con.execute(sql).fetchone()[0]
        except duckdb.Error as exc:
            problems.append(f"{label}: cannot tell ({str(exc).splitlines()[0]})")
            continue
        ran += 1
        if bad:
            problems.append(f"{bad:,} {label}")
    if problems:
        result.add("row accounting", False, "; ".join(problems))
    else:
        result.add("row accounting", True, f"{ran} consistency checks hold (sources, snapshots, items, ordering)")
