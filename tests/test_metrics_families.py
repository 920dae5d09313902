"""Every metric family on hand-built histories with exact expected numbers, including the edge cases:
zero events, all censored, items in the first snapshot, count jumps across a missing snapshot, and a
pattern that graduates in the session it becomes a candidate."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

import baton_lab as bl
from baton_lab.metrics import MetricRows, REGISTRY
from builders import decision, follow_up, loop, pattern, v1, write_sequence


def _row(result, metric_id: str, variant: str, ns: str = "home", overall: bool = True) -> dict:
    rows = result.rows.filter((pl.col("metric_id") == metric_id) & (pl.col("variant") == variant)
                              & (pl.col("namespace") == ns) & (pl.col("overall") == overall))
    assert rows.height == 1, (metric_id, variant, rows)
    return rows.row(0, named=True)


def _lineage(batons: list[dict]) -> list[dict]:
    for i, b in enumerate(batons):
        b["session_id"], b["parent_session"] = f"s{i + 1}", (f"s{i}" if i else None)
    return batons


@pytest.fixture(scope="module")
def loops_lab(tmp_path_factory: pytest.TempPathFactory) -> bl.Lab:
    tmp = tmp_path_factory.mktemp("loops")
    batons = _lineage([
        v1("", loops=[loop("A")]),                                                           # A left-truncated
        v1("", loops=[loop("A", "verified"), loop("B"), loop("C", method="manual"), loop("D", method=None)]),
        v1("", loops=[loop("B", "failed"), loop("C", method="manual"), loop("E")]),          # A archived, D dropped
        v1("", loops=[loop("C", "verified", method="manual"), loop("E", "failed")]),
        v1("", loops=[loop("E", "verified"), loop("F")]),                                    # E failed then verified
    ])
    write_sequence(tmp / "h", batons)
    lab = bl.open(tmp / "s.duckdb")
    lab.import_(tmp / "h", namespace="home")
    return lab


def test_loop_family_exact_numbers(loops_lab: bl.Lab) -> None:
    r = loops_lab.metrics(metric=["L1", "L2", "L3", "L4", "L6", "L8", "B1", "B2"])
    MetricRows.validate(r.rows)
    assert r.counts["home"] == {
        "sessions": 5, "loops_created": 6, "caught_regressions": 1, "silent_drops": 1, "patterns": 0,
        "graduations": 0, "anti_ouroboros_violations": 0, "recurrences_after_graduation": 0,
        "followups_escalated": 0, "decisions_superseded": 0, "unseen_revisions": 0}
    l1 = _row(r, "loop_open_rate", "all")   # B, C, D at s2, E at s3, F at s5; A is left-truncated; s1 not exposure
    assert (l1["numerator"], l1["exposure"], l1["estimate"]) == (5, 4, 1.25)
    machine = _row(r, "verify_coverage", "machine")
    assert (machine["numerator"], machine["denominator"]) == (4, 6)
    assert _row(r, "verify_coverage", "none")["numerator"] == 1
    # L3: A excluded; B 1 (failed), C 2, D dropped at 1 (competing), E 1, F censored at 0
    l3 = _row(r, "time_to_verify", "terminal_median")
    assert (l3["estimate"], l3["numerator"], l3["denominator"], l3["n_censored"], l3["n_competing"]) == (1, 3, 5, 1, 1)
    assert _row(r, "time_to_verify", "terminal_cif_at_1")["estimate"] == pytest.approx(0.5)
    count = _row(r, "caught_regressions", "count")
    assert count["estimate"] == 1 and count["ci_high"] == pytest.approx(5.5716, abs=1e-3)
    assert _row(r, "caught_regressions", "rate_per_session")["estimate"] == pytest.approx(1 / 5)
    share = _row(r, "caught_regressions", "catch_share")   # A verified, B failed, E failed->verified
    assert (share["numerator"], share["denominator"], share["status"]) == (1, 3, "insufficient")
    drop = _row(r, "silent_drop_rate", "share")
    assert (drop["numerator"], drop["denominator"]) == (1, 6)
    esc = _row(r, "loop_escalation_rate", "all")           # zero events: exact 0 with a Wilson upper bound
    assert (esc["numerator"], esc["denominator"], esc["estimate"], esc["ci_low"]) == (0, 4, 0.0, 0.0)
    assert esc["ci_high"] == pytest.approx(0.4899, abs=1e-3)
    assert _row(r, "read_receipt_rate", "lineage")["estimate"] == 1.0
    touch = _row(r, "touch_rate", "open_loop")             # s2 A; s3 B,C,D (only B); s4 C,E (both)
    assert (touch["numerator"], touch["denominator"]) == (4, 6)
    # windows of 2 sessions: the window rows add up to the overall row
    w = loops_lab.metrics(metric="L6", window=2).rows.filter((pl.col("namespace") == "home") & ~pl.col("overall"))
    assert w.sort("window_start_s")[["window_start_s", "window_end_s"]].rows() == [(1, 2), (3, 4), (5, 5)]
    assert w["denominator"].sum() == 6 and w["numerator"].sum() == 1


def test_all_censored_and_unsupported_rows(tmp_path: Path) -> None:
    write_sequence(tmp_path / "h", _lineage([v1(""), v1("", loops=[loop("A")]), v1("", loops=[loop("A")])]))
    lab = bl.open(tmp_path / "s.duckdb")
    lab.import_(tmp_path / "h", namespace="home")
    r = lab.metrics(metric=["L3", "L9", "B7", "caught_regressions"])
    l3 = _row(r, "time_to_verify", "terminal_median")
    assert l3["estimate"] is None and l3["n_censored"] == 1 and l3["numerator"] == 0 and l3["status"] == "insufficient"
    for mid in ("verify_flip_rate", "reverify_regression_rate"):
        rows = r.rows.filter(pl.col("metric_id") == mid)
        assert set(rows["namespace"]) == {"home", "(pooled)"}
        assert set(rows["status"]) == {"not_supported"} and rows["note"].str.starts_with("not supported").all()
        assert rows["estimate"].is_null().all() and not rows["min_n_met"].any()
    zero = _row(r, "caught_regressions", "rate_per_session")
    assert (zero["numerator"], zero["estimate"], zero["ci_low"]) == (0, 0.0, 0.0)


def test_mixed_schemas_name_the_namespaces_that_cannot_support_a_metric(tmp_path: Path) -> None:
    from builders import v2, v2_loop

    write_sequence(tmp_path / "old", _lineage([v1("", decisions=[decision("d1")]), v1("", decisions=[decision("d1")])]))
    write_sequence(tmp_path / "new", [v2("new", 1, loops=[v2_loop("L1")]), v2("new", 2, loops=[v2_loop("L1")])])
    lab = bl.open(tmp_path / "s.duckdb")
    lab.import_(tmp_path / "old", namespace="old")
    lab.import_(tmp_path / "new", namespace="new")
    r = lab.metrics(metric=["D2", "B1", "B7"])
    assert _row(r, "supersession_rate", "rate", ns="new")["status"] == "not_supported"     # v2 has no decisions
    assert _row(r, "supersession_rate", "rate", ns="old")["status"] in ("ok", "insufficient")   # data, but few
    assert _row(r, "read_receipt_rate", "lineage", ns="new")["note"].startswith("not supported: v2 needs")
    assert _row(r, "read_receipt_rate", "lineage", ns="old")["status"] != "not_supported"
    b7 = r.rows.filter((pl.col("metric_id") == "reverify_regression_rate") & (pl.col("namespace") == "old"))
    assert b7.height and set(b7["status"]) == {"not_supported"}                            # v1 has no infra_state


def _pats(seq: int) -> list[dict]:
    """Four patterns over 12 snapshots (first snapshot empty, so none is left-truncated)."""
    p1_occ = [("s2", "a"), ("s3", "b"), ("s4", "c"), ("s6", "d"), ("s8", "e")]
    p1_count = {2: 1, 3: 2, 4: 3, 5: 3, 6: 4, 7: 4}.get(seq, 5)
    p1_status = "observing" if seq < 4 else ("rule_candidate" if seq < 6 else "graduated")
    p1 = pattern("P-1", count=p1_count, status=p1_status, occurrences=p1_occ[:p1_count],
                 tier="llm_derived" if seq < 5 else "human_confirmed", graduated_to="rules/p1.md" if seq >= 6 else None)
    # P-2 jumps to its threshold and graduates in the same snapshot; missing from s6, back at s7 with 3 more
    p2_occ = [("s2", "a"), ("s3", "b"), ("s3", "c")]
    p2 = pattern("P-2", count=1 if seq == 2 else (3 if seq < 7 else 6), status="observing" if seq == 2 else "graduated",
                 occurrences=p2_occ[:1] if seq == 2 else p2_occ, tier="raw_source",
                 graduated_to=None if seq == 2 else "rules/p2.md")
    p3_occ = [("s2", "a"), ("s5", "b"), ("s5", "c"), ("s9", "d")]
    p3_count = 1 if seq < 5 else (3 if seq < 9 else 4)
    p3 = pattern("P-3", count=p3_count, status="observing" if seq < 5 else "rule_candidate",
                 occurrences=p3_occ[:p3_count])
    p4 = pattern("P-4", count=3, status="rule_candidate" if seq < 4 else "graduated",
                 occurrences=[("s2", "a"), ("s2", "b"), ("s2", "c")], graduated_to="rules/p4.md" if seq >= 4 else None)
    out = [p1, p3, p4] + ([] if seq == 6 else [p2])
    return out


@pytest.fixture(scope="module")
def patterns_result(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    tmp = tmp_path_factory.mktemp("pats")
    batons = _lineage([v1("")] + [v1("", patterns=_pats(s)) for s in range(2, 13)])
    write_sequence(tmp / "h", batons)
    lab = bl.open(tmp / "s.duckdb")
    lab.import_(tmp / "h", namespace="home")
    return lab.metrics(metric=["P1", "P4", "P5", "P6", "P7", "P9", "B6"])


def test_pattern_counts_and_p7_edge_cases(patterns_result) -> None:  # noqa: ANN001
    r = patterns_result
    c = r.counts["home"]
    assert (c["patterns"], c["graduations"], c["anti_ouroboros_violations"]) == (4, 3, 1)
    assert c["recurrences_after_graduation"] == 1 + 3   # P-1 at s8; P-2's jump across its missing snapshot
    hard = _row(r, "anti_ouroboros_violations", "hard")   # P-4 graduated while llm_derived
    same = _row(r, "anti_ouroboros_violations", "same_session")   # P-2: candidate and graduated in s3
    anyv = _row(r, "anti_ouroboros_violations", "any")
    assert (hard["numerator"], same["numerator"], anyv["numerator"], anyv["denominator"]) == (1, 1, 2, 3)
    assert hard["ci_method"] == "exact"
    # a Session Baton history's gate is graduation: the tier-gated variants (AMH audits) say they cannot apply
    for variant in ("unconfirmed_upgrade", "llm_supersedes_llm"):
        for ns in ("home", "(pooled)"):
            row = _row(r, "anti_ouroboros_violations", variant, ns)
            assert row["status"] == "not_supported" and row["estimate"] is None and "tier-gated" in row["note"]
    assert "writer" in _row(r, "anti_ouroboros_violations", "laundering")["note"]


def test_rule_effectiveness_excludes_the_triggering_window(patterns_result) -> None:  # noqa: ANN001
    r = patterns_result
    items = r.items["rule_effectiveness"].sort("pattern_id")
    got = {row["pattern_id"]: (row["arm"], row["k_before"], row["e_before"], row["k_after"], row["e_after"])
           for row in items.iter_rows(named=True)}
    assert got == {
        "P-1": ("graduated", 1, 2, 1, 6),    # before = s5..s6 (crossing at s4 excluded), after = s7..s12
        "P-2": ("graduated", 0, 0, 3, 9),    # graduates where it crosses: no before-period
        "P-3": ("control", 0, 2, 1, 5),      # crossed at s5, pseudo-graduation after the median delay (2, 0, 2 -> 2)
        "P-4": ("graduated", 0, 2, 0, 8),
    }
    rr = _row(r, "rule_effectiveness", "rr_graduated")
    assert rr["estimate"] == pytest.approx(1 / 3, rel=1e-6)       # only P-1 has a before-period with events
    assert (rr["numerator"], rr["denominator"], rr["status"]) == (1, 1, "insufficient")   # < 6 before events
    assert "event_study" in set(r.curves["rule_effectiveness"]["variant"])


def test_pattern_recurrence_funnel_latency_and_history_loss(patterns_result) -> None:  # noqa: ANN001
    r = patterns_result
    p1 = _row(r, "pattern_recurrence_rate", "pooled")   # 4 + 5 + 3 + 0 after first snapshot, 4 x 10 sessions
    assert (p1["numerator"], p1["exposure"]) == (12, 40) and p1["estimate"] == pytest.approx(0.3)
    cand = _row(r, "graduation_funnel", "candidate_share")
    grad = _row(r, "graduation_funnel", "graduated_share")
    assert (cand["numerator"], cand["denominator"]) == (4, 4)
    assert (grad["numerator"], grad["denominator"], grad["n_censored"]) == (3, 4, 1)
    ttg = _row(r, "time_to_graduation", "graduation_median")   # P-2 0, P-1 2, P-4 2, P-3 censored at 7
    assert (ttg["estimate"], ttg["numerator"], ttg["n_censored"]) == (2, 3, 1)
    gate = _row(r, "gate_latency", "gate_median")   # P-1 confirmed 1 session after candidacy; P-3 waits (censored)
    assert (gate["numerator"], gate["denominator"], gate["n_censored"], gate["n_competing"]) == (1, 3, 1, 1)
    loss = _row(r, "occurrence_history_loss", "share")   # P-2 (count 6) jumped across its missing snapshot
    assert (loss["numerator"], loss["denominator"]) == (1, 1)
    rework = _row(r, "rework_rate", "per_closure")       # P-2 reappeared
    assert rework["numerator"] == 1


def test_followups_and_decisions(tmp_path: Path) -> None:
    batons = _lineage([
        v1("", decisions=[decision("D-0")]),
        v1("", follow_ups=[follow_up("F-1"), follow_up("F-2", defer=4, priority="elevated")],
           decisions=[decision("D-0"), decision("D-1", rejected=["Use B for x"], what="Use A for x")]),
        v1("", follow_ups=[follow_up("F-1", defer=1), follow_up("F-2", defer=5, priority="escalated")],
           decisions=[decision("D-0"), decision("D-1", "superseded", superseded_by="D-2", rejected=["Use B for x"],
                                                what="Use A for x"), decision("D-2", what="Use B for x")]),
        v1("", follow_ups=[follow_up("F-2", defer=5, priority="escalated")],
           decisions=[decision("D-0"), decision("D-2", what="Use B for x")]),
        v1("", decisions=[decision("D-0"), decision("D-2", what="Use B for x")]),
    ])
    write_sequence(tmp_path / "h", batons)
    lab = bl.open(tmp_path / "s.duckdb")
    lab.import_(tmp_path / "h", namespace="home")
    r = lab.metrics(metric=["F1", "F2", "F3", "D1", "D2", "D3", "D4"])
    assert lab.counts()["home"]["followups_escalated"] == 1 and lab.counts("home")["home"]["decisions_superseded"] == 1
    assert (_row(r, "deferral_distribution", "reached_5")["numerator"], _row(r, "deferral_distribution", "reached_5")["denominator"]) == (1, 2)
    f2 = _row(r, "time_to_followup_resolution", "resolution_median")   # F-1 gone at s4 (2), F-2 gone at s5 (3)
    assert (f2["estimate"], f2["numerator"], f2["n_censored"]) == (2, 2, 0) and "inferred" in f2["note"]
    # F3: at risk lt3: F-1 s3, s4 (resolved in s4); 3_4: F-2 s3; ge5: F-2 s4, s5 (resolved in s5)
    assert (_row(r, "escalation_effectiveness", "rate_lt3")["numerator"], _row(r, "escalation_effectiveness", "rate_lt3")["exposure"]) == (1, 2)
    assert (_row(r, "escalation_effectiveness", "rate_ge5")["numerator"], _row(r, "escalation_effectiveness", "rate_ge5")["exposure"]) == (1, 2)
    assert _row(r, "escalation_effectiveness", "rr_ge5_vs_lt3")["estimate"] == pytest.approx(1.0)
    d1 = _row(r, "decision_lifetime", "lifetime_median")   # D-0 left-truncated; D-1 1 session; D-2 censored
    assert (d1["estimate"], d1["denominator"], d1["n_censored"]) == (1, 2, 1)
    rev = _row(r, "reversal_rate", "reversal")             # D-2 restores D-1's rejected alternative
    assert (rev["numerator"], rev["denominator"]) == (1, 1)
    sup = _row(r, "supersession_rate", "rate")             # decision-sessions at risk: 1+2+2+2
    assert (sup["numerator"], sup["exposure"]) == (1, 7)
    assert _row(r, "decision_linkage", "superseded_by_resolves")["estimate"] == 1.0
    assert _row(r, "decision_evidence_quality", "evidence_and_rejected")["denominator"] == 3


def test_every_catalogue_id_is_registered_with_a_definition() -> None:
    import re

    from baton_lab.metrics import resolve

    # The catalogue's heading lines, copied from shared/reference/metrics.md, are the id contract.
    catalogue = Path(__file__).resolve().parent / "fixtures" / "metrics-catalogue-ids.md"
    resolve(None)
    body = catalogue.read_text(encoding="utf-8")
    ids = set()
    for line in re.findall(r"^\*\*[A-Z]+[0-9]* (`.+?)\*\*", body, flags=re.M):
        ids |= set(re.findall(r"`([a-z_]+)`", line))
    ids |= {"spiral_index"}
    assert set(REGISTRY) == ids
    assert len(REGISTRY) == 38
    assert all(m.definition and len(m.definition) > 80 for m in REGISTRY.values())
    assert {m.code for m in resolve("L5")} == {"L5"} and len(resolve("L5")) == 2
