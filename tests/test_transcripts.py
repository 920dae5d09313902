"""Reconstructing baton history from Claude Code transcripts and Codex rollouts."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import baton_lab as bl
from baton_lab.cli import app
from baton_lab.importers import transcripts
from baton_lab.importers.transcripts import claude_code
from baton_lab.importers.transcripts.curl import parse_command
from baton_lab.importers.transcripts.scan import candidate_lines
from builders import follow_up, loop, pattern, v1
from transcript_builders import API, ClaudeTranscript, CodexRollout, compact, curl_read, curl_write, sq

SECRET = "sk-ant-api03-abcdefghijklmnopqrstuvwxyz012345"
REAL_CODEX = Path(__file__).parent / "fixtures" / "real" / "simonw__claude-code-transcripts__tests__sample_codex_session.jsonl"


def _ok(namespace: str, updated_at: str, revision: int | None = None) -> str:
    body = {"ok": True, "updated_at": updated_at, "namespace": namespace}
    return compact(body if revision is None else {**body, "revision": revision})


def _batons() -> list[dict]:
    s1 = v1("2026-06-17-001", loops=[loop("OL-1")], follow_ups=[follow_up("FU-1")], context="it's deployed")
    s2 = v1("2026-06-17-002", "2026-06-17-001", loops=[loop("OL-1", status="verified")],
            follow_ups=[follow_up("FU-1", defer=1)], patterns=[pattern("P-1", occurrences=[("2026-06-17-002", "guessed a path")])])
    other = v1("2026-06-17-003", "2026-06-17-002", loops=[loop("OL-2")], follow_ups=[follow_up("FU-1", defer=2)])
    s4 = v1("2026-06-17-004", "2026-06-17-003", follow_ups=[follow_up("FU-1", defer=2)], context=f"token {SECRET} pasted")
    return [s1, s2, other, s4]


def _claude_session(tmp_path: Path) -> tuple[Path, list[dict]]:
    s1, s2, other, s4 = _batons()
    t = ClaudeTranscript()
    t.raw({"type": "queue-operation", "operation": "dequeue", "timestamp": "2026-06-17T09:00:00.000Z", "sessionId": t.session})
    t.prompt("start: read the baton from /v1/baton/read first")  # mentions the endpoint, calls nothing
    # 1 read at boot: the namespace has no baton yet (an empty read), with a literal token in the command
    t.bash("toolu_01", curl_read("home", auth=f"-H 'Authorization: Bearer {SECRET}'"),
           compact({"baton": None, "namespace": "home", "updated_at": None}))
    # 2 write with single-quoted JSON containing an escaped quote
    t.bash("toolu_02", curl_write("home", s1), _ok("home", "2026-06-17T09:05:00Z"))
    # 3 Write tool creates the payload file, curl sends it with -d @file
    t.tool_use("toolu_03", "Write", {"file_path": "/tmp/baton-next.json", "content": json.dumps({"namespace": "home", "baton": s2}, indent=2)})
    t.tool_result("toolu_03", "File created successfully at: /tmp/baton-next.json", bash=False)
    t.bash("toolu_04", f"curl -s -X POST {API}/write -H 'Content-Type: application/json' -d @/tmp/baton-next.json | jq .",
           json.dumps(json.loads(_ok("home", "2026-06-17T09:10:00Z")), indent=2))
    # 4 MCP write rejected with 409: the body carries another writer's current baton
    conflict = {"detail": {"error": "baton_revision_conflict", "namespace": "home", "expected_revision": 3,
                           "current_baton": other, "current_updated_at": "2026-06-17T09:12:00Z", "current_revision": 5}}
    t.mcp("toolu_05", "amh_baton_write", {"namespace": "home", "baton": s1, "expected_revision": 3}, compact(conflict))
    # 5 python one-liner write: the call succeeded but its payload cannot be replayed
    t.bash("toolu_06", "python3 -c \"import json,urllib.request; b=json.load(open('/tmp/b.json')); "
           f"urllib.request.urlopen(urllib.request.Request('{API}/write', data=json.dumps(b).encode(), "
           f"headers={{'Authorization': 'Bearer {SECRET}'}}))\"", _ok("home", "2026-06-17T09:14:00Z"))
    # 6 failed write: bad token
    t.bash("toolu_07", curl_write("home", s4, auth="-H 'Authorization: Bearer wrong-token-123456'"),
           compact({"detail": "invalid token"}))
    # 7 heredoc write, then an MCP read that returns the same state with its revision
    t.bash("toolu_08", f"curl -s -X POST {API}/write -H 'Content-Type: application/json' -d @- <<'EOF'\n"
           + compact({"namespace": "home", "baton": s4, "expected_revision": 5}) + "\nEOF",
           _ok("home", "2026-06-17T09:20:00Z", revision=6))
    t.mcp("toolu_09", "amh_baton_read", {"namespace": "home"},
          compact({"baton": s4, "namespace": "home", "updated_at": "2026-06-17T09:20:00Z", "revision": 6}))
    # unknown record types are accepted (and skipped) even when they mention a baton endpoint
    t.raw({"type": "brand-new-record", "note": f"{API}/write", "timestamp": "2026-06-17T09:30:00.000Z"})
    # 8 a write whose result never arrives (session killed)
    t.bash("toolu_10", curl_write("home", s1), None)
    return t.write(tmp_path / "projects" / "-home-dev-proj" / f"{t.session}.jsonl"), [s1, s2, other, s4]


def test_claude_transcript_reads_writes_conflict_and_findings(lab: bl.Lab, tmp_path: Path) -> None:
    path, (s1, s2, other, s4) = _claude_session(tmp_path)

    summary = lab.import_(path)

    # read = stored + duplicates + proposals + empty + quarantined
    assert (summary.read, summary.stored, summary.duplicates, summary.empty, summary.quarantined) == (9, 4, 1, 1, 3)
    snaps = lab.snapshots("home")
    assert snaps["session_id"].to_list() == ["2026-06-17-001", "2026-06-17-002", "2026-06-17-003", "2026-06-17-004"]
    assert snaps["observed_kind"].unique().to_list() == ["transcript"]
    # the time of each result record
    assert [t.isoformat() for t in snaps["observed_at"]] == ["2026-06-17T09:00:05+00:00", "2026-06-17T09:00:09+00:00",
                                                             "2026-06-17T09:00:11+00:00", "2026-06-17T09:00:17+00:00"]
    assert snaps["revision"].to_list() == [None, None, 5, 6]
    assert json.loads(snaps["raw"][0])["context"] == "it's deployed"  # '\'' unescaped
    provenance = [json.loads(p) for p in snaps["provenance"]]
    assert [p["outcome"] for p in provenance] == ["write", "write", "conflict", "write"]
    assert [p["via"] for p in provenance] == ["curl", "curl", "mcp", "curl"]
    assert provenance[0]["sessionId"] == "6f1c2d3e-0000-4000-8000-000000000001"
    assert (provenance[0]["cwd"], provenance[0]["gitBranch"], provenance[0]["version"]) == ("/home/dev/proj", "main", "2.1.14")
    assert provenance[0]["isSidechain"] is False and provenance[0]["call_id"] == "toolu_02"
    assert provenance[1]["server_updated_at"] == "2026-06-17T09:10:00Z"
    assert provenance[3]["expected_revision"] == 5

    reasons = sorted(lab.quarantine()["reason"].to_list())
    assert reasons[0].startswith("baton write failed: response {\"detail\":\"invalid token\"}")
    assert reasons[1] == "baton write succeeded but unrecoverable payload: the call is made by python3, not curl"
    assert reasons[2] == "baton write without a result in the transcript"
    assert lab.quarantine()["kind"].unique().to_list() == ["document"]
    assert all("#line " in loc for loc in lab.quarantine()["location"])

    # events across the reconstructed history
    events = lab.events("home")
    transitions = {(e["item_id"], e["event"], e["from_value"], e["to_value"]) for e in events.iter_rows(named=True)}
    assert ("OL-1", "status_changed", "open", "verified") in transitions
    assert ("FU-1", "deferred", "0", "1") in transitions
    assert ("OL-2", "created", None, "open") in transitions


def test_transcript_secrets_never_reach_the_store(lab: bl.Lab, tmp_path: Path) -> None:
    path, _ = _claude_session(tmp_path)
    summary = lab.import_(path)
    assert summary.redactions >= 1
    dump = "".join(json.dumps(lab.table(name).to_dicts(), default=str) for name in ("snapshots", "quarantine", "sources",
                                                                                      "follow_ups", "open_loops"))
    assert SECRET not in dump and "wrong-token-123456" not in dump
    assert "[REDACTED:" in lab.snapshots("home")["raw"][3]


def test_transcript_import_is_idempotent_and_forced_kind_works(lab: bl.Lab, tmp_path: Path) -> None:
    path, _ = _claude_session(tmp_path)
    lab.import_(path)
    again = lab.import_(path)
    assert (again.read, again.sources_unchanged) == (0, 1)
    # the same session, resumed later (one more line) and read under another name with the kind forced:
    # a new source, but every state in it is already known
    copy = Path(shutil.copy(path, tmp_path / "session.log"))
    with copy.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps({"type": "system", "subtype": "turn_duration", "sessionId": "s", "uuid": "u"}) + "\n")
    forced = lab.import_transcripts(copy, kind="claude-code-transcript")
    assert (forced.stored, forced.duplicates, forced.empty, forced.quarantined) == (0, 5, 1, 3)
    assert lab.sources()["format"].to_list() == ["claude-code-transcript"] * 2


def test_real_claude_transcript_has_no_baton_calls(lab: bl.Lab, fixtures: Path) -> None:
    path = next((fixtures / "real").glob("*transcript.jsonl"))
    assert transcripts.sniff(path) == "claude-code-transcript"
    summary = lab.import_(path)
    assert (summary.sources, summary.read, summary.stored, summary.quarantined) == (1, 0, 0, 0)
    assert lab.sources()["format"].to_list() == ["claude-code-transcript"]
    assert lab.quarantine().height == 0


def test_real_codex_rollout_has_no_baton_calls(lab: bl.Lab) -> None:
    assert transcripts.sniff(REAL_CODEX) == "codex-rollout"
    summary = lab.import_(REAL_CODEX)
    assert (summary.sources, summary.read, summary.stored, summary.quarantined) == (1, 0, 0, 0)
    assert lab.sources()["format"].to_list() == ["codex-rollout"]


def test_codex_rollout_shell_and_exec_command(lab: bl.Lab, tmp_path: Path) -> None:
    s1, s2, *_ = _batons()
    r = CodexRollout()
    r.item({"type": "message", "role": "user", "content": [{"type": "input_text", "text": "update the baton"}]})
    r.shell("call_1", curl_read("proj"), compact({"baton": s1, "namespace": "proj", "updated_at": "2026-06-17T09:05:00Z",
                                                   "revision": 3}))
    r.shell("call_2", curl_write("proj", s2, expected_revision=3), _ok("proj", "2026-06-18T08:00:30Z", revision=4),
            exec_command=True)
    r.shell("call_3", curl_write("proj", s1), "curl: (7) Failed to connect to 127.0.0.1 port 9101", exit_code=7)
    r.item({"type": "token_count", "info": None}, kind="event_msg")
    r.item({"some": "thing"}, kind="world_state")  # unknown types are fine
    path = r.write(tmp_path / "sessions" / "2026" / "06" / "18" / "rollout-2026-06-18T08-00-00-x.jsonl")

    summary = lab.import_(tmp_path / "sessions")

    assert (summary.read, summary.stored, summary.quarantined) == (3, 2, 1)
    snaps = lab.snapshots("proj")
    assert snaps["session_id"].to_list() == ["2026-06-17-001", "2026-06-17-002"]
    assert snaps["revision"].to_list() == [3, 4]
    assert snaps["observed_at"][1].isoformat() == "2026-06-18T08:00:06+00:00"  # the output record
    prov = json.loads(snaps["provenance"][1])
    assert (prov["transcript"], prov["sessionId"], prov["gitBranch"], prov["version"], prov["call_id"]) == (
        "codex", "019b64e5-57fa-7463-b644-fba7e456f905", "feature/x", "0.77.0", "call_2")
    assert lab.quarantine()["reason"][0].startswith("baton write failed: error: curl: (7) Failed to connect")
    assert lab.sources()["format"].to_list() == ["codex-rollout"]
    assert path.exists()


def test_streaming_parses_only_candidate_lines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    s1, *_ = _batons()
    t = ClaudeTranscript()
    for i in range(300):  # noise: tool calls and results that have nothing to do with the baton
        t.bash(f"toolu_n{i}", f"ls -la /srv/{i}", "total 0\n" * 20)
    t.bash("toolu_w", curl_write("home", s1), _ok("home", "2026-06-17T10:00:00Z"))
    for i in range(300):
        t.prompt("x" * 500)
    path = t.write(tmp_path / "big.jsonl")

    parsed: list[bytes] = []
    real_loads = json.loads

    class Spy:
        JSONDecodeError = json.JSONDecodeError

        @staticmethod
        def loads(data, *args, **kwargs):
            parsed.append(data)
            return real_loads(data, *args, **kwargs)

    monkeypatch.setattr(claude_code, "json", Spy)
    info = transcripts.reader(path, "claude-code-transcript", "0" * 64, path.stat().st_size).info
    records = list(claude_code.read(str(path), info))
    assert [r.doc["baton"]["session_id"] for r in records] == ["2026-06-17-001"]
    assert len(parsed) == 2  # the write call and its result, out of 902 lines


def test_candidate_lines_across_chunk_boundaries() -> None:
    lines = [b'{"a":1}', b'{"x":"/v1/baton/read"}', b"noise" * 30, b'{"id":"toolu_9"}', b"tail /v1/baton/write"]
    data = b"\n".join(lines)  # no newline at the end
    pending: list[bytes] = []

    def markers() -> tuple[bytes, ...]:
        return (b"/v1/baton/", *pending)

    found = []
    for number, offset, line in candidate_lines(io.BytesIO(data), markers, chunk_size=16):
        assert data[offset:offset + len(line)] == line
        found.append((number, line))
        if number == 2:
            pending.append(b"toolu_9")  # watch for the result from now on
    assert found == [(2, lines[1]), (4, lines[3]), (5, lines[4])]


@pytest.mark.parametrize(("command", "payload", "problem"), [
    (f"curl -s {API}/write --data-raw '{{\"namespace\":\"a\",\"baton\":{{}}}}' && echo done", {"namespace": "a", "baton": {}}, None),
    (f"curl -s {API}/write -d'{{\"namespace\":\"a\"}}'", {"namespace": "a"}, None),
    (f"BATON_JSON={sq(compact({'namespace': 'v', 'baton': {'c': 3}}))}\ncurl -s {API}/write -d \"$BATON_JSON\"",
     {"namespace": "v", "baton": {"c": 3}}, None),
    (f"BATON_JSON=$(cat <<'EOF'\n{{\"namespace\":\"v\",\"baton\":{{\"d\":4}}}}\nEOF\n)\ncurl -s {API}/write -d \"$BATON_JSON\"",
     {"namespace": "v", "baton": {"d": 4}}, None),
    (f"cat <<'EOF' | curl -s {API}/write -d @-\n{{\"namespace\":\"h\",\"baton\":{{}}}}\nEOF", {"namespace": "h", "baton": {}}, None),
    (f"cat > /tmp/b.json <<'EOF'\n{{\"namespace\":\"f\",\"baton\":{{}}}}\nEOF\ncurl -s {API}/write -d @/tmp/b.json",
     {"namespace": "f", "baton": {}}, None),
    (f"curl -s -X POST {API}/write \\\n  -H 'Content-Type: application/json' \\\n  -d '{{\"namespace\":\"c\",\"baton\":{{}}}}'",
     {"namespace": "c", "baton": {}}, None),
    (f"curl -s {API}/write -d \"$(jq -n '{{namespace:\"a\"}}')\"", None,
     "unrecoverable payload: the -d argument is built by command substitution"),
    (f"jq -n '{{namespace:\"a\",baton:{{}}}}' | curl -s {API}/write -d @-", None, "unrecoverable payload: payload produced by `jq`"),
    (f"curl -s {API}/write -d @/tmp/never-written.json", None,
     "unrecoverable payload: the file /tmp/never-written.json was not written in this transcript"),
    (f"curl -s {API}/write -d '{{\"namespace\": \"a\", \"baton\": {{unterminated", None,
     "unrecoverable payload: the command does not parse as shell (No closing quotation)"),
])
def test_curl_payload_extraction(command: str, payload: dict | None, problem: str | None) -> None:
    calls = parse_command(command).calls
    assert [(c.op, c.payload, c.problem) for c in calls] == [("write", payload, problem)]


def test_commands_that_only_mention_an_endpoint_make_no_call() -> None:
    assert parse_command("grep -rn '/v1/baton/write' src/ docs/").calls == []
    both = parse_command(f"{curl_read('a')} && {curl_write('a', {'schema_version': 1})}").calls
    assert [(c.op, c.payload) for c in both] == [("read", {"namespace": "a"}),
                                                 ("write", {"namespace": "a", "baton": {"schema_version": 1}})]


def test_cli_import_and_formats_list_transcripts(tmp_path: Path) -> None:
    path, _ = _claude_session(tmp_path)
    runner = CliRunner()
    db = str(tmp_path / "cli.duckdb")
    result = runner.invoke(app, ["import", str(path), "--db", db, "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["stored"], summary["quarantined"]) == (4, 3)
    formats = json.loads(runner.invoke(app, ["formats", "--json"]).stdout)
    names = {row["name"]: row["kind"] for row in formats}
    assert names["claude-code-transcript"] == names["codex-rollout"] == "transcript"
    assert names["git-history"] == "history" and names["capture-http"] == "capture"


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(["curl", "-d", " ", "\t", "\r", "\n", ";", "&", "|", ">", "<", "'", '"', "\\", "#",
                                 "a", "é", "实", "{", "}", ":", ",", "$T", "=", "-"]), max_size=30).map("".join))
def test_the_fast_tokenizer_splits_commands_as_shlex_does(command: str) -> None:
    """The regular-expression split of shell commands agrees with shlex's on every input (falling back to it)."""
    from baton_lab.importers.transcripts.curl import _shlex_tokens, _tokens

    try:
        want: object = _shlex_tokens(command)
    except ValueError as exc:
        want = str(exc)
    try:
        got: object = _tokens(command)
    except ValueError as exc:
        got = str(exc)
    assert got == want


@pytest.mark.parametrize("seed", range(6))
def test_found_ahead_in_threads_is_the_same_as_searched_in_turn(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 seed: int) -> None:
    """A mapped file above PARALLEL_MIN has its start markers found ahead, one thread per slice, and its newlines
    counted per block: the lines, numbers and offsets must be those of the plain search (the in-memory stream path,
    which never indexes), including markers cut by a slice's end, on block boundaries and added mid-file."""
    import random

    from baton_lab.importers.transcripts import scan

    rng = random.Random(seed)
    words = [b"x" * rng.randint(0, 40), b"/v1/baton/", b"amh_baton_", b"toolu_7", b"baton", b"/v1/bat", b"\r"]
    data = b"".join(rng.choice(words) + (b"\n" if rng.random() < 0.3 else b"") for _ in range(3000))
    path = tmp_path / "t.jsonl"
    path.write_bytes(data)
    monkeypatch.setattr(scan, "PARALLEL_MIN", 0)
    monkeypatch.setattr(scan, "BLOCK", rng.choice([16, 64, 256]))
    monkeypatch.setattr(scan, "NP_COUNT_STEP", 1024)
    monkeypatch.setattr(scan.os, "cpu_count", lambda: rng.choice([2, 3, 7]))

    def run(handle) -> list[tuple[int, int, bytes]]:
        pending: list[bytes] = []

        def markers() -> tuple[bytes, ...]:
            return (b"/v1/baton/", b"amh_baton_", *pending)

        found = []
        for number, offset, line in scan.candidate_lines(handle, markers, chunk_size=4096):
            found.append((number, offset, line))
            if len(found) == 5:
                pending.append(b"toolu_7")  # a call id watched from the fifth candidate on
        return found

    built = []
    real_build = scan._Index.build
    monkeypatch.setattr(scan._Index, "build", classmethod(lambda cls, *a: built.append(1) or real_build(*a)))
    with path.open("rb") as handle:
        ahead = run(handle)
    assert built, "the mapped file was not indexed"
    plain = run(io.BytesIO(data))
    assert len(plain) > 20 and ahead == plain
