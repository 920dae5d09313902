"""Baton-level flow — "read and acted on" proxies (metrics.md §4.5, B1–B7)."""

from __future__ import annotations

import polars as pl

from . import frames as fr
from .base import Context
from .frames import Output
from .registry import Metric, metric

TIERS = ["all", "open_loop", "follow_up", "pattern", "decision"]
ACTIONABLE = ["open_loop", "follow_up"]   # B2 `acted`: the tiers a session is asked to act on
# v2 section caps (SPEC-v2); decisions have none.
CAPS = {"open_loop": 20, "follow_up": 30, "pattern": 50}
COLLAPSE_SHARE = 0.5      # a write that removes more than half of a section's items ...
COLLAPSE_MIN_ITEMS = 4    # ... of at least this many is a "collapse" alarm


@metric("B1", "read_receipt_rate", family="flow", title="Writes that started from the latest baton", unit="share",
        direction="up", requires=("lineage", "v2 needs expected_revision (CAS), which only transcripts give; v1 has parent_session lineage"))
def read_receipt_rate(ctx: Context, m: Metric) -> Output:
    """Share of writes (snapshots after a namespace's first) that provably started from the latest baton: v1
    `parent_session` equals the previous snapshot's `session_id`. v2 would need `expected_revision` (CAS
    success on the first try), which only transcripts/server logs carry: v2 snapshots are left out and
    a v2-only namespace gets a not-supported row. Wilson."""
    s = ctx.sessions.sort("namespace", "seq").with_columns(prev=pl.col("session_id").shift(1).over("namespace"),
                                                           first=pl.col("seq") == pl.col("seq").min().over("namespace"))
    v1 = s.filter(~pl.col("first") & (pl.col("schema_version") == "1"))
    if v1.height == 0:
        return Output(fr.unsupported(m, ctx, "v2 needs expected_revision (CAS), which only transcripts give"))
    contrib = v1.select("namespace", "seq", k=(pl.col("parent_session") == pl.col("prev")).fill_null(False).cast(pl.Int64),
                        n=pl.lit(1))
    note = "v1 lineage only" if ctx.sessions["schema_version"].n_unique() > 1 else None
    return Output(fr.finish(fr.proportion(fr.windowed(ctx, contrib, ["k", "n"]), "k", "n")
                            .with_columns(variant=pl.lit("lineage")), m, ctx, note=note))


def _flow(ctx: Context) -> pl.DataFrame:
    f = ctx.flow
    return pl.concat([f.with_columns(variant="tier"), f.with_columns(variant=pl.lit("all"))], how="diagonal_relaxed")


def _item_cells(ctx: Context) -> pl.DataFrame:
    """`ctx.flow_cells` with a cluster key per item (item ids are unique within a tier only)."""
    return ctx.flow_cells.with_columns(item=pl.concat_str("tier", pl.lit(":"), "item_id"))


@metric("B2", "touch_rate", family="flow", title="Open items acted on in the session", unit="share", direction="up",
        primary=True)
def touch_rate(ctx: Context, m: Metric) -> Output:
    """Share of items open at the start of session s (present and not closed in snapshot s−1) whose state
    changes in s: a status change, deferral, occurrence count change, priority change, or — for v1
    follow-ups, which have no status — leaving the baton (recorded as an ambiguous disappearance). Silent
    drops of loops are *not* touches. Per tier and `all`; window rows pool item-sessions (Wilson,
    clustered by item). High and stable = read; low with growing inventory = a log nobody reads.

    `acted` (the Q1 endpoint): the same share restricted to the items a session is asked to act on — open
    loops and follow-ups — and to acting: a status change (checked, escalated, resolved) or a v1 follow-up
    leaving the baton. Deferrals, priority bumps and occurrence counts are not acting. `all` mixes in
    patterns and decisions, long-lived by design, whose open pool grows as a healthy loop accumulates
    knowledge: its share falls in working loops for that reason alone (bench/verdicts_bench.py measures it).
    `acted_trend` (overall rows): Theil–Sen slope of the per-window `acted` shares, per window."""
    contrib = _flow(ctx).select("namespace", "seq", "variant", k="n_touched", n="n_open")
    acted = ctx.flow.filter(pl.col("tier").is_in(ACTIONABLE)).select(
        "namespace", "seq", variant=pl.lit("acted"), k="n_acted", n="n_open")
    df = fr.proportion(fr.windowed(ctx, pl.concat([contrib, acted]), ["k", "n"], variants=[*TIERS, "acted"]), "k", "n")
    trend = fr.trend_rows(df.filter(pl.col("variant") == "acted"), "acted_trend")
    if getattr(ctx, "cluster_samples", None) is not None:
        cells = _item_cells(ctx).filter(pl.col("is_open"))
        for tier in TIERS:
            sub = cells if tier == "all" else cells.filter(pl.col("tier") == tier)
            fr.record_clusters(ctx, m, tier, sub.with_columns(k=pl.col("is_touched"), n=1))
        fr.record_clusters(ctx, m, "acted", cells.filter(pl.col("tier").is_in(ACTIONABLE))
                           .with_columns(k=pl.col("is_acted"), n=1))
    return Output(fr.finish(pl.concat([df, trend], how="diagonal_relaxed"), m, ctx,
                            note="denominator = open item-sessions (clustered by item)"))


@metric("B3", "carryover_ratio", family="flow", title="Items carried over unchanged", unit="share")
def carryover_ratio(ctx: Context, m: Metric) -> Output:
    """Items present in snapshot s−1 that are present and unchanged (no event) in snapshot s / items in
    snapshot s−1, per tier and `all` (inertia). Wilson over item-sessions."""
    contrib = _flow(ctx).select("namespace", "seq", "variant", k="n_carried", n="n_prev")
    if getattr(ctx, "cluster_samples", None) is not None:
        cells = _item_cells(ctx).with_columns(k=pl.col("is_carried").fill_null(False), n=1)
        for tier in TIERS:
            fr.record_clusters(ctx, m, tier, cells if tier == "all" else cells.filter(pl.col("tier") == tier))
    return Output(fr.finish(fr.proportion(fr.windowed(ctx, contrib, ["k", "n"], variants=TIERS), "k", "n"), m, ctx))


def _closures(ctx: Context, with_evidence: bool) -> pl.DataFrame:
    e = ctx.events
    closing = (
        ((pl.col("tier") == "open_loop") & (pl.col("event") == "status_changed")
         & pl.col("to_value").is_in(["verified", "failed"] if with_evidence else ["verified", "failed", "escalated"]))
        | ((pl.col("tier") == "follow_up") & (pl.col("event") == "status_changed")
           & pl.col("to_value").str.to_lowercase().is_in(["done", "closed", "resolved", "completed"]))
        | ((pl.col("tier") == "pattern") & (pl.col("event") == "status_changed")
           & pl.col("to_value").is_in(["graduated", "dismissed"]))
        | ((pl.col("tier") == "decision") & (pl.col("event") == "status_changed") & (pl.col("to_value") == "superseded"))
    )
    if not with_evidence:
        closing = closing | ((pl.col("event") == "disappeared") & (pl.col("disposition") == "ambiguous"))
    closed = e.filter(closing).select("namespace", "seq", "item_id", "tier")
    if with_evidence:
        # a supersession counts only with a resolvable successor
        good = ctx.decisions.filter(pl.col("successor_resolves")).select("namespace", "item_id", tier=pl.lit("decision"))
        closed = pl.concat([closed.filter(pl.col("tier") != "decision"),
                            closed.filter(pl.col("tier") == "decision").join(good, on=["namespace", "item_id", "tier"])])
    return closed


@metric("B4", "net_closure_ratio", family="flow", title="Items closed with evidence per item opened", unit="ratio",
        direction=">=1")
def net_closure_ratio(ctx: Context, m: Metric) -> Output:
    """Per window: items closed *with evidence* (loops verified/failed, v2 follow-ups closed by status,
    patterns graduated/dismissed, decisions superseded with a resolvable successor) / items opened
    (`created` events, first snapshot excluded). v1 follow-ups leave without status and do not count as
    closed-with-evidence. Interval: exact conditional ratio of two Poisson counts over the same sessions.
    Variant `inventory` (overall rows): mean open items per snapshot, with Little's law L ≈ λW in `note`."""
    closed = _closures(ctx, True).select("namespace", "seq", kc=pl.lit(1))
    opened = ctx.events.filter((pl.col("event") == "created") & ~pl.col("left_truncated")).select(
        "namespace", "seq", ko=pl.lit(1))
    df = fr.windowed(ctx, pl.concat([closed, opened], how="diagonal_relaxed").fill_null(0), ["kc", "ko"]).with_columns(
        one=pl.lit(1.0))
    rows = fr.ratio(df, "kc", "one", "ko", "one", min_b=10).with_columns(variant=pl.lit("ratio"), exposure=pl.col("sessions"))
    inv = ctx.inventory.group_by("namespace", "seq").agg(n=pl.col("n").sum())
    inv = fr.windowed(ctx, inv, ["n"]).filter(pl.col("overall")).with_columns(
        variant=pl.lit("inventory"), estimate=pl.col("n") / pl.col("sessions"), numerator=pl.col("n"),
        exposure=pl.col("sessions"), min_n_met=pl.lit(True), ci_method=pl.lit("none (descriptive)"),
        unit=pl.lit("items per snapshot"))
    return Output(fr.finish(pl.concat([rows, inv], how="diagonal_relaxed"), m, ctx))


@metric("B5", "baton_size_pressure", family="flow", title="Section size against the v2 caps", unit="share of cap")
def baton_size_pressure(ctx: Context, m: Metric) -> Output:
    """Per section: mean items per snapshot / cap (v2 caps: open_loops 20 — target < 10 —, follow_ups 30,
    anti_patterns 50), descriptive (no interval); `collapse_events`: snapshots in which a section with at
    least 4 items loses more than half of them in one write (the ACE context-collapse alarm), a count."""
    inv = ctx.grid.select("namespace", "seq").join(pl.DataFrame({"tier": list(CAPS)}), how="cross").join(
        ctx.inventory, on=["namespace", "seq", "tier"], how="left").with_columns(pl.col("n").fill_null(0)).sort(
        "namespace", "tier", "seq")
    inv = inv.with_columns(prev=pl.col("n").shift(1).over("namespace", "tier")).with_columns(
        collapse=((pl.col("prev") >= COLLAPSE_MIN_ITEMS) & (pl.col("n") < pl.col("prev") * COLLAPSE_SHARE)).fill_null(False))
    contrib = inv.select("namespace", "seq", variant="tier", k="n",
                         cap=pl.col("tier").replace_strict(CAPS, return_dtype=pl.Int64), c=pl.col("collapse").cast(pl.Int64))
    df = fr.windowed(ctx, contrib, ["k", "cap", "c"], variants=list(CAPS))
    share = df.with_columns(numerator=pl.col("k"), denominator=pl.col("cap"),
                            estimate=pl.when(pl.col("cap") > 0).then(pl.col("k") / pl.col("cap")),
                            ci_method=pl.lit("none (descriptive)"), min_n_met=pl.lit(True))
    coll = df.group_by("namespace", "window_start_s", "window_end_s", "overall").agg(
        c=pl.col("c").sum(), sessions=pl.col("sessions").first()).with_columns(
        variant=pl.lit("collapse_events"), numerator=pl.col("c"), estimate=pl.col("c"), exposure=pl.col("sessions"),
        ci_method=pl.lit("none (count)"), min_n_met=pl.lit(True), unit=pl.lit("events"))
    return Output(fr.finish(pl.concat([share, coll], how="diagonal_relaxed"), m, ctx))


@metric("B6", "rework_rate", family="flow", title="Closed items that come back", unit="per closure", direction="down")
def rework_rate(ctx: Context, m: Metric) -> Output:
    """Rework events / closures in the window. Rework: an item reappearing after it left the baton
    (`reappeared`), or a terminal status reverting to an open one (graduated → observing, superseded →
    active, verified → open, …). A loop re-created for the same action target is not detectable: loops
    carry no target id, and matching action text over-counts templated actions. Closures: terminal status changes plus v1 follow-up disappearances. Garwood
    interval on rework per closure (rework in a window may follow closures of earlier windows)."""
    e = ctx.events
    terminal = ["verified", "failed", "escalated", "graduated", "dismissed", "superseded"]
    reopen = e.filter(((pl.col("event") == "reappeared"))
                      | ((pl.col("event") == "status_changed") & pl.col("from_value").is_in(terminal)
                         & ~pl.col("to_value").is_in(terminal)))
    k = reopen.select("namespace", "seq").with_columns(k=pl.lit(1))
    c = _closures(ctx, False).select("namespace", "seq", c=pl.lit(1))
    df = fr.windowed(ctx, pl.concat([k, c], how="diagonal_relaxed").fill_null(0), ["k", "c"])
    rows = fr.rate(df, "k", "c").with_columns(variant=pl.lit("per_closure"), denominator=pl.col("c"),
                                              min_n_met=pl.col("c") >= 10)
    return Output(fr.finish(rows, m, ctx))


@metric("B7", "reverify_regression_rate", family="flow", title="Re-verified infra entries that come back failing",
        unit="share", direction="down", requires=("infra_state", "needs v2 infra_state re-verifications"))
def reverify_regression_rate(ctx: Context, m: Metric) -> Output:
    """v2 `infra_state`: re-verifications (an entry's `verified_at` changes between snapshots) of entries that
    were `ok`, and the share that come back `down` / `needs_reverify` (the SWE-bench PASS_TO_PASS analogue).
    Wilson. Without v2 infra_state re-verifications (v1 batons) the metric is not supported."""
    df = ctx.sql("""
        WITH o AS (SELECT i.namespace, i.item_id, i.seq, i.status, i.verified_at_raw,
                          lag(i.status) OVER w AS prev_status, lag(i.verified_at_raw) OVER w AS prev_at
                   FROM infra_state i JOIN _bl_sel USING (namespace)
                   WINDOW w AS (PARTITION BY i.namespace, i.item_id ORDER BY i.seq))
        SELECT namespace, seq, (status IN ('down', 'needs_reverify'))::INT AS k, 1 AS n FROM o
        WHERE prev_status = 'ok' AND verified_at_raw IS DISTINCT FROM prev_at AND verified_at_raw IS NOT NULL""")
    if df.height == 0:
        return Output(fr.unsupported(m, ctx, "needs v2 infra_state re-verifications (none in the selection)"))
    return Output(fr.finish(fr.proportion(fr.windowed(ctx, df, ["k", "n"]), "k", "n")
                            .with_columns(variant=pl.lit("share")), m, ctx))
