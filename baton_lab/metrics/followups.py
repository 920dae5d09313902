"""Follow-ups: deferral and escalation (metrics.md §4.2, F1–F4)."""

from __future__ import annotations

import polars as pl

from . import frames as fr
from .base import Context
from .frames import Output
from .registry import Metric, metric


# Beads and other trackers have no deferral counter: their namespaces get not_supported rows for F1, F3, F4.
DEFER_COUNTS = ("defer_counts", "needs deferral counts (v1 defer_count, v2 postponed_count), which this format has not")

@metric("F1", "deferral_distribution", family="followups", title="Deferrals per follow-up", unit="share",
        requires=DEFER_COUNTS)
def deferral_distribution(ctx: Context, m: Metric) -> Output:
    """Distribution of `defer_count` (v1) / `postponed_count` (v2) at resolution or last observation, for
    follow-ups created in the window. Variants: `reached_3` (elevated) and `reached_5` (escalated) shares
    (Wilson), `mean_defer`. Open follow-ups are still counting, so their count is a lower bound: they are
    in `n_censored`. Items: one row per follow-up (final defer count, open or not) for the histogram."""
    f = ctx.followups.with_columns(open=pl.col("outcome") == "censored", d=pl.col("max_defer").fill_null(0))
    contrib = pl.concat([
        f.select("namespace", seq="created_seq", variant=pl.lit("reached_3"), k=(pl.col("d") >= 3).cast(pl.Int64),
                 n=pl.lit(1), c=pl.col("open").cast(pl.Int64)),
        f.select("namespace", seq="created_seq", variant=pl.lit("reached_5"), k=(pl.col("d") >= 5).cast(pl.Int64),
                 n=pl.lit(1), c=pl.col("open").cast(pl.Int64)),
    ])
    share = fr.proportion(fr.windowed(ctx, contrib, ["k", "n", "c"], variants=["reached_3", "reached_5"]), "k", "n")
    mean = fr.windowed(ctx, f.select("namespace", seq="created_seq", k="d", n=pl.lit(1), c=pl.col("open").cast(pl.Int64)),
                       ["k", "n", "c"])
    mean = mean.with_columns(variant=pl.lit("mean_defer"), numerator=pl.col("k"), denominator=pl.col("n"),
                             estimate=pl.when(pl.col("n") > 0).then(pl.col("k") / pl.col("n")),
                             min_n_met=pl.col("n") >= 10, unit=pl.lit("deferrals"), ci_method=pl.lit("none (descriptive)"))
    rows = pl.concat([share, mean], how="diagonal_relaxed").with_columns(n_censored=pl.col("c").cast(pl.Int64))
    items = f.select("namespace", "item_id", "created_seq", "outcome", final_defer="d", still_open="open")
    return Output(fr.finish(rows, m, ctx), items=items)


@metric("F2", "time_to_followup_resolution", family="followups", title="Sessions to resolve a follow-up",
        unit="sessions", direction="down")
def time_to_followup_resolution(ctx: Context, m: Metric) -> Output:
    """Δs from a follow-up's first snapshot to its resolution: v2 `status` closed (observed), or — v1 has
    no status — its disappearance (*inferred*; cannot be told from abandonment). v2 items that vanish
    unclosed are a competing `dropped` outcome; open items are right-censored. Kaplan-Meier (v1 only) or
    Aalen-Johansen median; left-truncated items excluded. The sensitivity reading (v1 disappearance as
    dropped) is the L6-like share of disappearances, not shown here."""
    f = ctx.followups.filter(~pl.col("left_truncated"))
    inferred = f.filter(pl.col("outcome") == "resolved_inferred").height
    note = (f"{inferred} resolutions inferred from v1 disappearance (ambiguous with abandonment); "
            "left-truncated follow-ups excluded")
    return fr.survival(ctx, m, f, variant="resolution", cause_col="outcome",
                       causes={"resolved": 1, "resolved_inferred": 1, "dropped": 2, "censored": 0},
                       of_interest=["resolved", "resolved_inferred"], cohort_seq="created_seq", note=note)


@metric("F3", "escalation_effectiveness", family="followups", title="Resolution hazard by deferral band",
        unit="rate ratio", direction=">1", requires=DEFER_COUNTS)
def escalation_effectiveness(ctx: Context, m: Metric) -> Output:
    """Resolution hazard per session at risk in defer bands <3, 3–4, ≥5 (band = defer count / priority in the
    snapshot before the session). A follow-up observed open in snapshot s is at risk in session s+1 and is
    resolved there if s+1 shows it closed (v2) or no longer shows it (v1, inferred). Variants: `rate_lt3`,
    `rate_3_4`, `rate_ge5` (Garwood) and `rr_ge5_vs_lt3`, `rr_3_4_vs_lt3` (exact conditional rate ratio;
    numerator = resolutions in the higher band, denominator = resolutions in <3). RR > 1: escalation works."""
    s = ctx.followup_sessions.filter(pl.col("has_next")).with_columns(seq=pl.col("seq") + 1)
    bands = ["lt3", "3_4", "ge5"]
    contrib = s.select("namespace", "seq", variant="band", k=pl.col("resolved_next").cast(pl.Int64), e=pl.lit(1))
    df = fr.windowed(ctx, contrib, ["k", "e"], variants=bands)
    rates = fr.rate(df, "k", "e").with_columns(variant="rate_" + pl.col("variant"), unit=pl.lit("resolutions/session"))
    keys = ["namespace", "window_start_s", "window_end_s", "overall"]
    base = df.filter(pl.col("variant") == "lt3").select(*keys, kb="k", eb="e")
    ratios = []
    for band in ("ge5", "3_4"):
        top = df.filter(pl.col("variant") == band).select(*keys, ka="k", ea="e")
        ratios.append(fr.ratio(top.join(base, on=keys), "ka", "ea", "kb", "eb")
                      .with_columns(variant=pl.lit(f"rr_{band}_vs_lt3"), unit=pl.lit("rate ratio")))
    return Output(fr.finish(pl.concat([rates, *ratios], how="diagonal_relaxed"), m, ctx))


@metric("F4", "zombie_followups", family="followups", title="Escalated follow-ups nobody touches", unit="share",
        direction="down", requires=DEFER_COUNTS)
def zombie_followups(ctx: Context, m: Metric) -> Output:
    """Point prevalence per snapshot: open follow-ups with defer ≥ 5 and no recorded change (created,
    deferred, priority or status change, reappearance) for ≥ 5 sessions / open follow-ups. Window rows pool
    follow-up-snapshots (Wilson; clustered by item, so optimistic)."""
    s = ctx.followup_sessions.select("namespace", "seq", k=pl.col("zombie").fill_null(False).cast(pl.Int64), n=pl.lit(1))
    fr.record_clusters(ctx, m, "prevalence", s.with_columns(item=ctx.followup_sessions["item_id"]))
    return Output(fr.finish(fr.proportion(fr.windowed(ctx, s, ["k", "n"]), "k", "n")
                            .with_columns(variant=pl.lit("prevalence")), m, ctx))
