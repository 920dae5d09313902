"""Capture from a server (a stand-in memhall on loopback), its SQLite file, the local cache, and as a hook."""

from __future__ import annotations

import json
import socket
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import baton_lab as bl
from baton_lab.capture import capture
from baton_lab.cli import app
from builders import follow_up, loop, v1, v2, v2_loop, write

TOKEN = "mh-test-token-0123456789abcdef"


class FakeMemhall:
    """`POST /v1/baton/read` like memhall: envelope with `revision`; bearer token required."""

    def __init__(self) -> None:
        self.batons: dict[str, tuple[dict[str, Any], str, int]] = {}
        self.auth_seen: list[str | None] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                outer.auth_seen.append(self.headers.get("Authorization"))
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    return self._send(401, {"detail": "invalid token"})
                baton, updated, revision = outer.batons.get(body["namespace"], (None, None, 0))
                self._send(200, {"baton": baton, "namespace": body["namespace"], "updated_at": updated, "revision": revision})

            def _send(self, status: int, doc: dict[str, Any]) -> None:
                data = json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def set(self, namespace: str, baton: dict[str, Any], revision: int) -> None:
        self.batons[namespace] = (baton, f"2026-06-17T1{revision % 10}:00:00Z", revision)


@pytest.fixture
def memhall(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeMemhall]:
    monkeypatch.setenv("MH_API_TOKEN", TOKEN)
    server = FakeMemhall()
    server.thread.start()
    try:
        yield server
    finally:
        server.server.shutdown()
        server.server.server_close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _capture(lab: bl.Lab, source: Any, **options: Any):
    return lab.capture(source, **options)


def test_http_capture_adds_snapshots_only_on_change_and_reports_revision_gaps(lab: bl.Lab, memhall: FakeMemhall) -> None:
    first = _capture(lab, memhall.url, namespace="home", token_env="MH_API_TOKEN")
    assert first.ok and first.namespaces[0].empty and lab.snapshots().height == 0  # no baton yet

    memhall.set("home", v1("s1", loops=[loop("OL-1")]), revision=1)
    second = _capture(lab, memhall.url, namespace="home", token_env="MH_API_TOKEN")
    unchanged = _capture(lab, memhall.url, namespace="home", token_env="MH_API_TOKEN")
    memhall.set("home", v1("s4", "s1", loops=[loop("OL-1", status="verified")]), revision=4)
    fourth = _capture(lab, memhall.url, namespace="home", token_env="MH_API_TOKEN")

    assert [r.namespaces[0].new_snapshot for r in (second, unchanged, fourth)] == [True, False, True]
    assert (fourth.namespaces[0].previous_revision, fourth.namespaces[0].unseen_revisions) == (1, 2)
    assert fourth.unseen_revisions == 2 and "2 unseen revision(s) since 1" in str(fourth)
    snaps = lab.snapshots("home")
    assert snaps.select("session_id", "revision", "observed_kind").rows() == [("s1", 1, "capture"), ("s4", 4, "capture")]
    prov = json.loads(snaps["provenance"][1])
    assert prov["capture"] == "http" and prov["server_updated_at"] == "2026-06-17T14:00:00Z"
    log = lab.table("captures")
    assert log.select("ok", "revision", "unseen_revisions", "new_snapshot").rows() == [
        (True, 0, None, False), (True, 1, 0, True), (True, 1, 0, False), (True, 4, 2, True)]
    events = lab.events("home").filter(event="status_changed")
    assert events.select("item_id", "from_value", "to_value").rows() == [("OL-1", "open", "verified")]
    assert memhall.auth_seen[-1] == f"Bearer {TOKEN}"
    everything = json.dumps([lab.table(t).to_dicts() for t in ("captures", "sources", "snapshots", "quarantine")], default=str)
    assert TOKEN not in everything


def test_http_capture_failures_are_logged_and_change_nothing(lab: bl.Lab, memhall: FakeMemhall,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    memhall.set("home", v1("s1"), revision=1)
    lab.capture(memhall.url, namespace="home", token_env="MH_API_TOKEN")
    monkeypatch.setenv("MH_API_TOKEN", "wrong-token-abcdef123")
    denied = lab.capture(memhall.url, namespace="home", token_env="MH_API_TOKEN")
    down = lab.capture(f"http://127.0.0.1:{_free_port()}", namespace="home", token_env="MH_API_TOKEN", timeout=1)
    monkeypatch.delenv("MH_API_TOKEN")
    no_token = lab.capture(memhall.url, namespace="home", token_env="MH_API_TOKEN")

    assert not denied.ok and "HTTP 401 (check --token-env)" in (denied.error or "")
    assert not down.ok and "cannot reach" in (down.error or "")
    assert not no_token.ok and no_token.error == "the environment variable MH_API_TOKEN is not set (it should hold the bearer token)"
    assert lab.snapshots().height == 1
    log = lab.table("captures")
    assert log["ok"].to_list() == [True, False, False, False]
    assert log["namespace"].to_list() == ["home"] * 4
    assert "wrong-token" not in json.dumps(log.to_dicts(), default=str)
    with pytest.raises(bl.BatonLabError, match="needs --namespace"):
        lab.capture(memhall.url)


def _session_baton_db(path: Path) -> sqlite3.Connection:
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("CREATE TABLE batons (namespace TEXT PRIMARY KEY, updated_at TEXT NOT NULL, data TEXT NOT NULL)")
    return con


def _upsert(con: sqlite3.Connection, namespace: str, baton: Any, updated_at: str) -> None:
    data = baton if isinstance(baton, str) else json.dumps(baton)
    con.execute("INSERT INTO batons VALUES (?, ?, ?) ON CONFLICT(namespace) DO UPDATE SET data = excluded.data, "
                "updated_at = excluded.updated_at", (namespace, updated_at, data))
    con.commit()


def test_sqlite_capture_reads_a_live_wal_database(lab: bl.Lab, tmp_path: Path) -> None:
    db = tmp_path / "data" / "baton.sqlite3"
    db.parent.mkdir()
    server = _session_baton_db(db)  # stays open, like the running server
    try:
        _upsert(server, "home", v1("h1", follow_ups=[follow_up("FU-1")]), "2026-06-17T01:00:00+00:00")
        _upsert(server, "project:alpha", v2("project:alpha", 3, loops=[v2_loop("OL-001")]), "2026-06-17T02:00:00+00:00")
        _upsert(server, "broken", "{not json", "2026-06-17T03:00:00+00:00")
        first = lab.capture(db)
        _upsert(server, "home", v1("h2", "h1", follow_ups=[follow_up("FU-1", defer=1)]), "2026-06-18T01:00:00+00:00")
        second = lab.capture(db, namespace="home")
    finally:
        server.close()

    assert first.kind == "sqlite" and [ns.namespace for ns in first.namespaces] == ["broken", "home", "project:alpha"]
    assert (first.summary.stored, first.summary.quarantined) == (2, 1)
    assert [ns.new_snapshot for ns in second.namespaces] == [True]
    assert lab.snapshots("home")["session_id"].to_list() == ["h1", "h2"]
    assert lab.events("home").filter(event="deferred").select("item_id", "delta").rows() == [("FU-1", 1)]
    assert lab.snapshots("project:alpha")["revision"].to_list() == [3]
    assert "not a baton" in lab.quarantine()["reason"][0] or "neither a v1 nor a v2" in lab.quarantine()["reason"][0]


def test_sqlite_capture_of_a_memhall_store_with_tenants_and_revisions(lab: bl.Lab, tmp_path: Path) -> None:
    db = tmp_path / "memhall.sqlite3"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE batons (tenant_id TEXT NOT NULL, namespace TEXT NOT NULL, updated_at TEXT NOT NULL, "
                "data TEXT NOT NULL, revision INTEGER DEFAULT 1, PRIMARY KEY (tenant_id, namespace))")
    con.execute("INSERT INTO batons VALUES ('maki', 'home', '2026-06-17T01:00:00Z', ?, 2)", (json.dumps(v1("m1")),))
    con.commit()
    lab.capture(db)
    con.execute("UPDATE batons SET data = ?, revision = 7 WHERE tenant_id = 'maki'", (json.dumps(v1("m2", "m1")),))
    con.commit()
    con.close()

    later = lab.capture(db, tenant="maki")

    state = later.namespaces[0]
    assert (state.namespace, state.tenant_id, state.revision, state.previous_revision, state.unseen_revisions) == (
        "home", "maki", 7, 2, 4)
    assert lab.snapshots("home")["revision"].to_list() == [2, 7]
    assert json.loads(lab.snapshots("home")["provenance"][0])["tenant_id"] == "maki"
    assert lab.sql("SELECT sum(unseen_revisions) AS n FROM captures")["n"][0] == 4


def test_cache_capture(lab: bl.Lab, tmp_path: Path) -> None:
    cache = tmp_path / "batons"
    write(cache / "home.json", {**v1("c1", loops=[loop("OL-1")]), "_sync_status": "synced"})
    write(cache / "project_alpha.json", {**v1("p1"), "_sync_status": "pending_upload"})
    everything = lab.capture(cache)
    write(cache / "home.json", {**v1("c2", "c1", loops=[loop("OL-1", status="failed")]), "_sync_status": "synced"})
    one = lab.capture(cache, namespace="home")
    missing = lab.capture(cache, namespace="nope")

    assert sorted(ns.namespace for ns in everything.namespaces) == ["home", "project_alpha"]
    assert one.namespaces[0].new_snapshot and lab.snapshots("home")["session_id"].to_list() == ["c1", "c2"]
    assert lab.snapshots("project_alpha")["sync_status"].to_list() == ["pending_upload"]
    assert not missing.ok and "no cache file for namespace 'nope'" in (missing.error or "")
    assert "file_mtime" in json.loads(lab.snapshots("home")["provenance"][0])


HOOK = {"session_id": "abc-123", "transcript_path": "/home/dev/.claude/projects/p/abc-123.jsonl", "cwd": "/home/dev/p",
        "hook_event_name": "SessionEnd", "reason": "exit"}


def test_hook_capture_attaches_the_session(tmp_path: Path, memhall: FakeMemhall) -> None:
    memhall.set("home", v1("s1"), revision=1)
    db = str(tmp_path / "hook.duckdb")
    result = CliRunner().invoke(app, ["capture", "--hook", "--from", memhall.url, "--namespace", "home",
                                      "--token-env", "MH_API_TOKEN", "--db", db], input=json.dumps(HOOK))
    assert result.exit_code == 0, result.output
    lab = bl.open(db)
    prov = json.loads(lab.snapshots()["provenance"][0])
    assert (prov["hook_session_id"], prov["hook_event"], prov["transcript_path"]) == (
        "abc-123", "SessionEnd", HOOK["transcript_path"])
    assert lab.table("captures").select("session_id", "hook_event", "ok").rows() == [("abc-123", "SessionEnd", True)]


def test_hook_exits_zero_when_the_server_is_down(tmp_path: Path) -> None:
    db = str(tmp_path / "hook.duckdb")
    result = CliRunner().invoke(app, ["capture", "--hook", "--from", f"http://127.0.0.1:{_free_port()}", "-n", "home",
                                      "--db", db], input=json.dumps(HOOK))
    assert result.exit_code == 0   # how fast it gives up is the hook's 2 s timeout, not a wall-clock test
    assert "cannot reach" in result.stderr
    log = bl.open(db).table("captures")
    assert log.select("ok", "session_id", "namespace").rows() == [(False, "abc-123", "home")]
    # garbage on stdin, a store that cannot be opened: still exit 0
    junk = CliRunner().invoke(app, ["capture", "--hook", "--from", "http://127.0.0.1:1", "-n", "home",
                                    "--db", str(tmp_path)], input="not json")
    assert junk.exit_code == 0 and "baton-lab capture:" in junk.stderr


def test_cli_capture_reports_and_fails_cleanly(tmp_path: Path, memhall: FakeMemhall) -> None:
    memhall.set("home", v1("s1"), revision=3)
    db = str(tmp_path / "cli.duckdb")
    runner = CliRunner()
    ok = runner.invoke(app, ["capture", "--from", memhall.url, "-n", "home", "--token-env", "MH_API_TOKEN", "--db", db, "--json"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["namespaces"][0]["revision"] == 3
    text = runner.invoke(app, ["capture", "--from", memhall.url, "-n", "home", "--token-env", "MH_API_TOKEN", "--db", db])
    assert text.exit_code == 0 and "captured home from" in text.stdout and "unchanged, revision 3" in text.stdout
    down = runner.invoke(app, ["capture", "--from", f"http://127.0.0.1:{_free_port()}", "-n", "home", "--db", db])
    assert down.exit_code == 1 and down.stderr.startswith("error: cannot reach")
    no_ns = runner.invoke(app, ["capture", "--from", memhall.url, "--db", db])
    assert no_ns.exit_code == 1 and "needs --namespace" in no_ns.stderr


def test_capture_time_is_the_observation(tmp_path: Path, memhall: FakeMemhall) -> None:
    memhall.set("home", v1("s1"), revision=1)
    lab = bl.open(tmp_path / "s.duckdb")
    when = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    with lab.connect() as con:
        result = capture(con, memhall.url, namespace="home", token_env="MH_API_TOKEN", now=when)
    assert result.captured_at == when
    assert lab.snapshots()["observed_at"][0] == when
