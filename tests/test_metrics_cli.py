"""`baton-lab metrics` and the notebook API over a small hand-built store."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

import baton_lab as bl
from baton_lab.cli import app
from baton_lab.metrics import REGISTRY, reference_markdown
from baton_lab.metrics.counts import KEYS
from builders import loop, v1, write_sequence

runner = CliRunner()
DOCS = Path(__file__).resolve().parent.parent / "docs" / "metrics-reference.md"


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    tmp = tmp_path_factory.mktemp("cli")
    write_sequence(tmp / "h", [v1("s1", loops=[loop("A")]), v1("s2", "s1", loops=[loop("A", "failed"), loop("B")]),
                               v1("s3", "s2", loops=[loop("B")])])
    path = tmp / "s.duckdb"
    bl.open(path).import_(tmp / "h", namespace="home")
    return str(path)


def test_json_has_counts_and_rows(db: str) -> None:
    result = runner.invoke(app, ["metrics", "--db", db, "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert list(doc["counts"]["home"]) == list(KEYS)
    assert doc["counts"]["home"]["caught_regressions"] == 1 and doc["counts"]["home"]["sessions"] == 3
    ids = {r["metric_id"] for r in doc["metrics"]}
    assert ids == set(REGISTRY)
    one = json.loads(runner.invoke(app, ["metrics", "--db", db, "--json", "-m", "L4", "--metric", "silent_drop_rate",
                                         "--window", "2"]).stdout)
    assert {r["metric_id"] for r in one["metrics"]} == {"caught_regressions", "silent_drop_rate"}
    assert {(r["window_start_s"], r["window_end_s"]) for r in one["metrics"] if not r["overall"]} == {(1, 2), (3, 3)}


def test_formats_and_errors(db: str) -> None:
    csv = runner.invoke(app, ["metrics", "--db", db, "--output", "csv", "-m", "L6"])
    frame = pl.read_csv(csv.stdout.encode())
    assert set(frame["metric_id"]) == {"silent_drop_rate"} and "ci_method" in frame.columns
    md = runner.invoke(app, ["metrics", "--db", db, "--output", "md", "-m", "L4"])
    assert md.exit_code == 0 and "| namespace | sessions |" in md.stdout and "caught_regressions" in md.stdout
    table = runner.invoke(app, ["metrics", "--db", db, "-m", "P6", "-n", "home"])
    assert table.exit_code == 0 and "P6" in table.stdout and "headline counts" in table.stdout
    bad = runner.invoke(app, ["metrics", "--db", db, "--metric", "nope"])
    assert bad.exit_code == 1 and "unknown metric 'nope'" in bad.output and "baton-lab metrics --list" in bad.output
    bad_ns = runner.invoke(app, ["metrics", "--db", db, "--namespace", "elsewhere"])
    assert bad_ns.exit_code == 1 and "unknown namespace" in bad_ns.output


def test_list_is_the_generated_reference() -> None:
    text = runner.invoke(app, ["metrics", "--list"]).stdout
    for m in REGISTRY.values():
        assert f"`{m.id}`" in text and m.definition.splitlines()[0] in text
    listed = json.loads(runner.invoke(app, ["metrics", "--list", "--json"]).stdout)
    assert {m["id"] for m in listed} == set(REGISTRY)
    assert DOCS.read_text(encoding="utf-8") == reference_markdown() + "\n", \
        "regenerate: .venv/bin/baton-lab metrics --list > docs/metrics-reference.md"


def test_lab_api(db: str) -> None:
    lab = bl.open(db)
    assert lab.counts() == {"home": lab.counts("home")["home"]}
    by_id, by_code = lab.metric("caught_regressions"), lab.metric("L4")
    assert by_id.drop("computed_at").equals(by_code.drop("computed_at"))
    result = lab.metrics(metric=["L6"], window=1)
    assert "silent_drop_rate" in result._repr_html_() and result.counts["home"]["silent_drops"] == 0
    assert set(result.curves) <= {"silent_drop_rate"}
