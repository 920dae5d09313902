"""The simulator: determinism, the real formats' rules, lifecycle invariants, ground truth."""

from __future__ import annotations

import json
import re
import shlex
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from baton_lab.simulate import FORMATS, PRESETS, SimParams, SimulationError, simulate
from baton_lab.simulate.writers.git import commit_ids, run_git

ALL_FORMATS = ["v1", "v2", "ndjson", "sqlite", "cache", "git", "transcript"]
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
SESSION_ID = re.compile(r"^\d{4}-\d{2}-\d{2}-\d{3}$")
TIERS = {"raw_source", "llm_derived", "human_confirmed"}


# -- helpers ------------------------------------------------------------------------------------
def tree(root: Path, sub: str) -> dict[str, bytes]:
    base = root / sub
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(base.rglob("*")) if p.is_file()}


def sqlite_rows(path: Path) -> list[tuple[str, str, str]]:
    con = sqlite3.connect(path)
    try:
        return con.execute("SELECT namespace, updated_at, data FROM batons ORDER BY namespace").fetchall()
    finally:
        con.close()


def v1_files(out: Path, namespace: str) -> list[Path]:
    return sorted((out / "v1" / namespace).glob("*.json"))


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    """Two namespaces, 80 sessions each, every format."""
    sim = simulate("default", seed=11, sessions=160, namespaces=2)
    out = tmp_path_factory.mktemp("sim")
    sim.write(out, ALL_FORMATS)
    return sim, out


# -- determinism --------------------------------------------------------------------------------
def test_same_seed_gives_identical_files(small: tuple[Any, Path], tmp_path: Path) -> None:
    sim, out = small
    again = simulate("default", seed=11, sessions=160, namespaces=2)
    again.write(tmp_path, ALL_FORMATS)
    for sub in ("v1", "v2", "ndjson", "cache", "transcripts", "truth"):
        first, second = tree(out, sub), tree(tmp_path, sub)
        assert first and first == second, sub
    assert sqlite_rows(out / "sqlite" / "batons.db") == sqlite_rows(tmp_path / "sqlite" / "batons.db")
    for ns in sim.namespaces:
        ids = commit_ids(out / "git" / ns)
        assert len(ids) == 80
        assert ids == commit_ids(tmp_path / "git" / ns)


def test_another_seed_gives_another_history(small: tuple[Any, Path]) -> None:
    sim, _ = small
    other = simulate("default", seed=12, sessions=160, namespaces=2)
    first = [s.v1 for s in sim.snapshots(sim.namespaces[0], with_v2=False)]
    second = [s.v1 for s in other.snapshots(other.namespaces[0], with_v2=False)]
    assert first != second


def test_a_namespace_does_not_depend_on_how_many_there_are() -> None:
    two = simulate("default", seed=5, sessions=2 * 30, namespaces=2)
    three = simulate("default", seed=5, sessions=3 * 30, namespaces=3)
    assert [s.v1 for s in two.snapshots(two.namespaces[1])] == [s.v1 for s in three.snapshots(three.namespaces[1])]


def test_in_memory_snapshots_equal_the_written_files(small: tuple[Any, Path]) -> None:
    sim, out = small
    ns = sim.namespaces[1]
    snaps = list(sim.snapshots(ns))
    files = v1_files(out, ns)
    assert [load(f) for f in files] == [s.v1 for s in snaps]
    assert [f.name for f in files] == [f"{s.seq:05d}-{s.session_id}.json" for s in snaps]


# -- format rules -------------------------------------------------------------------------------
V1_KEYS = ["schema_version", "session_id", "parent_session", "updated_at", "open_loops", "follow_ups", "patterns",
           "active_decisions", "context"]
LOOP_KEYS = ["id", "action", "expected_outcome", "verify", "created_at", "ttl_days", "decision_ref", "status", "source_tier"]
VERIFY_KEYS = ["method", "url", "expected_status", "path", "process_name", "timeout_seconds", "note"]
FU_KEYS = ["id", "item", "reason", "first_seen", "defer_count", "last_deferred", "priority", "linked_pattern", "source_tier"]
PAT_KEYS = ["id", "what", "count", "first_seen", "last_seen", "recent_occurrences", "threshold", "status", "proposed_rule",
            "graduated_to", "source_tier"]
DEC_KEYS = ["id", "what", "why", "evidence", "rejected", "created_at", "status", "superseded_by", "source_tier"]


def check_v1(doc: dict[str, Any]) -> None:
    """The session-baton 0.1.0 pydantic rules, written out."""
    assert list(doc) == V1_KEYS
    assert doc["schema_version"] == 1 and SESSION_ID.match(doc["session_id"])
    assert doc["parent_session"] is None or SESSION_ID.match(doc["parent_session"])
    datetime.fromisoformat(doc["updated_at"])
    assert isinstance(doc["context"], str)
    for loop in doc["open_loops"]:
        assert list(loop) == LOOP_KEYS and DATE.match(loop["created_at"]) and loop["ttl_days"] == 7
        assert loop["status"] in {"open", "verified", "failed", "escalated"} and loop["source_tier"] in TIERS
        if loop["verify"] is not None:
            v = loop["verify"]
            assert list(v) == VERIFY_KEYS and v["timeout_seconds"] == 5
            assert v["method"] in {"http", "file_exists", "process_running", "manual"}
            assert (v["url"] is not None) == (v["method"] == "http") == (v["expected_status"] == 200)
            assert (v["path"] is not None) == (v["method"] == "file_exists")
            assert (v["process_name"] is not None) == (v["method"] == "process_running")
    for fu in doc["follow_ups"]:
        assert list(fu) == FU_KEYS and DATE.match(fu["first_seen"]) and fu["source_tier"] in TIERS
        assert isinstance(fu["defer_count"], int) and fu["defer_count"] >= 0
        expected = "escalated" if fu["defer_count"] >= 5 else "elevated" if fu["defer_count"] >= 3 else "normal"
        assert fu["priority"] == expected
        assert (fu["last_deferred"] is None) == (fu["defer_count"] == 0)
    for pat in doc["patterns"]:
        assert list(pat) == PAT_KEYS and pat["threshold"] == 3 and pat["count"] >= 1
        assert 1 <= len(pat["recent_occurrences"]) <= min(5, pat["count"])
        assert all(list(o) == ["session", "context"] and SESSION_ID.match(o["session"]) for o in pat["recent_occurrences"])
        assert pat["status"] in {"observing", "rule_candidate", "graduated", "dismissed"}
        assert (pat["graduated_to"] is not None) == (pat["status"] == "graduated")
        if pat["status"] == "observing":
            assert pat["count"] < pat["threshold"]
        assert pat["first_seen"] <= pat["last_seen"]
    for dec in doc["active_decisions"]:
        assert list(dec) == DEC_KEYS and dec["status"] in {"active", "monitoring", "superseded"}
        assert (dec["superseded_by"] is not None) == (dec["status"] == "superseded")
    ids = [item["id"] for section in V1_KEYS[4:8] for item in doc[section]]
    assert len(ids) == len(set(ids))


def test_v1_files_follow_the_v1_rules_and_lineage(small: tuple[Any, Path]) -> None:
    sim, out = small
    for ns in sim.namespaces:
        docs = [load(f) for f in v1_files(out, ns)]
        assert len(docs) == 80
        previous = None
        for doc in docs:
            check_v1(doc)
            assert doc["parent_session"] == (previous["session_id"] if previous else None)
            if previous:
                assert doc["updated_at"] > previous["updated_at"]
                assert doc["session_id"] != previous["session_id"]
            previous = doc
        # The file name carries seq and session id; successors of superseded decisions exist.
        for doc in docs:
            present = {d["id"] for d in doc["active_decisions"]}
            assert all(d["superseded_by"] in present for d in doc["active_decisions"] if d["superseded_by"])


def test_v2_files_have_meta_and_revision_gaps_match_truth(small: tuple[Any, Path]) -> None:
    sim, out = small
    unseen = sim.truth()["unseen_revisions"]
    for ns in sim.namespaces:
        docs = [load(f) for f in sorted((out / "v2" / ns).glob("*.json"))]
        assert len(docs) == 80
        revisions = [d["_meta"]["revision"] for d in docs]
        assert all(b > a for a, b in zip(revisions, revisions[1:]))
        missing = sorted(set(range(1, revisions[-1] + 1)) - set(revisions))
        assert missing == sorted(unseen.filter(namespace=ns)["revision"].to_list())
        assert missing, "the default preset leaves some revisions unseen in 80 sessions"
        for doc in docs:
            meta = doc["_meta"]
            assert meta["schema_version"] == "2.0" and meta["namespace"] == ns
            assert meta["last_written_by"] in {"claude-code", "codex"}
            datetime.fromisoformat(meta["last_written_at"])
            assert "active_decisions" not in doc and "patterns" not in doc
            for key in ("_security", "infra_state", "discovery_cache", "anti_patterns", "open_loops", "follow_ups",
                        "session_bridge", "infra", "governance", "deprecated_patterns"):
                assert key in doc
            for loop in doc["open_loops"]["entries"]:
                assert loop["status"] in {"pending", "verified", "failed", "stale", "escalated"}
                assert loop["stale_after_hours"] == 7 * 24
            for fu in doc["follow_ups"]["entries"]:
                assert fu["priority"] in {"high", "medium", "low"} and fu["status"] in {"open", "done"}
            for ap in doc["anti_patterns"]["entries"]:
                assert ap["category"] in {"infra_assumption", "scope_creep", "tool_misuse", "deprecated_path", "guessing"}
                assert ap["severity"] in {"high", "medium", "low"} and ap["occurrences"] >= 1
            bridge = doc["session_bridge"]["last_session"]
            assert SESSION_ID.match(bridge["session_id"]) and bridge["written_at"] == meta["last_written_at"]


def test_sqlite_holds_the_latest_write_only(small: tuple[Any, Path]) -> None:
    sim, out = small
    con = sqlite3.connect(out / "sqlite" / "batons.db")
    ddl = con.execute("SELECT sql FROM sqlite_master WHERE name = 'batons'").fetchone()[0]
    con.close()
    assert "namespace TEXT PRIMARY KEY" in ddl and "updated_at TEXT NOT NULL" in ddl and "data TEXT NOT NULL" in ddl
    rows = sqlite_rows(out / "sqlite" / "batons.db")
    sessions = sim.truth()["sessions"]
    assert [r[0] for r in rows] == sorted(sim.namespaces)
    for ns, updated_at, data in rows:
        last = v1_files(out, ns)[-1]
        assert json.loads(data) == load(last)
        assert data == json.dumps(load(last), ensure_ascii=False, separators=(",", ":"))
        assert updated_at == sessions.filter(namespace=ns)["server_updated_at"].to_list()[-1]
        cache = load(out / "cache" / f"{ns}.json")
        assert cache.pop("_sync_status") == "synced" and cache == load(last)


def test_git_history_has_one_commit_per_session_at_session_time(small: tuple[Any, Path]) -> None:
    sim, out = small
    ns = sim.namespaces[0]
    repo = out / "git" / ns
    log = run_git("log", "--reverse", "--format=%H %at %an <%ae> %s", "main", cwd=repo).decode().splitlines()
    sessions = sim.truth()["sessions"].filter(namespace=ns)
    assert len(log) == sessions.height == 80
    for line, written, sid in zip(log, sessions["written_at"], sessions["session_id"]):
        sha, epoch, rest = line.split(" ", 2)
        assert int(epoch) == int(written.timestamp())
        assert rest == f"Baton Sim <baton-sim@example.invalid> baton: session {sid}"
    files = v1_files(out, ns)
    for i in (0, 39, 79):
        sha = log[i].split()[0]
        assert run_git("show", f"{sha}:baton.json", cwd=repo) == files[i].read_bytes()
    assert (repo / "baton.json").read_bytes() == files[-1].read_bytes()


def payload_of(command: str) -> Any:
    args = shlex.split(command)
    return json.loads(args[args.index("-d") + 1])


def test_transcripts_pair_tool_calls_and_carry_the_batons(small: tuple[Any, Path]) -> None:
    sim, out = small
    sessions = sim.truth()["sessions"]
    for ns in sim.namespaces:
        folder = out / "transcripts" / f"-home-dev-{ns}"
        truth_rows = sessions.filter(namespace=ns).to_dicts()
        claude = [r for r in truth_rows if r["writer"] == "claude-code"]
        assert sorted(p.stem for p in folder.glob("*.jsonl")) == sorted(r["claude_session_id"] for r in claude)
        assert len(claude) < len(truth_rows), "some sessions are run by codex and leave no transcript"
        snaps = {s.seq: s for s in sim.snapshots(ns, with_v2=False)}
        recovered = 0
        for row in claude:
            records = [json.loads(line) for line in (folder / f"{row['claude_session_id']}.jsonl").read_text().splitlines()]
            assert {r["sessionId"] for r in records} == {row["claude_session_id"]}
            assert [r["parentUuid"] for r in records[1:]] == [r["uuid"] for r in records[:-1]]
            assert [r["timestamp"] for r in records] == sorted(r["timestamp"] for r in records)
            calls = {b["id"]: b for r in records if r["type"] == "assistant"
                     for b in r["message"]["content"] if b["type"] == "tool_use"}
            results = {b["tool_use_id"]: r for r in records if r["type"] == "user" and isinstance(r["message"]["content"], list)
                       for b in r["message"]["content"] if b["type"] == "tool_result"}
            assert calls and set(calls) == set(results)
            for tool_id, result in results.items():
                assert set(result["toolUseResult"]) == {"stdout", "stderr", "interrupted", "isImage"}
                assert result["message"]["content"][0]["content"] == result["toolUseResult"]["stdout"]
            commands = [c["input"]["command"] for c in calls.values()]
            read, write = commands[0], commands[-1]
            assert "/v1/baton/read" in read and payload_of(read) == {"namespace": ns}
            envelope = json.loads(results[list(calls)[0]]["toolUseResult"]["stdout"])
            previous = snaps.get(row["seq"] - 1)
            assert envelope == {"baton": previous.v1 if previous else None, "namespace": ns,
                                "updated_at": previous.server_updated_at if previous else None}
            assert "/v1/baton/write" in write
            answer = json.loads(results[list(calls)[-1]]["toolUseResult"]["stdout"])
            assert answer == {"ok": True, "updated_at": row["server_updated_at"], "namespace": ns}
            if row["payload_recoverable"]:
                assert payload_of(write) == {"namespace": ns, "baton": snaps[row["seq"]].v1}
                recovered += 1
            else:
                assert write.startswith("python3 -c") and " -d " not in write
        assert recovered >= len(claude) * 0.8


def test_shell_quoting_survives_apostrophes_and_unicode() -> None:
    from baton_lab.simulate.writers.transcript import write_command

    baton = {"context": "didn't check 'quotes' \\ $HOME `x` ログ"}
    assert payload_of(write_command("a/b", baton)) == {"namespace": "a/b", "baton": baton}


# -- lifecycle invariants ------------------------------------------------------------------------
def presence(sim: Any, ns: str, section: str) -> dict[str, list[tuple[int, dict[str, Any]]]]:
    seen: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for snap in sim.snapshots(ns, with_v2=False):
        for item in snap.v1[section]:
            seen.setdefault(item["id"], []).append((snap.seq, item))
    return seen


@pytest.mark.parametrize("preset", ["default", "log-nobody-reads"])
def test_loop_lifecycle_matches_truth(preset: str) -> None:
    sim = simulate(preset, seed=3, sessions=120, namespaces=1)
    ns = sim.namespaces[0]
    seen = presence(sim, ns, "open_loops")
    loops = {r["item_id"]: r for r in sim.truth()["loops"].to_dicts()}
    assert set(seen) == set(loops)
    for item_id, rows in seen.items():
        truth = loops[item_id]
        seqs = [s for s, _ in rows]
        assert seqs == list(range(truth["created_seq"], seqs[-1] + 1)), "items never skip a snapshot"
        statuses = [item["status"] for _, item in rows]
        terminal = [s for s in statuses if s != "open"]
        if truth["outcome"] in ("verified", "failed", "escalated"):
            # Exactly one snapshot shows the terminal status; the next one no longer has the loop.
            assert terminal == [truth["outcome"]] and statuses[-1] == truth["outcome"]
            assert seqs[-1] == truth["terminal_seq"]
            assert truth["removed_seq"] in (None, seqs[-1] + 1)
        else:
            assert terminal == []
            if truth["outcome"] == "dropped":
                assert truth["removed_seq"] == seqs[-1] + 1
            else:
                assert seqs[-1] == 120
        if truth["outcome"] == "failed" and not truth["flaky"]:
            assert truth["broke_something"]
        if truth["verify_method"] == "none":
            assert rows[0][1]["verify"] is None and truth["outcome"] != "failed"


def test_pattern_counts_and_gate_match_truth() -> None:
    params = PRESETS["default"].with_overrides(p_gate_violation=0.2)
    sim = simulate(params, seed=4, sessions=150, namespaces=1)
    ns = sim.namespaces[0]
    truth = sim.truth()
    occurrences: dict[str, dict[int, int]] = {}
    for row in truth["pattern_occurrences"].to_dicts():
        occurrences.setdefault(row["item_id"], {})[row["session_seq"]] = row["n"]
    patterns = {r["item_id"]: r for r in truth["patterns"].to_dicts()}
    seen = presence(sim, ns, "patterns")
    assert set(seen) == set(patterns)
    violations = 0
    for item_id, rows in seen.items():
        t = patterns[item_id]
        counts = {seq: item["count"] for seq, item in rows}
        true = occurrences.get(item_id, {})
        for seq, count in counts.items():
            assert count == sum(n for s, n in true.items() if s <= seq)
        graduated = [(seq, item) for seq, item in rows if item["status"] == "graduated"]
        if t["graduated_seq"] is not None:
            assert graduated[0][0] == t["graduated_seq"]
            assert graduated[0][1]["graduated_to"].startswith("rules/")
            violated = any(item["source_tier"] == "llm_derived" for _, item in graduated)
            assert violated == t["violation"]
            violations += violated
            if not t["violation"] and t["initial_tier"] == "llm_derived":
                assert t["confirmed_seq"] is not None and t["candidate_seq"] < t["confirmed_seq"] < t["graduated_seq"]
        else:
            assert not graduated and not t["violation"]
        candidates = [seq for seq, item in rows if item["status"] == "rule_candidate"]
        if candidates:
            assert candidates[0] == t["candidate_seq"] and counts[candidates[0]] >= 3
        if t["dismissed_seq"] is not None:
            assert rows[-1][0] == t["dismissed_seq"] and rows[-1][1]["status"] == "dismissed"
        recent = [item["recent_occurrences"] for _, item in rows]
        assert all(len(r) <= 5 for r in recent)
    assert violations == sum(r["violation"] for r in patterns.values()) > 0


def test_followup_deferral_and_escalation_match_truth() -> None:
    sim = simulate("log-nobody-reads", seed=8, sessions=150, namespaces=1)
    ns = sim.namespaces[0]
    seen = presence(sim, ns, "follow_ups")
    truth = {r["item_id"]: r for r in sim.truth()["followups"].to_dicts()}
    escalated = 0
    for item_id, rows in seen.items():
        t = truth[item_id]
        defer = [item["defer_count"] for _, item in rows]
        assert defer == sorted(defer) and defer[-1] == t["final_defer_count"] == t["deferrals"]
        assert all(b - a in (0, 1) for a, b in zip(defer, defer[1:]))
        if t["escalated_seq"] is not None:
            escalated += 1
            assert dict(rows)[t["escalated_seq"]]["priority"] == "escalated"
            assert dict(rows)[t["escalated_seq"]]["defer_count"] == 5
        if t["outcome"] != "open":
            gone = t["resolved_seq"] or t["dropped_seq"]
            assert rows[-1][0] == gone - 1
    assert escalated > 0


# -- statistical recovery ------------------------------------------------------------------------
def pooled(params: SimParams, seeds: int = 200, sessions: int = 40) -> dict[str, list[dict[str, Any]]]:
    from baton_lab.simulate import truth as truth_mod

    parts = [simulate(params, seed=seed, sessions=sessions).truth_rows() for seed in range(seeds)]
    return truth_mod.merge(parts)


def within(k: float, n: float, p: float, z: float = 4.0) -> bool:
    """k successes in n trials is within z standard errors of p."""
    return abs(k / n - p) <= z * (p * (1 - p) / n) ** 0.5


RECOVERY = PRESETS["default"].with_overrides(p_gate_violation=0.1, p_silent_drop=0.08, rule_effect=0.4)


@pytest.fixture(scope="module")
def many() -> dict[str, list[dict[str, Any]]]:
    return pooled(RECOVERY)


def test_realised_loop_frequencies_match_parameters(many: dict[str, list[dict[str, Any]]]) -> None:
    p = RECOVERY
    loops = many["loops"]
    n_sessions = len(many["sessions"])
    assert n_sessions == 200 * 40
    # Poisson mean of new loops per session: 4 standard errors of the mean.
    assert abs(len(loops) / n_sessions - p.loops_per_session) <= 4 * (p.loops_per_session / n_sessions) ** 0.5
    assert within(sum(r["broke_something"] for r in loops), len(loops), p.p_broke)
    drops = sum(r["outcome_reason"] == "silent" for r in loops)
    assert within(drops, sum(r["sessions_at_risk"] for r in loops), p.p_silent_drop)
    machine = [r for r in loops if r["verify_method"] in ("http", "file_exists", "process_running") and r["checked"]]
    assert within(sum(r["flaky"] for r in machine), len(machine), p.p_flaky)
    mix = dict(p.verify_mix)
    for method, share in mix.items():
        assert within(sum(r["verify_method"] == method for r in loops), len(loops), share)


def test_realised_followup_and_pattern_rates_match_parameters(many: dict[str, list[dict[str, Any]]]) -> None:
    p = RECOVERY
    fus = many["followups"]
    assert within(sum(r["deferrals"] for r in fus), sum(r["deferral_opportunities"] for r in fus), p.p_defer)
    for band, hazard in p.resolve_by_priority:
        at_risk = sum(r[f"at_risk_{band}"] for r in fus)
        assert at_risk > 100
        assert within(sum(r["resolved_in_band"] == band for r in fus), at_risk, hazard)
    pats = many["patterns"]
    llm_sessions = sum(r["llm_candidate_sessions"] for r in pats)
    assert within(sum(r["violation"] for r in pats), llm_sessions, p.p_gate_violation)
    # After graduation, occurrences are Poisson with mean rate * rule_effect per session; graduation
    # is a stopping time, so the post-graduation window is free of selection bias.
    graduated = [r for r in pats if r["graduated_seq"] is not None]
    expected = sum(r["rate_after"] * r["sessions_after_graduation"] for r in graduated)
    observed = sum(r["occurrences_after_graduation"] for r in graduated)
    assert expected > 100
    assert abs(observed - expected) <= 4 * expected**0.5
    base = sum(r["rate_before"] * r["sessions_after_graduation"] for r in graduated)
    assert abs(observed / base - p.rule_effect) < 0.1


def test_regime_change_shows_in_the_truth() -> None:
    rows = pooled(PRESETS["healthy-loop"], seeds=40, sessions=80)
    at = PRESETS["healthy-loop"].regime_change_at
    before = [r for r in rows["loops"] if r["created_seq"] < at]
    after = [r for r in rows["loops"] if r["created_seq"] >= at]
    assert within(sum(r["broke_something"] for r in before), len(before), PRESETS["healthy-loop"].p_broke)
    assert within(sum(r["broke_something"] for r in after), len(after), 0.06)
    assert {r["regime"] for r in rows["sessions"] if r["seq"] >= at} == {1}


def test_presets_produce_visibly_different_truth() -> None:
    def stats(name: str) -> dict[str, float]:
        rows = simulate(name, seed=1, sessions=300).truth_rows()
        loops, pats = rows["loops"], rows["patterns"]
        graduated = [r for r in pats if r["graduated_seq"] is not None]
        base = sum(r["rate_before"] * r["sessions_after_graduation"] for r in graduated)
        return {
            "drop_share": sum(r["dropped"] for r in loops) / len(loops),
            "checked_share": sum(r["checked"] for r in loops) / len(loops),
            "violations": sum(r["violation"] for r in pats),
            "rule_ratio": sum(r["occurrences_after_graduation"] for r in graduated) / base,
            "escalated_fus": sum(r["escalated_seq"] is not None for r in rows["followups"]),
        }

    healthy, nobody, rules = stats("healthy-loop"), stats("log-nobody-reads"), stats("rules-dont-stick")
    assert nobody["drop_share"] > 3 * healthy["drop_share"]
    assert nobody["checked_share"] < healthy["checked_share"] / 2
    assert nobody["escalated_fus"] > healthy["escalated_fus"] + 10
    assert nobody["violations"] > 0 == healthy["violations"] == rules["violations"]
    assert rules["rule_ratio"] > 0.75 > 0.5 > healthy["rule_ratio"]


# -- errors --------------------------------------------------------------------------------------
def test_bad_requests_are_user_errors(tmp_path: Path) -> None:
    with pytest.raises(SimulationError, match="unknown preset"):
        simulate("nope")
    with pytest.raises(SimulationError, match="at least --namespaces"):
        simulate("default", sessions=2, namespaces=3)
    sim = simulate("default", seed=1, sessions=4)
    with pytest.raises(SimulationError, match="unknown format"):
        sim.write(tmp_path, ["v3"])
    sim.write(tmp_path, ["v1"])
    with pytest.raises(SimulationError, match="already exists") as info:
        sim.write(tmp_path, ["v1"])
    assert "--force" in info.value.hint
    assert len(sim.write(tmp_path, ["v1"], overwrite=True).files) == 2
    with pytest.raises(SimulationError, match="probability"):
        SimParams(p_broke=1.5)
    assert set(FORMATS) >= {"v1", "v2", "sqlite", "git", "transcript"}


# -- CLI -----------------------------------------------------------------------------------------
def test_cli_writes_formats_and_reports_json(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from baton_lab.cli import app

    runner = CliRunner()
    args = ["simulate", "--out", str(tmp_path), "--seed", "2", "--sessions", "40", "--namespaces", "2",
            "--preset", "rules-dont-stick", "--write", "v1", "--write", "sqlite", "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["files"] == {"v1": 40, "sqlite": 1, "truth": 9}
    assert sorted(report["headline"]) == ["rules-dont-stick-001", "rules-dont-stick-002"]
    assert len(list((tmp_path / "v1" / "rules-dont-stick-001").glob("*.json"))) == 20
    again = runner.invoke(app, args)
    assert again.exit_code == 1 and "already exists" in again.output
    bad = runner.invoke(app, ["simulate", "--out", str(tmp_path / "x"), "--preset", "nope"])
    assert bad.exit_code == 1 and "unknown preset" in bad.output


def test_rechecked_failures_stay_one_snapshot_and_flip_when_flaky() -> None:
    params = PRESETS["default"].with_overrides(p_flaky=0.2, p_recheck_failed=1.0)
    sim = simulate(params, seed=5, sessions=150, namespaces=1)
    ns = sim.namespaces[0]
    seen = presence(sim, ns, "open_loops")
    loops = sim.truth()["loops"].filter(pl.col("rechecked"))
    assert loops.height > 10
    for truth in loops.to_dicts():
        statuses = [item["status"] for _, item in seen[truth["item_id"]]]
        first = statuses.index("failed")
        after = statuses[first + 1:]
        # the failed loop is on the next baton too: re-run, it fails again or comes back verified
        assert after and after[0] in ("failed", "verified") and truth["outcome"] == after[-1]
        if truth["outcome"] == "verified":   # a flip: the first failure or the re-run was wrong
            assert truth["flaky"] != truth["broke_something"] or not truth["broke_something"]
    flips = loops.filter(pl.col("outcome") == "verified")
    assert flips.height and flips["flaky"].mean() > 0.5       # most flips are false first failures
    # at 0 no draw is added: the presets' seeded histories do not change
    again = simulate(PRESETS["default"].with_overrides(p_recheck_failed=0.0), seed=5, sessions=150, namespaces=1)
    base = simulate("default", seed=5, sessions=150, namespaces=1)
    assert [s.v1 for s in again.snapshots(with_v2=False)] == [s.v1 for s in base.snapshots(with_v2=False)]
