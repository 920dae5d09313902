"""Event derivation over multi-snapshot sequences: every event kind, archive vs silent drop, gaps, increments."""

from __future__ import annotations

from pathlib import Path

import polars as pl

import baton_lab as bl
from builders import decision, follow_up, loop, pattern, v1, v2, v2_follow_up, write, write_sequence


def _events(lab: bl.Lab) -> set[tuple]:
    return {
        (r["tier"], r["item_id"], r["seq"], r["event"], r["from_value"], r["to_value"], r["delta"], r["disposition"])
        for r in lab.events().iter_rows(named=True)
    }


def test_every_event_kind_on_a_v1_sequence(lab: bl.Lab, tmp_path: Path) -> None:
    batons = [
        v1("s1", None, loops=[loop("OL-1"), loop("OL-2"), loop("OL-3")], follow_ups=[follow_up("FU-1")],
           patterns=[pattern("P-1", occurrences=[("s1", "a")])], decisions=[decision("D-1")]),
        v1("s2", "s1", loops=[loop("OL-1", status="verified"), loop("OL-2", status="failed"), loop("OL-3")],
           follow_ups=[follow_up("FU-1", defer=1)],
           patterns=[pattern("P-1", count=3, status="rule_candidate", occurrences=[("s1", "a"), ("s2", "b")])],
           decisions=[decision("D-1", status="superseded", superseded_by="D-2"), decision("D-2")]),
        # archived: OL-1 (verified), OL-2 (failed); silent drop: OL-3 (still open); FU-1 gone (v1: ambiguous)
        v1("s3", "s2", patterns=[pattern("P-1", count=3, status="graduated", tier="human_confirmed",
                                         occurrences=[("s1", "a"), ("s2", "b")], graduated_to="rules/p1.md")],
           decisions=[decision("D-2")]),
        v1("s4", "s3", follow_ups=[follow_up("FU-1", defer=3, priority="elevated")],
           patterns=[pattern("P-1", count=4, status="graduated", tier="human_confirmed",
                             occurrences=[("s1", "a"), ("s2", "b"), ("s4", "c")], graduated_to="rules/p1.md")],
           decisions=[decision("D-2")]),
    ]
    write_sequence(tmp_path / "h", batons)
    lab.import_(tmp_path / "h", namespace="home")
    events = _events(lab)

    assert ("open_loop", "OL-1", 1, "created", None, "open", None, None) in events
    assert ("open_loop", "OL-1", 2, "status_changed", "open", "verified", None, None) in events
    assert ("open_loop", "OL-2", 2, "status_changed", "open", "failed", None, None) in events
    assert ("open_loop", "OL-1", 3, "disappeared", "verified", None, None, "archived") in events
    assert ("open_loop", "OL-2", 3, "disappeared", "failed", None, None, "archived") in events
    assert ("open_loop", "OL-3", 3, "disappeared", "open", None, None, "silent_drop") in events
    assert ("follow_up", "FU-1", 2, "deferred", "0", "1", 1, None) in events
    assert ("follow_up", "FU-1", 3, "disappeared", "open", None, None, "ambiguous") in events
    assert ("follow_up", "FU-1", 4, "reappeared", "open", "open", None, None) in events
    # the count jumped across the gap: deferred 1 -> 3 is one event with delta 2
    assert ("follow_up", "FU-1", 4, "deferred", "1", "3", 2, None) in events
    assert ("follow_up", "FU-1", 4, "priority_changed", "normal", "elevated", None, None) in events
    assert ("pattern", "P-1", 2, "count_changed", "1", "3", 2, None) in events
    assert ("pattern", "P-1", 2, "status_changed", "observing", "rule_candidate", None, None) in events
    assert ("pattern", "P-1", 3, "status_changed", "rule_candidate", "graduated", None, None) in events
    assert ("pattern", "P-1", 3, "tier_changed", "llm_derived", "human_confirmed", None, None) in events
    assert ("pattern", "P-1", 4, "count_changed", "3", "4", 1, None) in events
    assert ("decision", "D-1", 2, "status_changed", "active", "superseded", None, None) in events
    assert ("decision", "D-1", 3, "disappeared", "superseded", None, None, "archived") in events
    assert ("decision", "D-2", 2, "created", None, "active", None, None) in events
    assert len(events) == 24  # 7 created, 5 status, 5 disappeared, 1 reappeared, 2 deferred, 1 priority, 2 count, 1 tier

    ev = lab.events()
    # items of the first snapshot are left-truncated (their creation was not observed)
    created = ev.filter(pl.col("event") == "created")
    assert created.filter(pl.col("left_truncated"))["item_id"].sort().to_list() == ["D-1", "FU-1", "OL-1", "OL-2", "OL-3", "P-1"]
    assert ev.filter(event="status_changed", item_id="OL-1")["session_id"].to_list() == ["s2"]


def test_pattern_occurrences_recover_history_beyond_the_cap_of_five(lab: bl.Lab, tmp_path: Path) -> None:
    first = [(f"s{i}", f"c{i}") for i in range(1, 4)]
    # between the snapshots 4 occurrences happened, but only the last 5 of 7 are listed
    later = [(f"s{i}", f"c{i}") for i in range(3, 8)]
    batons = [v1("s3", patterns=[pattern("P-1", count=3, occurrences=first)]),
              v1("s7", "s3", patterns=[pattern("P-1", count=7, occurrences=later)]),
              v1("s8", "s7", patterns=[pattern("P-1", count=10, occurrences=later)])]  # +3, none listed
    write_sequence(tmp_path / "h", batons)
    lab.import_(tmp_path / "h", namespace="home")
    occ = lab.pattern_occurrences().sort("first_seen_seq", "session_id")

    listed = occ.filter(~pl.col("inferred"))
    assert listed["session_id"].to_list() == ["s1", "s2", "s3", "s4", "s5", "s6", "s7"]
    assert listed.filter(session_id="s4")[["first_seen_seq", "after_seq"]].row(0) == (2, 1)
    inferred = occ.filter(pl.col("inferred"))
    assert inferred[["first_seen_seq", "after_seq"]].rows() == [(3, 2)] * 3
    assert occ.height == 10  # equals the final count: nothing lost, nothing double-counted


def test_v2_postponed_and_closed_follow_ups(lab: bl.Lab, tmp_path: Path) -> None:
    write(tmp_path / "h" / "1.json", v2("home", 1, written_at="2026-06-18T10:00:00Z",
                                         follow_ups=[v2_follow_up("FU-1"), v2_follow_up("FU-2")]))
    write(tmp_path / "h" / "2.json", v2("home", 2, written_at="2026-06-19T10:00:00Z",
                                         follow_ups=[v2_follow_up("FU-1", postponed=1), v2_follow_up("FU-2", status="done")]))
    write(tmp_path / "h" / "3.json", v2("home", 3, written_at="2026-06-20T10:00:00Z"))
    lab.import_(tmp_path / "h")
    events = _events(lab)
    assert ("follow_up", "FU-1", 2, "deferred", "0", "1", 1, None) in events
    assert ("follow_up", "FU-2", 2, "status_changed", "open", "done", None, None) in events
    assert ("follow_up", "FU-1", 3, "disappeared", "open", None, None, "silent_drop") in events
    assert ("follow_up", "FU-2", 3, "disappeared", "done", None, None, "archived") in events


def test_incremental_append_matches_a_full_import(tmp_path: Path) -> None:
    batons = [v1(f"s{i}", f"s{i-1}" if i > 1 else None, updated_at=f"2026-06-{10+i}T00:00:00Z",
                 loops=[loop("OL-1", status="open" if i < 3 else "verified")] if i < 4 else [],
                 patterns=[pattern("P-1", count=i, occurrences=[(f"s{j}", "x") for j in range(max(1, i - 4), i + 1)])])
              for i in range(1, 7)]
    paths = write_sequence(tmp_path / "all", batons)
    full = bl.open(tmp_path / "full.duckdb")
    full.import_(tmp_path / "all", namespace="ns")
    step = bl.open(tmp_path / "step.duckdb")
    for path in paths:
        step.import_(path, namespace="ns")
    cols = ["tier", "item_id", "seq", "event", "from_value", "to_value", "delta", "disposition", "left_truncated"]
    assert step.events().select(cols).sort(cols).equals(full.events().select(cols).sort(cols))
    assert step.pattern_occurrences().height == full.pattern_occurrences().height == 6


def test_late_older_snapshot_resequences_and_rederives(tmp_path: Path) -> None:
    batons = [v1(f"s{i}", f"s{i-1}" if i > 1 else None, updated_at=f"2026-06-{10+i}T00:00:00Z",
                 loops=[loop("OL-1", status=["open", "open", "failed", "failed"][i - 1])]) for i in range(1, 5)]
    paths = write_sequence(tmp_path / "all", batons)
    lab = bl.open(tmp_path / "s.duckdb")
    lab.import_([paths[0], paths[1], paths[3]], namespace="ns")
    assert lab.snapshots().sort("seq")["session_id"].to_list() == ["s1", "s2", "s4"]
    summary = lab.import_(paths[2], namespace="ns")  # s3 arrives late
    assert lab.snapshots().sort("seq")["session_id"].to_list() == ["s1", "s2", "s3", "s4"]
    assert summary.namespaces["ns"]["order_rule"].startswith("lineage")
    changed = lab.events().filter(event="status_changed")
    assert changed[["seq", "session_id", "from_value", "to_value"]].rows() == [(3, "s3", "open", "failed")]
    assert lab.open_loops().sort("seq")["seq"].to_list() == [1, 2, 3, 4]


def test_order_falls_back_to_claimed_time_then_name(lab: bl.Lab, tmp_path: Path) -> None:
    # no lineage; file names disagree with the claimed times; claimed time wins over name
    write(tmp_path / "h" / "a.json", v1("late", updated_at="2026-06-20T00:00:00Z"))
    write(tmp_path / "h" / "b.json", v1("early", updated_at="2026-06-18T00:00:00Z"))
    summary = lab.import_(tmp_path / "h", namespace="ns")
    assert lab.snapshots().sort("seq")["session_id"].to_list() == ["early", "late"]
    assert summary.namespaces["ns"]["order_rule"] == "claimed time (written_at), then name"
