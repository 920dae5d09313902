"""End to end with the real session-baton server (PyPI `session-baton`, a test dependency): write batons
through its HTTP API, capture after each write, then stop it and check nothing is lost."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import baton_lab as bl
from baton_lab.cli import app
from builders import follow_up, loop, pattern, v1

pytest.importorskip("session_baton")

TOKEN = "sb-integration-token-0123456789"
STARTUP_TIMEOUT = 20.0


@dataclass
class Server:
    url: str
    db: Path
    process: subprocess.Popen[bytes]

    def write(self, namespace: str, baton: dict[str, Any]) -> dict[str, Any]:
        request = urllib.request.Request(f"{self.url}/v1/baton/write", method="POST",
                                         data=json.dumps({"namespace": namespace, "baton": baton}).encode(),
                                         headers={"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"})
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.loads(response.read())

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    port = _free_port()
    db = tmp_path / "server" / "baton.sqlite3"
    env = {**os.environ, "BATON_API_TOKEN": TOKEN, "BATON_DB_PATH": str(db), "BATON_HOST": "127.0.0.1",
           "BATON_PORT": str(port)}
    log = (tmp_path / "server.log").open("wb")
    process = subprocess.Popen([sys.executable, "-m", "uvicorn", "session_baton.server:app", "--host", "127.0.0.1",
                                "--port", str(port), "--log-level", "warning"], env=env, stdout=log, stderr=subprocess.STDOUT)
    running = Server(f"http://127.0.0.1:{port}", db, process)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            if process.poll() is not None:
                pytest.fail(f"session-baton exited with {process.returncode}: {(tmp_path / 'server.log').read_text()}")
            try:
                with urllib.request.urlopen(f"{running.url}/health", timeout=1) as response:
                    if json.loads(response.read())["status"] == "ok":
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"session-baton did not answer /health within {STARTUP_TIMEOUT}s")
            time.sleep(0.1)
        yield running
    finally:
        running.stop()
        log.close()


def _history() -> list[dict[str, Any]]:
    return [
        v1("2026-06-17-001", loops=[loop("OL-1")], follow_ups=[follow_up("FU-1")]),
        v1("2026-06-17-002", "2026-06-17-001", loops=[loop("OL-1", status="verified")], follow_ups=[follow_up("FU-1", defer=1)],
           patterns=[pattern("P-1", occurrences=[("2026-06-17-002", "assumed nginx on host")])]),
        v1("2026-06-17-002", "2026-06-17-001", loops=[loop("OL-1", status="verified")], follow_ups=[follow_up("FU-1", defer=1)],
           patterns=[pattern("P-1", occurrences=[("2026-06-17-002", "assumed nginx on host")])]),  # same content again
        v1("2026-06-18-001", "2026-06-17-002", loops=[loop("OL-2")], follow_ups=[follow_up("FU-1", defer=2)],
           patterns=[pattern("P-1", count=2, occurrences=[("2026-06-17-002", "assumed nginx on host"),
                                                          ("2026-06-18-001", "assumed port 80")])]),
    ]


def test_capture_after_each_write_then_server_down(server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATON_API_TOKEN", TOKEN)
    db = str(tmp_path / "lab.duckdb")
    runner = CliRunner()

    def capture(*extra: str, input: str | None = None):
        return runner.invoke(app, ["capture", "--from", server.url, "--namespace", "home", "--token-env", "BATON_API_TOKEN",
                                   "--db", db, "--json", *extra], input=input)

    empty = capture()
    assert empty.exit_code == 0, empty.output
    assert json.loads(empty.stdout)["namespaces"][0]["empty"] is True

    written = []
    for baton in _history():
        written.append(server.write("home", baton))
        result = capture()
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["ok"] is True
    assert all(w["ok"] for w in written)

    # the server's SQLite file, read-only while the server runs: the same state, nothing new
    from_file = runner.invoke(app, ["capture", "--from", str(server.db), "--db", db, "--json"])
    assert from_file.exit_code == 0, from_file.output
    assert json.loads(from_file.stdout)["namespaces"][0]["new_snapshot"] is False

    server.stop()
    down = capture()
    assert down.exit_code == 1 and "cannot reach" in down.stderr
    hook = capture("--hook", input=json.dumps({"session_id": "cc-1", "hook_event_name": "SessionEnd"}))
    assert hook.exit_code == 0

    lab = bl.open(db)
    snaps = lab.snapshots("home")
    assert snaps["session_id"].to_list() == ["2026-06-17-001", "2026-06-17-002", "2026-06-18-001"]
    assert snaps["observed_kind"].unique().to_list() == ["capture"]
    assert [json.loads(p)["server_updated_at"] for p in snaps["provenance"]] == [written[0]["updated_at"],
                                                                                  written[1]["updated_at"],
                                                                                  written[3]["updated_at"]]
    for stored, baton in zip(snaps["raw"], [_history()[0], _history()[1], _history()[3]]):
        assert json.loads(stored) == baton

    events = {(e["item_id"], e["event"], e["from_value"], e["to_value"], e["seq"]) for e in lab.events("home").iter_rows(named=True)}
    assert ("OL-1", "status_changed", "open", "verified", 2) in events
    assert ("FU-1", "deferred", "1", "2", 3) in events
    assert ("OL-1", "disappeared", "verified", None, 3) in events
    assert ("P-1", "count_changed", "1", "2", 3) in events
    assert sorted(lab.pattern_occurrences("home")["context"].to_list()) == ["assumed nginx on host", "assumed port 80"]

    log = lab.table("captures")
    assert log["ok"].to_list() == [True] * 6 + [False, False]
    assert log["new_snapshot"].to_list()[:6] == [False, True, True, False, True, False]
    assert log.filter(ok=False)["session_id"].to_list() == [None, "cc-1"]
    assert TOKEN not in json.dumps([lab.table(t).to_dicts() for t in ("captures", "sources", "snapshots")], default=str)
