"""Any folder imports in one command: a fresh `baton-lab simulate` output with every format the simulator writes.
Documents that cannot be placed are reported per file with the reason and a hint; the rest imports, and the
store holds exactly the simulator's sessions."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from typer.testing import CliRunner

import baton_lab as bl
from baton_lab.cli import app
from baton_lab.simulate import simulate

EVERY_FORMAT = ["v1", "v2", "ndjson", "sqlite", "cache", "git", "transcript"]


def test_a_simulate_folder_imports_in_one_command(tmp_path: Path) -> None:
    sim = simulate("default", seed=7, sessions=24, namespaces=2)
    out = tmp_path / "sim"
    sim.write(out, EVERY_FORMAT)
    truth = sim.truth()["sessions"].group_by("namespace").len().sort("namespace")

    lab = bl.open(tmp_path / "store.duckdb")
    summary = lab.import_(out)

    assert summary.read == summary.stored + summary.duplicates + summary.proposals + summary.empty + summary.quarantined
    sessions = sim.truth()["sessions"]
    snaps = lab.snapshots().sort("namespace", "seq")
    # The simulator renders each session as a v2 baton (which names its namespace) and as v1 (files without a
    # namespace, transcripts' API calls, the cache): each rendering holds every session at most once, and the
    # v2 rendering all of them, in session order.
    v2 = snaps.filter(pl.col("schema_version") == "2.0")
    assert v2.group_by("namespace").len().sort("namespace").to_dicts() == truth.to_dicts()
    for ns in sim.namespaces:
        assert v2.filter(namespace=ns)["session_id"].to_list() == sessions.filter(namespace=ns)["session_id"].to_list()
        v1 = snaps.filter((pl.col("namespace") == ns) & (pl.col("schema_version") == "1"))["session_id"]
        assert v1.n_unique() == v1.len() and set(v1) <= set(sessions.filter(namespace=ns)["session_id"])
    # v1 batons carry no namespace: each is reported with the hint, none aborts the import
    q = lab.quarantine().with_columns(top=pl.col("uri").str.strip_prefix(str(out) + "/").str.split("/").list.first())
    unplaced = q.filter(pl.col("reason").str.starts_with("no namespace"))
    assert set(unplaced["top"]) <= {"v1", "ndjson", "git"} and unplaced.height > 0
    assert unplaced["reason"].str.contains("--namespace").all()
    assert set(q["top"]) <= {"v1", "ndjson", "git", "truth", "transcripts"}
    readers = {row["reader"] for row in summary.files}
    assert {"baton-v2", "local-cache"} & {f for row in summary.files for f in row["formats"]}
    assert {"claude-code-transcript", "json-file", "ndjson"} <= readers
    text = "\n".join(summary.lines())
    assert "claude-code-transcript:" in text and "baton calls" in text and "no namespace" in text
    assert "baton-lab capture --from FILE" in text  # the SQLite store is skipped with a pointer to capture


def test_a_transcript_without_baton_calls_says_so(tmp_path: Path, fixtures: Path) -> None:
    path = next((fixtures / "real").glob("*transcript.jsonl"))
    result = CliRunner().invoke(app, ["import", str(path), "--db", str(tmp_path / "s.duckdb")])
    assert result.exit_code == 0, result.output
    assert "claude-code-transcript: 1 files, 0 baton calls" in result.stdout
