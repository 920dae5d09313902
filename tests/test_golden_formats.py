"""Golden cases: one folder per format and case, `tests/golden/<format>/<case>/`, holding `input/` (files imported
as one folder, in natural order) and `expected.json` (written by hand or derived from the input with plain `json`,
never with baton_lab): the namespace, the snapshot count, and the canonical rows expected per table, compared on
the columns the expectation names. Adding a format means adding a folder here."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

import baton_lab as bl

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(p for p in GOLDEN.glob("*/*") if (p / "expected.json").exists())


def _rows(frame: pl.DataFrame, expected: list[dict]) -> list[dict]:
    columns = sorted({key for row in expected for key in row})
    got = frame.select(columns).to_dicts()
    key = lambda row: json.dumps(row, sort_keys=True, default=str)  # noqa: E731
    return sorted(got, key=key), sorted(expected, key=key)


@pytest.mark.parametrize("case", CASES, ids=[f"{c.parent.name}/{c.name}" for c in CASES])
def test_golden_case(case: Path, tmp_path: Path) -> None:
    expected = json.loads((case / "expected.json").read_text(encoding="utf-8"))
    lab = bl.open(tmp_path / "store.duckdb")
    summary = lab.import_(case / "input", namespace=expected.get("namespace"), format=expected.get("format"))

    assert summary.read == summary.stored + summary.duplicates + summary.proposals + summary.empty + summary.quarantined
    assert summary.stored == expected["snapshots"]
    if summary.stored:
        assert set(lab.snapshots()["format"].unique()) == {case.parent.name}
    for table, rows in expected["tables"].items():
        got, want = _rows(getattr(lab, table)(), rows)
        assert got == want, table
    if "quarantine" in expected:
        got = sorted((Path(r["uri"]).name, r["json_path"], r["kind"], r["reason"].split(":")[0])
                     for r in lab.quarantine().iter_rows(named=True))
        assert got == sorted(tuple(q) for q in expected["quarantine"])


def test_every_format_has_golden_cases() -> None:
    from baton_lab.importers import FORMATS

    have = {case.parent.name for case in CASES}
    missing = [fmt.name for fmt in FORMATS if fmt.name not in have]
    assert not missing, f"formats without golden cases in tests/golden/: {missing}"
