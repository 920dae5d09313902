"""Import semantics: idempotent, transactional, namespace resolution, and a clear error for a second writer."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import baton_lab as bl
from baton_lab.store import ingest
from builders import loop, v1, v2, write, write_sequence


def _counts(lab: bl.Lab) -> dict[str, int]:
    return lab.info()["tables"]


def test_reimporting_the_same_sources_adds_nothing(lab: bl.Lab, tmp_path: Path) -> None:
    write_sequence(tmp_path / "h", [v1("s1", loops=[loop("OL-1")]), v1("s2", "s1", loops=[loop("OL-1", status="verified")])])
    (tmp_path / "h" / "torn.json").write_text('{"schema_version": 1', encoding="utf-8")
    first = lab.import_(tmp_path / "h", namespace="ns")
    before = _counts(lab)
    again = lab.import_(tmp_path / "h", namespace="ns")
    assert (first.stored, first.quarantined) == (2, 1)
    assert (again.read, again.stored, again.sources_unchanged) == (0, 0, 3)
    assert _counts(lab) == before


def test_same_content_in_a_new_file_is_a_duplicate(lab: bl.Lab, tmp_path: Path) -> None:
    doc = v1("s1", loops=[loop("OL-1")])
    lab.import_(write(tmp_path / "a.json", doc), namespace="ns")
    summary = lab.import_(write(tmp_path / "b.json", doc, indent=4), namespace="ns")  # other bytes, same content
    assert (summary.read, summary.stored, summary.duplicates) == (1, 0, 1)
    assert lab.snapshots().height == 1 and lab.sources().height == 2


def test_failure_mid_import_leaves_the_store_unchanged(lab: bl.Lab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lab.import_(write(tmp_path / "first.json", v1("s1", loops=[loop("OL-1")])), namespace="ns")
    before = _counts(lab)

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(ingest, "derive_events", boom)
    write_sequence(tmp_path / "more", [v1("s2", "s1", loops=[loop("OL-1", status="verified")]), v1("s3", "s2")])
    with pytest.raises(RuntimeError, match="disk full"):
        lab.import_(tmp_path / "more", namespace="ns")
    assert _counts(lab) == before
    monkeypatch.undo()
    assert lab.import_(tmp_path / "more", namespace="ns").stored == 2  # nothing half-imported blocks the retry


def test_namespace_resolution_order(lab: bl.Lab, tmp_path: Path) -> None:
    v2_doc = write(tmp_path / "v2.json", v2("from-meta", 1))
    assert list(lab.import_(v2_doc).namespaces) == ["from-meta"]
    assert list(lab.import_(v2_doc, namespace="explicit").namespaces) == ["explicit"]  # --namespace wins
    cache = write(tmp_path / "batons" / "project_beta.json", {**v1("s1"), "_sync_status": "synced"})
    assert list(lab.import_(cache).namespaces) == ["project_beta"]


def test_a_document_without_namespace_is_quarantined_with_a_hint_and_the_rest_imports(lab: bl.Lab, tmp_path: Path) -> None:
    write(tmp_path / "h" / "a.json", v2("ok", 1))
    write(tmp_path / "h" / "b.json", v1("s1"))
    summary = lab.import_(tmp_path / "h")
    assert (summary.read, summary.stored, summary.quarantined) == (2, 1, 1)
    row = lab.quarantine().row(0, named=True)
    assert row["uri"].endswith("b.json") and row["reason"].startswith("no namespace")
    assert "--namespace" in row["reason"]
    assert any("no namespace" in line for line in summary.lines())
    assert lab.snapshots()["namespace"].to_list() == ["ok"]


def test_missing_path_is_a_user_error(lab: bl.Lab, tmp_path: Path) -> None:
    with pytest.raises(bl.BatonLabError, match="no such file"):
        lab.import_(tmp_path / "nope")


def test_a_second_writer_gets_a_clear_error_not_a_corrupted_store(lab: bl.Lab, tmp_path: Path) -> None:
    write(tmp_path / "h" / "a.json", v1("s1", loops=[loop("OL-1")]))
    holder = textwrap.dedent(f"""
        import sys, time, duckdb
        con = duckdb.connect({str(lab.path)!r})
        con.execute("BEGIN TRANSACTION")
        print("ready", flush=True)
        sys.stdin.readline()
    """)
    proc = subprocess.Popen([sys.executable, "-c", holder], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        with pytest.raises(bl.StoreLocked, match="in use by another process"):
            lab.import_(tmp_path / "h", namespace="ns")
    finally:
        proc.communicate("\n", timeout=30)
    assert lab.import_(tmp_path / "h", namespace="ns").stored == 1
    assert lab.snapshots().height == 1


def test_bl_open_honours_the_environment_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATON_LAB_DB", str(tmp_path / "env.duckdb"))
    assert bl.open().path == tmp_path / "env.duckdb"
    assert bl.open(tmp_path / "explicit.duckdb").path == tmp_path / "explicit.duckdb"


def test_store_records_its_schema_version_and_refuses_newer(tmp_path: Path) -> None:
    import duckdb

    from baton_lab.store import connection

    lab = bl.open(tmp_path / "s.duckdb")
    with lab.connect() as con:
        assert con.execute("SELECT value FROM baton_lab_meta WHERE key = 'schema_version'").fetchall() == [
            (str(connection.SCHEMA_VERSION),)]
        con.execute("UPDATE baton_lab_meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(bl.BatonLabError, match="newer"):
        bl.open(tmp_path / "s.duckdb")
    assert isinstance(duckdb.__version__, str)


def test_lab_repr_html_lists_tables_and_namespaces(lab: bl.Lab, tmp_path: Path) -> None:
    assert "empty store" in lab._repr_html_()
    lab.import_(write(tmp_path / "a.json", v2("<b>ns</b>", 1)))
    html = lab._repr_html_()
    assert "snapshots" in html and "&lt;b&gt;ns&lt;/b&gt;" in html and "<b>ns</b>" not in html


def test_a_store_at_an_older_schema_version_is_migrated_forward(tmp_path: Path) -> None:
    import duckdb

    from baton_lab.store import connection

    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE baton_lab_meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
    connection.MIGRATIONS[0](con)
    con.execute("INSERT INTO baton_lab_meta VALUES ('schema_version', '1')")
    con.close()

    lab = bl.open(path)
    with lab.connect(read_only=True) as con:
        version = con.execute("SELECT value FROM baton_lab_meta WHERE key = 'schema_version'").fetchall()
        tables = {row[0] for row in con.execute("SHOW TABLES").fetchall()}
    assert version == [(str(connection.SCHEMA_VERSION),)]
    assert "captures" in tables and "captures" not in connection._TABLES_V1
