"""Ground truth: what really happened, keyed so tests can join it to what the metrics report.

Keying: `namespace` is the baton namespace; `seq` columns are the 1-based session index within the
namespace, which equals the snapshot order an importer reconstructs from any one format (one snapshot
per session). `item_id` is the item's `id`, identical in every format. A `*_seq` column names the
first snapshot that shows the new state (e.g. `terminal_seq` is the one snapshot that shows a loop
`verified`; `removed_seq` the first snapshot without it).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl

from .model import NamespaceRun

TABLES = ("sessions", "loops", "followups", "patterns", "pattern_occurrences", "decisions", "unseen_revisions")

_SCHEMAS: dict[str, dict[str, Any]] = {
    "sessions": {
        "namespace": pl.String, "preset": pl.String, "seq": pl.Int64, "session_id": pl.String,
        "parent_session": pl.String, "started_at": pl.Datetime("us", "UTC"), "written_at": pl.Datetime("us", "UTC"),
        "writer": pl.String, "regime": pl.Int64, "revision": pl.Int64, "unseen_revisions": pl.Int64,
        "server_updated_at": pl.String, "payload_recoverable": pl.Boolean, "claude_session_id": pl.String,
        "loops_checked": pl.Int64, "loops_failed": pl.Int64, "loops_dropped": pl.Int64, "loops_created": pl.Int64,
        "followups_deferred": pl.Int64, "followups_resolved": pl.Int64, "followups_created": pl.Int64,
        "pattern_occurrences": pl.Int64, "patterns_created": pl.Int64, "graduations": pl.Int64,
        "decisions_created": pl.Int64, "decisions_superseded": pl.Int64, "open_loops": pl.Int64,
        "open_followups": pl.Int64, "live_patterns": pl.Int64, "live_decisions": pl.Int64,
    },
    "loops": {
        "namespace": pl.String, "item_id": pl.String, "created_seq": pl.Int64, "verify_method": pl.String,
        "broke_something": pl.Boolean, "forgotten": pl.Boolean, "checked": pl.Boolean, "checked_seq": pl.Int64, "flaky": pl.Boolean,
        "rechecked": pl.Boolean, "outcome": pl.String, "outcome_reason": pl.String, "terminal_seq": pl.Int64, "removed_seq": pl.Int64,
        "dropped": pl.Boolean, "caught": pl.Boolean, "missed": pl.Boolean, "sessions_at_risk": pl.Int64,
    },
    "followups": {
        "namespace": pl.String, "item_id": pl.String, "created_seq": pl.Int64, "outcome": pl.String,
        "resolved_seq": pl.Int64, "dropped_seq": pl.Int64, "resolved_in_band": pl.String, "deferrals": pl.Int64,
        "deferral_opportunities": pl.Int64, "final_defer_count": pl.Int64, "elevated_seq": pl.Int64,
        "escalated_seq": pl.Int64, "at_risk_normal": pl.Int64, "at_risk_elevated": pl.Int64,
        "at_risk_escalated": pl.Int64,
    },
    "patterns": {
        "namespace": pl.String, "item_id": pl.String, "first_seq": pl.Int64, "initial_tier": pl.String,
        "rate_before": pl.Float64, "rule_effect": pl.Float64, "rate_after": pl.Float64, "candidate_seq": pl.Int64,
        "confirmed_seq": pl.Int64, "graduated_seq": pl.Int64, "violation": pl.Boolean, "dismissed_seq": pl.Int64,
        "final_status": pl.String, "occurrences_total": pl.Int64, "occurrences_before_graduation": pl.Int64,
        "occurrences_after_graduation": pl.Int64, "sessions_after_graduation": pl.Int64,
        "llm_candidate_sessions": pl.Int64,
    },
    "pattern_occurrences": {
        "namespace": pl.String, "item_id": pl.String, "session_seq": pl.Int64, "session_id": pl.String,
        "occurred_at": pl.String, "n": pl.Int64, "after_graduation": pl.Boolean,
    },
    "decisions": {
        "namespace": pl.String, "item_id": pl.String, "created_seq": pl.Int64, "what": pl.String,
        "monitoring_seq": pl.Int64, "superseded_seq": pl.Int64, "superseded_by": pl.String,
        "reversal_of": pl.String, "source_tier": pl.String,
    },
    "unseen_revisions": {"namespace": pl.String, "revision": pl.Int64, "session_seq": pl.Int64},
}


def rows_from_run(run: NamespaceRun) -> dict[str, list[dict[str, Any]]]:
    """Plain rows (picklable, so worker processes can return them)."""
    ns = run.namespace
    loops = []
    for loop in run.loops:
        terminal = loop.status if loop.status != "open" else ("dropped" if loop.removed_seq else "open")
        loops.append({
            "namespace": ns, "item_id": loop.id, "created_seq": loop.created_seq, "verify_method": loop.method,
            "broke_something": loop.broke, "forgotten": loop.forgotten, "checked": loop.checked_seq is not None, "checked_seq": loop.checked_seq,
            "flaky": loop.flaky, "rechecked": loop.recheck_flaky is not None, "outcome": terminal, "outcome_reason": loop.reason, "terminal_seq": loop.terminal_seq,
            "removed_seq": loop.removed_seq, "dropped": terminal == "dropped",
            "caught": loop.broke and terminal == "failed",
            "missed": loop.broke and terminal == "verified",
            "sessions_at_risk": loop.at_risk,
        })
    followups = []
    for fu in run.followups:
        outcome = "resolved" if fu.resolved_seq else ("dropped" if fu.dropped_seq else "open")
        followups.append({
            "namespace": ns, "item_id": fu.id, "created_seq": fu.created_seq, "outcome": outcome,
            "resolved_seq": fu.resolved_seq, "dropped_seq": fu.dropped_seq, "resolved_in_band": fu.resolved_in_band,
            "deferrals": fu.deferrals, "deferral_opportunities": fu.opportunities, "final_defer_count": fu.defer_count,
            "elevated_seq": fu.elevated_seq, "escalated_seq": fu.escalated_seq,
            "at_risk_normal": fu.at_risk["normal"], "at_risk_elevated": fu.at_risk["elevated"],
            "at_risk_escalated": fu.at_risk["escalated"],
        })
    patterns = []
    for pat in run.patterns:
        effect = pat.rule_effect
        patterns.append({
            "namespace": ns, "item_id": pat.id, "first_seq": pat.first_seq, "initial_tier": pat.initial_tier,
            "rate_before": pat.rate, "rule_effect": effect, "rate_after": pat.rate * effect if effect is not None else None,
            "candidate_seq": pat.candidate_seq, "confirmed_seq": pat.confirmed_seq, "graduated_seq": pat.graduated_seq,
            "violation": pat.violation, "dismissed_seq": pat.dismissed_seq, "final_status": pat.status,
            "occurrences_total": pat.count, "occurrences_before_graduation": pat.occ_before,
            "occurrences_after_graduation": pat.occ_after, "sessions_after_graduation": pat.sessions_after,
            "llm_candidate_sessions": pat.llm_candidate_sessions,
        })
    occurrences = [
        {"namespace": ns, "item_id": item, "session_seq": seq, "session_id": sid, "occurred_at": at, "n": n,
         "after_graduation": after}
        for item, seq, sid, at, n, after in run.occurrences
    ]
    decisions = [
        {"namespace": ns, "item_id": dec.id, "created_seq": dec.created_seq, "what": dec.what,
         "monitoring_seq": dec.monitoring_seq, "superseded_seq": dec.superseded_seq,
         "superseded_by": dec.superseded_by, "reversal_of": dec.reverses, "source_tier": dec.source_tier}
        for dec in run.decisions
    ]
    sessions = [{"namespace": ns, "preset": run.preset, **row} for row in run.sessions]
    unseen = [{"namespace": ns, "revision": r, "session_seq": s} for r, s in run.unseen]
    return {
        "sessions": sessions, "loops": loops, "followups": followups, "patterns": patterns,
        "pattern_occurrences": occurrences, "decisions": decisions, "unseen_revisions": unseen,
    }


def headline(rows: dict[str, list[dict[str, Any]]]) -> dict[str, int]:
    """The metrics.md headline counts as the data should show them (observable truth, not hidden truth)."""
    pats = rows["patterns"]
    return {
        "sessions": len(rows["sessions"]),
        "loops_created": len(rows["loops"]),
        "caught_regressions": sum(r["outcome"] == "failed" for r in rows["loops"]),
        "silent_drops": sum(r["dropped"] for r in rows["loops"]),
        "patterns": len(pats),
        "graduations": sum(r["graduated_seq"] is not None for r in pats),
        "anti_ouroboros_violations": sum(r["violation"] for r in pats),
        "recurrences_after_graduation": sum(r["occurrences_after_graduation"] for r in pats),
        "followups_escalated": sum(r["escalated_seq"] is not None for r in rows["followups"]),
        "decisions_superseded": sum(r["superseded_seq"] is not None for r in rows["decisions"]),
        "unseen_revisions": len(rows["unseen_revisions"]),
    }


def hidden_truth(rows: dict[str, list[dict[str, Any]]]) -> dict[str, int]:
    """Counts no format can show: what verification should have caught but did not."""
    loops = rows["loops"]
    return {
        "loops_broke_something": sum(r["broke_something"] for r in loops),
        "regressions_caught": sum(r["caught"] for r in loops),
        "regressions_missed": sum(r["missed"] for r in loops),
        "false_failed": sum(r["outcome"] == "failed" and not r["broke_something"] for r in loops),
        "flaky_checks": sum(r["flaky"] for r in loops),
        "followups_resolved": sum(r["outcome"] == "resolved" for r in rows["followups"]),
        "followups_abandoned": sum(r["outcome"] == "dropped" for r in rows["followups"]),
        "decision_reversals": sum(r["reversal_of"] is not None for r in rows["decisions"]),
    }


def frames(rows: dict[str, list[dict[str, Any]]]) -> dict[str, pl.DataFrame]:
    return {name: pl.DataFrame(rows[name], schema=_SCHEMAS[name], orient="row") for name in TABLES}


def split(rows: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """Rows per namespace, namespaces in order of first appearance in `sessions`."""
    by_ns: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for row in rows["sessions"]:
        by_ns.setdefault(row["namespace"], {t: [] for t in TABLES})
    for name in TABLES:
        for row in rows[name]:
            by_ns.setdefault(row["namespace"], {t: [] for t in TABLES})[name].append(row)
    return by_ns


def merge(parts: list[dict[str, list[dict[str, Any]]]]) -> dict[str, list[dict[str, Any]]]:
    merged: dict[str, list[dict[str, Any]]] = {name: [] for name in TABLES}
    for part in parts:
        for name in TABLES:
            merged[name].extend(part[name])
    return merged


def write(out_dir: Path, rows: dict[str, list[dict[str, Any]]], params_doc: dict[str, Any]) -> list[Path]:
    """`truth/params.json`, `truth/summary.json` and one Parquet file per table."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    (out_dir / "params.json").write_text(json.dumps(params_doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    written.append(out_dir / "params.json")
    summary = {ns: {"headline": headline(part), "hidden": hidden_truth(part)} for ns, part in split(rows).items()}
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    written.append(out_dir / "summary.json")
    for name, frame in frames(rows).items():
        path = out_dir / f"{name}.parquet"
        frame.write_parquet(path, compression="zstd", statistics=False)
        written.append(path)
    return written
