"""Headline counts per namespace, exactly the keys of metrics.md's preamble (plain counts, no intervals)."""

from __future__ import annotations

import polars as pl

from .base import Context

KEYS = ("sessions", "loops_created", "caught_regressions", "silent_drops", "patterns", "graduations",
        "anti_ouroboros_violations", "recurrences_after_graduation", "followups_escalated", "decisions_superseded",
        "unseen_revisions")


def headline_counts(ctx: Context) -> dict[str, dict[str, int]]:
    """{namespace: {key: count}} for the selection.

    - sessions: snapshots; loops_created: distinct loop ids (left-truncated ones included);
    - caught_regressions: loops that reached `failed` and were not later `verified` (L4 numerator);
    - silent_drops: loops whose last observation is still open/stale and that are absent from the last snapshot;
    - patterns / graduations: distinct pattern ids / those ever `graduated` (or with `rule_ref`);
    - anti_ouroboros_violations: patterns observed graduated while `llm_derived` (P7 (a));
    - recurrences_after_graduation: occurrences first seen after the graduation snapshot;
    - followups_escalated: follow-ups that reached v1 `priority: escalated` or a defer/postpone count ≥ 5;
    - decisions_superseded: decisions ever `superseded`;
    - unseen_revisions: revisions 1..max(revision) never observed as a snapshot (v2/memhall; 0 without revisions).
    """
    out: dict[str, dict[str, int]] = {}
    loops, pats, fus, decs = ctx.loops, ctx.patterns, ctx.followups, ctx.decisions
    occ = ctx.occurrences.join(pats.select("namespace", "item_id", "graduated_seq"), on=["namespace", "item_id"])
    after = occ.filter(pl.col("graduated_seq").is_not_null() & (pl.col("seq") > pl.col("graduated_seq")))
    revs = (ctx.sessions.filter(pl.col("revision").is_not_null()).group_by("namespace")
            .agg(top=pl.col("revision").max(), seen=pl.col("revision").filter(pl.col("revision") >= 1).n_unique()))

    def per_ns(frame: pl.DataFrame, expr: pl.Expr | None = None) -> dict[str, int]:
        f = frame.filter(expr) if expr is not None else frame
        return dict(f.group_by("namespace").len().iter_rows()) if f.height else {}

    n_loops, caught = per_ns(loops), per_ns(loops, pl.col("caught"))
    dropped = per_ns(loops, pl.col("outcome") == "dropped")
    n_pats, grads = per_ns(pats), per_ns(pats, pl.col("graduated_seq").is_not_null())
    viol = per_ns(pats, pl.col("violation_seq").is_not_null())
    rec = per_ns(after)
    esc = per_ns(fus, pl.col("escalated_seq").is_not_null())
    sup = per_ns(decs, pl.col("superseded_seq").is_not_null())
    unseen = {r["namespace"]: int(r["top"] - r["seen"]) for r in revs.iter_rows(named=True)}
    for row in ctx.bounds.iter_rows(named=True):
        ns = row["namespace"]
        out[ns] = {
            "sessions": int(row["n_sessions"]), "loops_created": n_loops.get(ns, 0),
            "caught_regressions": caught.get(ns, 0), "silent_drops": dropped.get(ns, 0),
            "patterns": n_pats.get(ns, 0), "graduations": grads.get(ns, 0),
            "anti_ouroboros_violations": viol.get(ns, 0), "recurrences_after_graduation": rec.get(ns, 0),
            "followups_escalated": esc.get(ns, 0), "decisions_superseded": sup.get(ns, 0),
            "unseen_revisions": unseen.get(ns, 0),
        }
    return out
