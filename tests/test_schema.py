"""The pandera models are the single declaration: the DuckDB tables and the contract columns follow from them."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import polars as pl
import pytest

import baton_lab as bl
from baton_lab.redact import redact, redact_text
from baton_lab.store.ordering import SnapshotMeta, StoredHistory, append_order, order
from baton_lab.store.schemas import TABLES
from baton_lab.store.validate import validate

# concepts.md §2: required columns are public API.
CONTRACT = {
    "sources": ["source_id", "format", "uri", "sha256", "importer_version", "imported_at"],
    "snapshots": ["snapshot_id", "namespace", "seq", "session_id", "parent_session", "written_at", "observed_at",
                  "schema_version", "revision", "writer", "content_sha256", "source_id", "raw"],
    "open_loops": ["snapshot_id", "namespace", "seq", "item_id", "action", "expected_outcome", "verify_method", "status", "source_tier"],
    "follow_ups": ["snapshot_id", "namespace", "seq", "item_id", "title", "defer_count", "priority", "status", "source_tier"],
    "patterns": ["snapshot_id", "namespace", "seq", "item_id", "text", "count", "threshold", "status", "rule_ref", "source_tier"],
    "pattern_occurrences": ["namespace", "item_id", "session_id", "context", "first_seen_seq"],
    "decisions": ["snapshot_id", "namespace", "seq", "item_id", "what", "why", "status", "superseded_by", "source_tier"],
    "events": ["namespace", "tier", "item_id", "seq", "session_id", "event", "from_value", "to_value"],
    "quarantine": ["source_id", "location", "reason", "fragment"],
}


@pytest.mark.parametrize("table", list(CONTRACT))
def test_contract_columns_exist_in_model_and_store(table: str, lab: bl.Lab) -> None:
    model_columns = list(TABLES[table].to_schema().columns)
    assert set(CONTRACT[table]) <= set(model_columns)
    with lab.connect(read_only=True) as con:
        store_columns = [row[0] for row in con.execute(f"DESCRIBE {table}").fetchall()]
    assert store_columns == model_columns


def test_validation_collects_every_problem_at_once() -> None:
    frame = pl.DataFrame({
        "snapshot_id": ["a", "a", "a"], "namespace": ["n", "n", "n"], "item_id": ["1", "2", "3"],
        "status": ["open", "wip", "lost"], "verify_method": ["http", "smoke-signal", "none"],
        "source_tier": ["llm_derived", "robot", "human_confirmed"],
    })
    clean, findings = validate("open_loops", frame)
    assert clean.height == 3
    assert clean["status"].to_list() == ["open", None, None]
    assert clean["source_tier"].to_list() == ["llm_derived", None, "human_confirmed"]
    assert sorted((f.item_id, f.json_path) for f in findings) == [("2", None), ("2", None), ("2", None), ("3", None)]
    assert json.loads(clean["invalid_values"].to_list()[1]) == {"status": "wip", "verify_method": "smoke-signal", "source_tier": "robot"}


def test_rows_missing_required_values_are_dropped_with_a_finding() -> None:
    frame = pl.DataFrame({"snapshot_id": ["a", None], "namespace": ["n", "n"], "item_id": ["1", "2"]})
    clean, findings = validate("decisions", frame)
    assert clean["item_id"].to_list() == ["1"]
    assert [(f.kind, f.item_id) for f in findings] == [("item", "2")]


def _meta(sid: str, session: str | None, parent: str | None, observed: int | None = None, written: int | None = None,
          kind: str = "commit", name: str = "") -> SnapshotMeta:
    def ts(day: int | None) -> datetime | None:
        return None if day is None else datetime(2026, 6, day, tzinfo=UTC)
    return SnapshotMeta(sid, session, parent, ts(observed), kind if observed else None, ts(written), name or sid)


def test_lineage_beats_clocks_and_observed_time_beats_claims() -> None:
    # the agent's clock is wrong for b; lineage says a -> b -> c
    snaps = [_meta("c", "s3", "s2", written=3), _meta("b", "s2", "s1", written=9), _meta("a", "s1", None, written=2)]
    assert order(snaps) == (["a", "b", "c"], "lineage (parent_session), then claimed time (written_at), then name")
    observed = [_meta("x", None, None, observed=5, written=1), _meta("y", None, None, observed=2, written=9)]
    assert order(observed) == (["y", "x"], "observed time (commit), then name")
    mtime_only = [_meta("m2", None, None, observed=1, kind="file_mtime", name="b"),
                  _meta("m1", None, None, written=3, name="a")]
    # a claimed time outranks a file mtime, but both are times: the earlier one wins
    assert order(mtime_only)[0] == ["m2", "m1"]


def test_lineage_cycle_does_not_hang() -> None:
    snaps = [_meta("a", "s1", "s2", written=1), _meta("b", "s2", "s1", written=2)]
    assert sorted(order(snaps)[0]) == ["a", "b"]


def test_redaction_keeps_env_references() -> None:
    text, n = redact_text("curl -H 'Authorization: Bearer abcdefghijklmnop1234' -H \"Authorization: Bearer $MH_API_TOKEN\"")
    assert n == 1 and "abcdefghijklmnop1234" not in text and "$MH_API_TOKEN" in text
    doc, n = redact({"infra": {"auth_env_var": "MH_API_TOKEN", "password": "pw1234"}, "note": "the token expired"})
    assert doc == {"infra": {"auth_env_var": "MH_API_TOKEN", "password": redact_text("password=pw1234")[0][9:]},
                   "note": "the token expired"}
    assert doc["infra"]["password"].startswith("[REDACTED:")


def _stored_facts(stored: list[SnapshotMeta], new: list[SnapshotMeta]) -> StoredHistory:
    """What `tail_facts` reads from the store, computed here from the stored metadata directly."""
    ordered, rule = order(stored)
    seq = {sid: i for i, sid in enumerate(ordered)}
    times = [meta.observed_at if meta.observed_kind not in (None, "file_mtime") and meta.observed_at else
             meta.written_at or meta.observed_at for meta in stored]
    graph = [meta.graph_order for meta in stored if meta.graph_order is not None]
    by_session = {meta.session_id: meta.snapshot_id for meta in stored if meta.session_id}
    kept = all(seq[by_session[m.parent_session]] < seq[m.snapshot_id] for m in stored
               if m.parent_session in by_session and m.parent_session != m.session_id)
    new_sessions = {m.session_id for m in new if m.session_id}
    return StoredHistory(len(stored), max((t for t in times if t), default=None), any(t is None for t in times),
                         [len(graph), max(graph, default=None)], rule, kept,
                         any(m.parent_session in new_sessions and m.parent_session != m.session_id for m in stored),
                         any(m.parent_session in by_session and m.parent_session != m.session_id for m in new))


def test_append_order_is_the_full_order_or_declines() -> None:
    """On random histories (lineage, missing sessions, clocks of every kind, commit-graph positions), the append fast
    path numbers new snapshots exactly as ordering the whole history would, or declines."""
    import random

    taken = 0
    for seed in range(300):
        rng = random.Random(seed)
        metas = []
        for i in range(rng.randint(2, 12)):
            session = f"s{i}" if rng.random() < 0.8 else None
            parent = rng.choice([None, *[f"s{j}" for j in range(i + 2)]]) if rng.random() < 0.6 else None
            observed = rng.choice([None, None, i + 1, rng.randint(1, 14)])
            written = i + 1 if rng.random() < 0.9 else rng.choice([None, rng.randint(1, 14)])
            meta = _meta(f"m{i}", session, parent, observed=observed, written=written,
                         kind=rng.choice(["commit", "capture", "file_mtime"]))
            meta.graph_order = rng.choice([None, None, i, rng.randint(0, 20)])
            metas.append(meta)
        cut = rng.randint(1, len(metas) - 1)
        stored, new = metas[:cut], metas[cut:]
        fast = append_order(_stored_facts(stored, new), new)
        if fast is not None:
            taken += 1
            assert (order(stored)[0] + fast[0], fast[1]) == order(metas), seed
    assert taken >= 30   # the comparison was made often enough to mean something


def test_append_order_takes_the_fast_path_for_later_sessions() -> None:
    stored = [_meta(f"a{i}", f"s{i}", f"s{i - 1}" if i else None, written=i + 1) for i in range(5)]
    new = [_meta("a5", "s5", "s4", written=6), _meta("a6", "s6", "s5", written=7)]
    assert append_order(_stored_facts(stored, new), new) == (["a5", "a6"], order(stored + new)[1])
    late = [_meta("x", "sx", None, written=3)]           # earlier than the stored history: ordered again
    assert append_order(_stored_facts(stored, late), late) is None
