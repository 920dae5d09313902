"""The CLI: thin commands over the library, JSON for scripts, one-line errors with hints."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from baton_lab.cli import app
from baton_lab.store.schemas import TABLES
from builders import loop, v1, v2, write, write_sequence

runner = CliRunner()
README = Path(__file__).resolve().parent.parent / "README.md"


def _run(*args: str, env: dict[str, str] | None = None):
    return runner.invoke(app, list(args), env=env)


def test_import_json_summary_and_info(tmp_path: Path) -> None:
    db = str(tmp_path / "s.duckdb")
    write_sequence(tmp_path / "h", [v1("s1", loops=[loop("OL-1")]), v1("s2", "s1", loops=[loop("OL-1", status="failed")])])
    (tmp_path / "h" / "torn.json").write_text("{", encoding="utf-8")

    result = _run("import", str(tmp_path / "h"), "--namespace", "home", "--db", db, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["read"], summary["stored"], summary["quarantined"]) == (3, 2, 1)
    assert summary["namespaces"]["home"]["snapshots"] == 2

    info = json.loads(_run("info", "--db", db, "--json").stdout)
    assert info["tables"]["snapshots"] == 2 and info["tables"]["events"] > 0
    assert info["namespaces"][0]["namespace"] == "home" and info["namespaces"][0]["snapshots"] == 2

    text = _run("info", "--db", db)
    assert text.exit_code == 0 and "home" in text.stdout and "snapshots" in text.stdout


def test_import_text_summary_says_read_equals_stored_plus_quarantined(tmp_path: Path) -> None:
    write(tmp_path / "a.json", v2("alpha", 1))
    result = _run("import", str(tmp_path / "a.json"), "--db", str(tmp_path / "s.duckdb"))
    assert result.exit_code == 0
    assert "read 1 documents from 1 sources" in result.stdout
    assert "stored 1 · duplicates 0 · proposals 0 · empty reads 0 · quarantined 0" in result.stdout


def test_db_from_environment_variable(tmp_path: Path) -> None:
    write(tmp_path / "a.json", v2("alpha", 1))
    env = {"BATON_LAB_DB": str(tmp_path / "env.duckdb")}
    assert _run("import", str(tmp_path / "a.json"), env=env).exit_code == 0
    assert (tmp_path / "env.duckdb").exists()
    assert json.loads(_run("info", "--json", env=env).stdout)["tables"]["snapshots"] == 1


def test_validate_lists_quarantine(tmp_path: Path) -> None:
    db = str(tmp_path / "s.duckdb")
    (tmp_path / "bad.json").write_text('{"a": 1} x', encoding="utf-8")
    _run("import", str(tmp_path / "bad.json"), "--db", db, "-n", "ns")
    rows = json.loads(_run("validate", "--db", db, "--json").stdout)
    assert len(rows) == 1 and rows[0]["kind"] == "document" and "bad.json" in rows[0]["location"]
    text = _run("validate", "--db", db).stdout
    assert "1 findings" in text


def test_schema_json_comes_from_the_models() -> None:
    tables = json.loads(_run("schema", "--json").stdout)
    assert [t["table"] for t in tables] == list(TABLES)
    loops = next(t for t in tables if t["table"] == "open_loops")
    status = next(c for c in loops["columns"] if c["name"] == "status")
    assert status["allowed_values"] == sorted(["open", "verified", "failed", "escalated", "stale"])
    raw = next(c for c in next(t for t in tables if t["table"] == "snapshots")["columns"] if c["name"] == "raw")
    assert raw["type"] == "JSON" and raw["nullable"] is False


def test_formats_lists_detection_and_versions() -> None:
    rows = json.loads(_run("formats", "--json").stdout)
    names = [r["name"] for r in rows]
    assert {"baton-v1", "baton-v2", "api-envelope", "local-cache", "patch-proposal", "ndjson", "directory"} <= set(names)
    assert all(r["version"] and r["detection"] for r in rows)


@pytest.mark.parametrize("args, message, hint", [
    (["import", "/definitely/not/here"], "no such file or directory", "baton-lab import"),
    (["import", "{tmp}/a.json", "--format", "baton-v9"], "unknown format 'baton-v9'", "baton-lab formats"),
])
def test_user_errors_are_one_line_with_a_hint(tmp_path: Path, args: list[str], message: str, hint: str) -> None:
    write(tmp_path / "a.json", v2("alpha", 1))
    write(tmp_path / "v1.json", v1("s1"))
    args = [a.replace("{tmp}", str(tmp_path)) for a in args] + ["--db", str(tmp_path / "s.duckdb")]
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines[0].startswith("error:") and message in lines[0]
    assert lines[1].startswith("hint:") and hint in lines[1]


def test_a_document_without_namespace_is_reported_with_a_hint_not_an_abort(tmp_path: Path) -> None:
    write(tmp_path / "in" / "a.json", v2("alpha", 1))
    write(tmp_path / "in" / "v1.json", v1("s1"))
    result = runner.invoke(app, ["import", str(tmp_path / "in"), "--db", str(tmp_path / "s.duckdb")])
    assert result.exit_code == 0, result.output
    assert "stored 1" in result.stdout and "quarantined 1" in result.stdout
    assert "no namespace" in result.stdout and "--namespace" in result.stdout


def test_every_command_has_help_and_is_in_the_readme() -> None:
    readme = README.read_text(encoding="utf-8")
    for command in app.registered_commands:
        name = command.name or command.callback.__name__
        assert command.callback.__doc__, f"{name} has no help text"
        assert f"baton-lab {name}" in readme, f"`baton-lab {name}` is not documented in README.md"


def test_demo_imports_every_bundled_namespace(tmp_path: Path) -> None:
    result = _run("demo", "--db", str(tmp_path / "demo.duckdb"), "--json")
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)["info"]
    snapshots = {ns["namespace"]: ns["snapshots"] for ns in info["namespaces"]}
    assert sorted(snapshots) == ["healthy-loop-001", "log-nobody-reads-002", "rules-dont-stick-003",
                                 "transcript-default-005", "v2-default-004"]
    assert all(count >= 49 for count in snapshots.values())
    assert info["tables"]["events"] > 1000
