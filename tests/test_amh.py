"""agent-memory-hall memory.json: the audit chain is verified as AMH's own verifier does (hashes in the golden
fixture were computed with hashlib when it was written, not with baton_lab), breaks are reported and never
repaired, and the reconstructed history imports idempotently."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import polars as pl
import pytest

import baton_lab as bl
from baton_lab.importers.amh_records import verify_chain

FIXTURE = Path(__file__).parent / "golden" / "amh-memory" / "chained-audit" / "input" / "memory.json"


def _audit() -> list[dict]:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))["audit"]


def test_intact_chain_verifies() -> None:
    audit = _audit()
    audit[4]["details"] = "誤検知"  # undo the fixture's tampering
    report = verify_chain(audit, "$.audit")
    assert (report.total, report.verified, report.unchained, report.breaks) == (7, 7, 0, [])


def test_tampered_event_breaks_itself_and_the_next_link() -> None:
    report = verify_chain(_audit(), "$.audit")
    assert [b.location for b in report.breaks] == ["$.audit[4]", "$.audit[5]"]
    assert "hash does not reproduce" in report.breaks[0].reason
    assert "prev_hash" in report.breaks[1].reason and report.verified == 5


def test_deleted_event_breaks_the_link_after_it() -> None:
    audit = _audit()
    audit[4]["details"] = "誤検知"
    del audit[2]
    report = verify_chain(audit, "$.audit")
    assert [b.location for b in report.breaks] == ["$.audit[2]"]


def test_events_before_the_chain_are_unchained_not_broken() -> None:
    audit = _audit()
    audit[4]["details"] = "誤検知"
    legacy = [{k: v for k, v in e.items() if k not in ("hash", "prev_hash")} for e in copy.deepcopy(audit[:2])]
    report = verify_chain(legacy + audit, "$.audit")
    assert (report.unchained, report.verified, report.breaks) == (2, 7, [])


def test_break_is_reported_in_the_store_and_reimport_is_idempotent(tmp_path: Path) -> None:
    lab = bl.open(tmp_path / "store.duckdb")
    first = lab.import_(FIXTURE)
    assert first.read == first.stored == 6 and first.partial == 1
    extra = json.loads(lab.snapshots().sort("seq")["extra"][-1])
    assert extra["audit_chain"] == {"events": 7, "verified": 5, "unchained": 0, "broken": ["$.audit[4]", "$.audit[5]"]}
    # the Anti-Ouroboros audit: maki's confirmation of m1, and m4 (llm_derived) replacing m3 (llm_derived)
    assert extra["anti_ouroboros"] == {
        "tier_upgrades": [{"memory_id": "m1", "at": "2026-07-03T09:00:00Z", "from": "llm_derived",
                           "to": "human_confirmed", "confirmed_by": "maki", "by_agent": False}],
        "human_confirmations": 1,
        "supersessions": [{"memory_id": "m4", "supersedes": "m3", "at": "2026-07-04T12:00:00Z",
                           "tier": "llm_derived", "supersedes_tier": "llm_derived"}],
        "llm_supersedes_llm": [{"memory_id": "m4", "supersedes": "m3"}]}
    upgraded = lab.events().filter(event="tier_changed")
    assert upgraded.select("item_id", "from_value", "to_value").rows() == [("m1", "llm_derived", "human_confirmed")]
    writer = lab.snapshots().filter(snapshot_id=upgraded["snapshot_id"][0])["writer"][0]
    assert writer == "maki"  # who confirmed: the version's writer
    assert lab.quarantine()["reason"].str.starts_with("audit chain broken").sum() == 2
    raw = json.loads(lab.snapshots().sort("seq")["raw"][-1])
    assert raw["audit"][4]["details"] == "誤検知 (edited)"  # stored as written, never repaired
    again = lab.import_(FIXTURE)
    assert again.sources_unchanged == 1 and again.stored == 0
    assert lab.snapshots().height == 6


def test_namespaceless_file_needs_a_namespace(tmp_path: Path) -> None:
    doc = {"records": [], "audit": []}
    path = tmp_path / "memory.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    lab = bl.open(tmp_path / "store.duckdb")
    summary = lab.import_(path)
    assert summary.quarantined == 1 and "no namespace" in lab.quarantine()["reason"][0]
    summary = lab.import_(path, namespace="amh")
    assert summary.stored == 1 and lab.snapshots()["format"].to_list() == ["amh-memory"]


PAGE = Path(__file__).parent / "golden" / "memhall-entries" / "amh-and-native" / "input" / "memory-page.json"
ENTRY_COLUMNS = ("entry_id", "tenant_id", "agent_id", "namespace", "type", "content", "content_hash", "summary",
                 "tags_json", "references_json", "metadata_json", "sync_status", "last_embedded_at", "last_embed_error",
                 "last_embed_attempted_at", "embed_attempt_count", "created_at", "created_by_principal")


def _memhall_db(path: Path) -> None:
    """memory-hall's entries table (columns of its SqliteStore.insert_entry), filled from the golden page."""
    import sqlite3

    con = sqlite3.connect(path)
    con.execute(f"CREATE TABLE entries ({', '.join(ENTRY_COLUMNS)})")
    for e in json.loads(PAGE.read_text(encoding="utf-8"))["entries"]:
        row = {**e, "tags_json": json.dumps(e["tags"]), "references_json": json.dumps(e["references"]),
               "metadata_json": json.dumps(e["metadata"], ensure_ascii=False)}
        con.execute(f"INSERT INTO entries VALUES ({', '.join('?' * len(ENTRY_COLUMNS))})", [row[c] for c in ENTRY_COLUMNS])
    con.commit()
    con.close()


def test_memhall_sqlite_reads_like_the_api_page(tmp_path: Path) -> None:
    _memhall_db(tmp_path / "memhall.db")
    from_db = bl.open(tmp_path / "db.duckdb")
    summary = from_db.import_(tmp_path / "memhall.db")
    assert summary.stored == 2 and summary.quarantined == 0  # the wrap-up's session, and the one still open
    assert from_db.snapshots()["format"].unique().to_list() == ["memhall-entries"]
    from_page = bl.open(tmp_path / "page.duckdb")
    from_page.import_(PAGE)
    columns = ["seq", "tier", "item_id", "event", "from_value", "to_value"]
    assert from_db.events().select(columns).sort(columns).equals(from_page.events().select(columns).sort(columns))
    tiers = from_db.patterns().filter(seq=2).sort("item_id")["source_tier"].to_list()
    assert tiers == [None, "llm_derived", "human_confirmed", "llm_derived"]


def test_chain_break_shows_in_the_reports_data_quality(tmp_path: Path) -> None:
    from baton_lab.report._store_facts import quality

    lab = bl.open(tmp_path / "store.duckdb")
    lab.import_(FIXTURE)
    with lab.connect(read_only=True) as con:
        facts = quality(con, ["proj:記憶"])
    reasons = facts.quarantine_by_reason["reason"].to_list()
    assert any(r.startswith("audit chain broken at event e5") for r in reasons)
    assert any(r.startswith("audit chain broken at event e6") for r in reasons)


def test_git_replay_orders_versions_by_the_log_not_by_the_commit(tmp_path: Path) -> None:
    """Two commits of memory.json: each holds its history so far. Reconstructed versions take the log's time,
    so the second commit's replay of what the first already held falls in place instead of repeating it after."""
    import os
    import subprocess

    repo = tmp_path / "repo"
    repo.mkdir()
    doc = json.loads(FIXTURE.read_text(encoding="utf-8"))
    first = {k: v for k, v in doc["records"][0].items() if k not in ("trust_proof", "provenance_chain")}
    first["source"] = {**first["source"], "tier": "llm_derived"}
    early = {"records": [first, {**doc["records"][1], "status": "active"}], "audit": doc["audit"][:2]}

    def commit(content: dict, when: str) -> None:
        (repo / "memory.json").write_text(json.dumps(content, ensure_ascii=False), encoding="utf-8")
        env = {**os.environ, "GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when}
        subprocess.run(["git", "add", "memory.json"], cwd=repo, check=True, env=env)
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qm", when],
                       cwd=repo, check=True, env=env)

    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    commit(early, "2026-07-02T09:00:00Z")
    commit(doc, "2026-07-05T09:00:00Z")
    lab = bl.open(tmp_path / "store.duckdb")
    lab.import_git(repo, "memory.json")
    events = lab.events().sort("seq", "item_id").select("item_id", "event", "to_value").rows()
    assert events == [("m1", "created", "observing"), ("m2", "created", "observing"), ("m3", "created", "active"),
                      ("m1", "tier_changed", "human_confirmed"), ("m2", "status_changed", "dismissed"),
                      ("m3", "status_changed", "superseded"), ("m4", "created", "active")]


def test_memhall_without_wrap_ups_has_one_snapshot_per_day(tmp_path: Path) -> None:
    page = json.loads(PAGE.read_text(encoding="utf-8"))
    entries = [e for e in page["entries"] if e["type"] != "episode" or e["metadata"]]  # drop the native wrap-up
    (tmp_path / "page.json").write_text(json.dumps({"entries": entries, "next_cursor": None}), encoding="utf-8")
    lab = bl.open(tmp_path / "store.duckdb")
    summary = lab.import_(tmp_path / "page.json")
    days = sorted({e["created_at"][:10] for e in entries})
    assert summary.stored == len(days) == 4
    assert lab.snapshots().sort("seq")["written_at_raw"].to_list() == [
        max(e["created_at"] for e in entries if e["created_at"][:10] == day) for day in days]


# -- the Anti-Ouroboros audit as metric P7 (tier upgrades are AMH's human-confirmation gate) ------------------------

GOLDEN = Path(__file__).parent / "golden" / "amh-memory"


def _p7(lab: bl.Lab, variant: str, namespace: str) -> dict:
    rows = lab.metrics(metric=["P7"]).rows.filter(variant=variant, namespace=namespace, overall=True)
    assert rows.height == 1
    return rows.row(0, named=True)


def _raw_gate_counts(doc: dict) -> dict[str, dict[str, int]]:
    """Per namespace, straight from the raw JSON: upgrades to human_confirmed (a record's provenance `tier_upgrade`
    transitions into it, else the audit log's `tier_upgrade` events on it) and how many a human did not perform
    (no performer, or an `agent-…` principal as the fixtures name agents); supersessions, and how many replaced an
    llm_derived record by an llm_derived one."""
    records = doc.get("records") or doc.get("memories") or []
    audit = doc.get("audit") or doc.get("audit_events") or []
    tier = {r["memory_id"]: r["source"]["tier"] for r in records}
    out: dict[str, dict[str, int]] = {}
    for r in records:
        c = out.setdefault(r["namespace"], {"upgrades": 0, "unconfirmed": 0, "supersessions": 0, "llm_on_llm": 0})
        moves = [(t["tier_after"], t["performed_by"]) for t in r.get("provenance_chain", {}).get("transitions", [])
                 if t["type"] == "tier_upgrade" and t["to_memory_id"] == r["memory_id"]]
        if not moves:
            moves = [(e["details"].split("→")[1].strip(), e.get("principal_id")) for e in audit
                     if e["memory_id"] == r["memory_id"] and e["operation"] == "tier_upgrade"]
        for after, by in moves:
            if after == "human_confirmed":
                c["upgrades"] += 1
                c["unconfirmed"] += by is None or by.startswith("agent-")
        if r.get("supersedes") in tier:
            c["supersessions"] += 1
            c["llm_on_llm"] += tier[r["memory_id"]] == tier[r["supersedes"]] == "llm_derived"
    return out


def _exact_ci(k: int, n: int) -> tuple[float, float]:
    from scipy.stats import binomtest

    ci = binomtest(k, n).proportion_ci(method="exact")
    return ci.low, ci.high


@pytest.mark.parametrize("case", sorted(p.name for p in GOLDEN.iterdir() if p.is_dir()))
def test_p7_audits_tier_upgrades_of_the_golden_cases(tmp_path: Path, case: str) -> None:
    source = next((GOLDEN / case / "input").iterdir())
    expected = _raw_gate_counts(json.loads(source.read_text(encoding="utf-8")))
    lab = bl.open(tmp_path / "store.duckdb")
    lab.import_(source)
    assert expected and all(c["upgrades"] for c in expected.values())
    for namespace, c in expected.items():
        for variant, k, n in (("unconfirmed_upgrade", c["unconfirmed"], c["upgrades"]),
                              ("llm_supersedes_llm", c["llm_on_llm"], c["supersessions"])):
            row = _p7(lab, variant, namespace)
            assert (row["numerator"], row["denominator"]) == (k, n), (namespace, variant)
            if n:
                assert row["estimate"] == pytest.approx(k / n)
                assert (row["ci_low"], row["ci_high"]) == pytest.approx(_exact_ci(k, n))
            assert row["status"] != "not_supported"
        # no graduation in a tier-gated store: the graduation variants say where its gate is instead of a zero
        hard = _p7(lab, "hard", namespace)
        assert hard["status"] == "no_data" and "tier upgrade" in hard["note"]


def _record(memory_id: str, tier: str, created_at: str, **more: object) -> dict:
    return {"amh_version": "0.1", "memory_id": memory_id, "version": 1, "status": "active", "agent_id": "agent-claude",
            "namespace": "gate", "memory_type": "lesson", "content": {"format": "text/plain", "value": memory_id},
            "source": {"type": "agent", "ref": "s", "tier": tier}, "created_at": created_at,
            "created_by": "agent-claude", **more}


def _upgrade(memory_id: str, at: str, by: str | None) -> dict:
    event = {"event_id": f"up-{memory_id}", "memory_id": memory_id, "operation": "tier_upgrade", "timestamp": at,
             "details": "llm_derived → human_confirmed"}
    return {**event, "principal_id": by} if by else event


def test_p7_counts_an_upgrade_no_human_confirmed(tmp_path: Path) -> None:
    """Three upgrades to human_confirmed: by the human, by the agent that wrote the record (through a store with
    the gate off), and one naming nobody; plus an llm_derived record replacing another and one replacing a
    human-confirmed record."""
    doc = {"records": [_record("a", "human_confirmed", "2026-08-01T10:00:00Z"),
                       _record("b", "human_confirmed", "2026-08-01T11:00:00Z"),
                       _record("c", "human_confirmed", "2026-08-01T12:00:00Z"),
                       _record("d", "llm_derived", "2026-08-02T09:00:00Z", status="superseded"),
                       _record("e", "llm_derived", "2026-08-03T09:00:00Z", supersedes="d"),
                       _record("f", "llm_derived", "2026-08-05T09:00:00Z", supersedes="c")],
           "audit": [_upgrade("a", "2026-08-04T09:00:00Z", "maki"),
                     _upgrade("b", "2026-08-04T10:00:00Z", "agent-claude"),
                     _upgrade("c", "2026-08-04T11:00:00Z", None)]}
    path = tmp_path / "memory.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    lab = bl.open(tmp_path / "store.duckdb")
    lab.import_(path)
    upgraded = lab.events().filter(event="tier_changed").sort("seq")
    assert upgraded["item_id"].to_list() == ["a", "b", "c"]
    writers = lab.snapshots().filter(pl.col("snapshot_id").is_in(upgraded["snapshot_id"].to_list())).sort("seq")
    assert writers["writer"].to_list() == ["maki", "agent-claude", None]
    unconfirmed = _p7(lab, "unconfirmed_upgrade", "gate")
    assert (unconfirmed["numerator"], unconfirmed["denominator"]) == (2, 3)
    assert (unconfirmed["ci_low"], unconfirmed["ci_high"]) == pytest.approx(_exact_ci(2, 3))
    loops = _p7(lab, "llm_supersedes_llm", "gate")
    assert (loops["numerator"], loops["denominator"]) == (1, 2)
    # each act in the session it happened in: the upgrades' sessions hold them, the earlier ones hold none
    seq_of = dict(lab.snapshots().select("written_at_raw", "seq").iter_rows())
    per_session = lab.metrics(metric=["P7"], window=1).rows.filter(variant="unconfirmed_upgrade", namespace="gate",
                                                                      overall=False)
    flagged = per_session.filter(pl.col("numerator") > 0)["window_start_s"].sort().to_list()
    assert flagged == [seq_of["2026-08-04T10:00:00Z"], seq_of["2026-08-04T11:00:00Z"]]
    assert per_session["denominator"].sum() == 3
