"""Each Session Baton format: detection, unwrapping, namespaces, clocks and tolerance of bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import baton_lab as bl
from builders import (anti_pattern, decision, follow_up, loop, pattern, v1, v2, v2_follow_up, v2_loop, write,
                      write_sequence)


def test_v1_single_file_with_bom_and_cjk(lab: bl.Lab, tmp_path: Path) -> None:
    doc = v1("2026-06-17-001", loops=[loop("OL-1")], follow_ups=[follow_up("FU-1")],
             patterns=[pattern("P-1", occurrences=[("2026-06-17-001", "路径猜测")])], decisions=[decision("D-1")],
             context="会话交接：修复了部署 🚀")
    path = write(tmp_path / "baton.json", doc, bom=True, indent=2)

    summary = lab.import_(path, namespace="home")

    assert (summary.read, summary.stored, summary.quarantined) == (1, 1, 0)
    snap = lab.snapshots().row(0, named=True)
    assert snap["namespace"] == "home" and snap["seq"] == 1 and snap["schema_version"] == "1"
    assert snap["context"] == "会话交接：修复了部署 🚀"
    assert snap["written_at_raw"] == "2026-06-17T10:00:00+08:00"
    assert snap["written_at"].isoformat() == "2026-06-17T02:00:00+00:00"
    assert json.loads(snap["raw"]) == doc
    assert lab.open_loops()["verify_method"].to_list() == ["http"]
    assert lab.follow_ups()["status"].to_list() == ["open"]  # v1: present means open
    assert lab.pattern_occurrences()["context"].to_list() == ["路径猜测"]
    assert lab.decisions().select("what", "status").row(0) == ("decide D-1", "active")


def test_v1_missing_optional_fields_and_unknown_fields_are_kept(lab: bl.Lab, tmp_path: Path) -> None:
    minimal = {"schema_version": 1, "session_id": "s1", "updated_at": "2026-06-17",
               "open_loops": [{"id": "OL-1", "action": "a", "expected_outcome": "b", "created_at": "2026-06-17",
                               "owner": "maki"}],
               "mood": "good"}
    lab.import_(write(tmp_path / "b.json", minimal), namespace="ns")
    row = lab.open_loops().row(0, named=True)
    assert row["verify_method"] == "none" and row["status"] is None and row["source_tier"] is None
    assert json.loads(row["extra"]) == {"owner": "maki"}
    assert json.loads(lab.snapshots()["extra"][0]) == {"mood": "good"}
    assert lab.snapshots()["written_at"][0].isoformat() == "2026-06-17T00:00:00+00:00"


def test_v2_sections_map_to_canonical_tables(lab: bl.Lab, tmp_path: Path) -> None:
    doc = v2("project:alpha", 12, loops=[v2_loop("OL-001")], follow_ups=[v2_follow_up("FU-001", postponed=2)],
             anti_patterns=[anti_pattern("ap-001", occurrences=3, severity="high"),
                            anti_pattern("ap-002", occurrences=1),
                            anti_pattern("ap-003", occurrences=1, severity="high"),
                            anti_pattern("ap-004", occurrences=5, promoted="rules/no-guessing.md")])
    summary = lab.import_(write(tmp_path / "v2.json", doc))

    assert summary.stored == 1 and list(summary.namespaces) == ["project:alpha"]
    snap = lab.snapshots().row(0, named=True)
    assert (snap["schema_version"], snap["revision"], snap["writer"], snap["session_id"]) == ("2.0", 12, "claude", "2026-06-18-a")
    assert snap["context"] == "実装した baton cache"
    assert set(json.loads(snap["extra"])) == {"_security", "infra", "governance", "deprecated_patterns"}
    assert lab.open_loops()["status"].to_list() == ["open"]  # v2 pending is open
    fu = lab.follow_ups().row(0, named=True)
    assert (fu["title"], fu["defer_count"], fu["priority"], fu["status"]) == ("do FU-001", 2, "high", "open")
    pats = {r["item_id"]: r for r in lab.patterns().iter_rows(named=True)}
    assert {k: v["status"] for k, v in pats.items()} == {
        "ap-001": "rule_candidate", "ap-002": "observing", "ap-003": "rule_candidate", "ap-004": "graduated"}
    assert pats["ap-004"]["rule_ref"] == "rules/no-guessing.md" and pats["ap-001"]["count"] == 3
    infra = lab.infra_state().sort("item_id")
    assert infra["item_id"].to_list() == ["machines/mini2", "services/memhall"]
    assert infra["check_command"].to_list()[1] == "curl -sf $MEMHALL_PRIMARY_URL/health"
    assert lab.discovery_cache()["verified_still_valid"].to_list() == [True]
    assert lab.session_bridge()["summary"].to_list() == ["実装した baton cache"]


def test_api_envelope_server_time_is_the_observation(lab: bl.Lab, tmp_path: Path) -> None:
    envelope = {"baton": v1("s1", loops=[loop("OL-1")]), "namespace": "home", "updated_at": "2026-06-18T01:02:03+00:00"}
    empty = {"baton": None, "namespace": "home", "updated_at": None}
    write(tmp_path / "reads" / "1.json", envelope)
    write(tmp_path / "reads" / "2.json", empty)
    summary = lab.import_(tmp_path / "reads")
    assert (summary.read, summary.stored, summary.empty) == (2, 1, 1)
    snap = lab.snapshots().row(0, named=True)
    assert snap["observed_kind"] == "server" and snap["observed_at"].isoformat() == "2026-06-18T01:02:03+00:00"
    assert snap["format"] == "api-envelope"


def test_memhall_conflict_body_carries_the_current_baton(lab: bl.Lab, tmp_path: Path) -> None:
    body = {"detail": {"error": "baton_revision_conflict", "namespace": "home", "expected_revision": 3,
                       "current_baton": v2("home", 5), "current_updated_at": "2026-06-18T11:00:00Z", "current_revision": 5}}
    summary = lab.import_(write(tmp_path / "409.json", body))
    assert summary.stored == 1
    assert lab.snapshots().select("namespace", "revision", "observed_kind").row(0) == ("home", 5, "server")


def test_local_cache_namespace_from_file_name_and_sync_status_not_hashed(lab: bl.Lab, tmp_path: Path) -> None:
    baton = v1("s1", loops=[loop("OL-1")])
    write(tmp_path / "cache" / "project_alpha.json", {**baton, "_sync_status": "pending_upload"}, indent=2)
    write(tmp_path / "snapdir" / "001.json", baton)

    first = lab.import_(tmp_path / "cache")
    second = lab.import_(tmp_path / "snapdir", namespace="project_alpha")

    assert first.stored == 1 and list(first.namespaces) == ["project_alpha"]
    assert lab.snapshots()["sync_status"].to_list() == ["pending_upload"]
    # The same baton from a snapshot directory is the same snapshot (transport field ignored).
    assert (second.stored, second.duplicates) == (0, 1)
    assert lab.snapshots().height == 1


def test_patch_proposal_is_recorded_not_applied(lab: bl.Lab, tmp_path: Path) -> None:
    proposal = {"_patch_proposal": {"submitted_by": "qwen3.6", "submitted_at": "2026-06-18T12:00:00Z", "patches": [
        {"op": "increment", "path": "anti_patterns.entries[id=ap-001].occurrences", "by": 1},
        {"op": "append", "path": "follow_ups.entries", "value": {"id": "FU-003", "title": "新しい"}},
        {"op": "merge", "path": "session_bridge.last_session", "value": {}},
    ]}}
    summary = lab.import_(write(tmp_path / "answer.json", proposal), namespace="home")
    assert (summary.proposals, summary.stored) == (1, 0)
    ops = lab.patch_proposals().sort("op_index")
    assert ops["op"].to_list() == ["increment", "append", None]
    assert ops["by"].to_list() == [1, None, None]
    assert json.loads(ops["value"][1]) == {"id": "FU-003", "title": "新しい"}
    assert lab.snapshots().height == 0
    finding = lab.quarantine().row(0, named=True)
    assert (finding["kind"], finding["json_path"], finding["fragment"]) == ("value", "$._patch_proposal.patches[2].op", '"merge"')


def test_ndjson_one_baton_per_line_in_line_order(lab: bl.Lab, tmp_path: Path) -> None:
    lines = [v1(f"s{i}", updated_at=None, loops=[loop("OL-1", status="open" if i < 3 else "verified")]) for i in range(1, 4)]
    for doc in lines:
        doc["updated_at"] = None  # no clock at all: line order decides
    path = tmp_path / "history.ndjson"
    path.write_text("\n".join(json.dumps(d) for d in lines) + "\n{broken\n", encoding="utf-8")

    summary = lab.import_(path, namespace="home")

    assert (summary.read, summary.stored, summary.quarantined) == (4, 3, 1)
    assert lab.snapshots().sort("seq")["session_id"].to_list() == ["s1", "s2", "s3"]
    assert lab.quarantine()["location"].to_list() == [f"{path}#line 4"]


def test_directory_recursion_mixes_formats_and_skips_non_json(lab: bl.Lab, tmp_path: Path) -> None:
    write(tmp_path / "d" / "a" / "v2.json", v2("alpha", 1))
    write(tmp_path / "d" / "b" / "c" / "envelope.json", {"baton": v1("s1"), "namespace": "beta", "updated_at": "2026-06-18T00:00:00Z"})
    (tmp_path / "d" / "notes.md").write_text("# not a baton")
    (tmp_path / "d" / ".git").mkdir()
    write(tmp_path / "d" / ".git" / "ignored.json", v2("gamma", 1))

    summary = lab.import_(tmp_path / "d")

    assert summary.stored == 2 and sorted(summary.namespaces) == ["alpha", "beta"]
    assert summary.skipped_files == [str(tmp_path / "d" / "notes.md")]
    assert summary.formats == {"baton-v2": 1, "api-envelope": 1}


def test_bad_input_is_quarantined_with_location_and_the_rest_imports(lab: bl.Lab, tmp_path: Path, fixtures: Path) -> None:
    folder = tmp_path / "mixed"
    write_sequence(folder, [v1("s1", loops=[loop("OL-1")]), v1("s2", "s1", loops=[loop("OL-1", status="verified")])])
    (folder / "torn.json").write_text('{"schema_version": 1, "session_id": "s3", "open_loops": [{"id": "OL', encoding="utf-8")
    (folder / "concat.json").write_text('{"a": 1} {"b": 2}', encoding="utf-8")
    (folder / "empty.json").write_text("", encoding="utf-8")
    (folder / "array.json").write_text("[1, 2]", encoding="utf-8")
    (folder / "handoff.json").write_bytes((fixtures / "real" / "Aycrith__gemDirect1__agent__.state__session-handoff.json").read_bytes())
    bad_values = v1("s3", "s2", loops=[loop("OL-2", status="wip", method="carrier-pigeon"), {"action": "no id"}, "not an object"],
                    patterns=[pattern("P-1", count="three")])
    write(folder / "z-bad-values.json", bad_values)

    summary = lab.import_(folder, namespace="home")

    assert summary.read == 8
    # the JSON session handoff is a format of its own since issue 12 (handoff-json), not a quarantined non-baton
    assert summary.stored == 4 and summary.quarantined == 4
    assert summary.read == summary.stored + summary.duplicates + summary.proposals + summary.empty + summary.quarantined
    q = {Path(r["uri"]).name + " " + (r["json_path"] or ""): r for r in lab.quarantine().iter_rows(named=True)}
    assert q["torn.json "]["reason"].startswith("truncated JSON")
    assert "extra data" in q["concat.json "]["reason"]
    assert q["empty.json "]["reason"] == "empty file"
    assert "handoff.json $" not in q and summary.formats.get("handoff-json") == 1
    assert q["z-bad-values.json $.open_loops[0].status"]["kind"] == "value"
    assert q["z-bad-values.json $.open_loops[0].verify_method"]["kind"] == "value"
    assert q["z-bad-values.json $.open_loops[1]"]["reason"].startswith("item has no id")
    assert q["z-bad-values.json $.open_loops[2]"]["kind"] == "item"
    assert q["z-bad-values.json $.patterns[0].count"]["reason"].startswith("expected an integer")
    ol2 = lab.open_loops().filter(item_id="OL-2").row(0, named=True)
    assert ol2["status"] is None and json.loads(ol2["invalid_values"]) == {"status": "wip", "verify_method": "carrier-pigeon"}
    p1 = lab.patterns().row(0, named=True)
    assert p1["count"] is None and json.loads(p1["invalid_values"]) == {"count": "three"}


def test_ndjson_of_non_baton_lines_is_quarantined_per_line(lab: bl.Lab, tmp_path: Path) -> None:
    # A JSONL that no whole-file format claims (an application log) is NDJSON: each line is one document.
    path = tmp_path / "log.jsonl"
    path.write_text("".join(json.dumps({"event": "deploy", "n": i}) + "\n" for i in range(1, 16)), encoding="utf-8")
    summary = lab.import_(path, namespace="x")
    assert (summary.read, summary.quarantined, summary.stored) == (15, 15, 0)
    assert lab.quarantine()["location"].str.ends_with("line 15 $").sum() == 1


def test_real_beads_export_is_one_snapshot_not_fifteen_documents(lab: bl.Lab, fixtures: Path) -> None:
    summary = lab.import_(fixtures / "real" / "beads-issues-head15.jsonl", namespace="x")
    assert (summary.read, summary.quarantined, summary.stored) == (1, 0, 1)
    assert lab.sources()["format"].to_list() == ["beads-issues"]
    assert lab.follow_ups().height + lab.decisions().height == 15


def test_real_claude_transcript_without_baton_calls_stores_nothing(lab: bl.Lab, fixtures: Path) -> None:
    # detected as a transcript (not NDJSON batons): it makes no baton calls, so zero snapshots and no findings
    path = next((fixtures / "real").glob("*transcript.jsonl"))
    summary = lab.import_(path, namespace="x")
    assert (summary.sources, summary.read, summary.stored, summary.quarantined) == (1, 0, 0, 0)
    assert lab.sources()["format"].to_list() == ["claude-code-transcript"]


def test_secrets_are_redacted_before_storing(lab: bl.Lab, tmp_path: Path) -> None:
    doc = v1("s1", loops=[loop("OL-1", note="curl -H 'Authorization: Bearer sk-ant-abcdefghijklmnopqrstuv' http://x")],
             context="token=ghp_abcdefghijklmnopqrstuvwxyz0123456789 and $MH_API_TOKEN stays")
    doc["api_key"] = "hunter22-secret"
    summary = lab.import_(write(tmp_path / "b.json", doc), namespace="home")
    raw = lab.snapshots()["raw"][0]
    assert summary.redactions >= 3
    assert "sk-ant-abcdef" not in raw and "ghp_abcdef" not in raw and "hunter22" not in raw
    assert "$MH_API_TOKEN stays" in raw and "[REDACTED:" in raw
    assert "sk-ant" not in lab.open_loops()["extra"][0]


def test_forced_format_that_does_not_fit_is_quarantined(lab: bl.Lab, tmp_path: Path) -> None:
    summary = lab.import_(write(tmp_path / "b.json", [1, 2]), format="baton-v1", namespace="home")
    assert summary.quarantined == 1
    assert lab.quarantine()["reason"][0] == "not baton-v1: a v1 baton is a JSON object"


def test_unknown_format_name_is_a_user_error(lab: bl.Lab, tmp_path: Path) -> None:
    with pytest.raises(bl.UnknownFormat):
        lab.import_(write(tmp_path / "b.json", v1("s1")), format="baton-v9")


def test_files_too_large_for_a_baton_are_quarantined_unread(lab: bl.Lab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from baton_lab.importers import containers

    monkeypatch.setattr(containers, "MAX_DOCUMENT_BYTES", 1000)
    write(tmp_path / "d" / "small.json", v1("s1"))
    write(tmp_path / "d" / "huge.json", v1("s2", context="x" * 5000))
    summary = lab.import_(tmp_path / "d", namespace="ns")
    assert (summary.stored, summary.quarantined) == (1, 1)
    assert lab.quarantine()["reason"][0].startswith("file too large for one document")


def test_ndjson_with_bom_and_blank_lines(lab: bl.Lab, tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(v1("s1")).encode() + b"\n\n" + json.dumps(v1("s2", "s1")).encode() + b"\n")
    summary = lab.import_(path, namespace="ns")
    assert (summary.read, summary.stored) == (2, 2)
    assert lab.snapshots().sort("seq")["location"].to_list() == ["line 1", "line 3"]
