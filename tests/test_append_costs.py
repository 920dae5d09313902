"""What keeps one more snapshot cheap keeps the store the same: imports checkpoint without DuckDB's vacuum and every
COMPACT_EVERY-th import compacts; small batches are validated by expressions derived from the pandera models, which
accept and reject exactly what pandera does. (Speed itself is measured in bench/append_bench.py, not here.)"""

from __future__ import annotations

from pathlib import Path

import duckdb
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
