"""Decision tier (metrics.md §4.4, D1–D4). v2 has no decisions: those namespaces give no rows of data."""

from __future__ import annotations

import polars as pl

from . import frames as fr
from .base import Context
from .frames import Output
from .registry import FAMILY_REQUIRES, Metric, metric

REVERSAL_WITHIN = 5  # sessions: a supersession this soon that restores a rejected alternative is a flip-flop

# a v2 namespace in a mixed selection gets a not_supported row, not a silent no_data
V1_ONLY = FAMILY_REQUIRES["decisions"]


def _v2_only(ctx: Context, m: Metric) -> Output | None:
    """v2 dropped `active_decisions` from its core: a selection without v1 snapshots cannot support D1–D4."""
    if ctx.decisions.height == 0 and not (ctx.sessions["schema_version"] == "1").any():
        return Output(fr.unsupported(m, ctx, "needs decisions (v1 active_decisions; v2 has none)"))
    return None


@metric("D1", "decision_lifetime", family="decisions", title="Sessions from a decision to its supersession",
        unit="sessions", requires=V1_ONLY)
def decision_lifetime(ctx: Context, m: Metric) -> Output:
    """Δs from a decision's first snapshot to the first snapshot showing it `superseded`; active/monitoring
    decisions are right-censored at their last observation (removal without supersession is censored there:
    a decision leaving unsuperseded is rare and not an outcome of interest). Kaplan-Meier median;
    left-truncated decisions excluded."""
    if (out := _v2_only(ctx, m)) is not None:
        return out
    d = ctx.decisions.filter(~pl.col("left_truncated")).with_columns(
        outcome=pl.when(pl.col("superseded_seq").is_not_null()).then(pl.lit("superseded")).otherwise(pl.lit("censored")),
        duration=pl.coalesce("superseded_seq", "last_seq") - pl.col("created_seq"))
    return fr.survival(ctx, m, d, variant="lifetime", cause_col="outcome", causes={"superseded": 1, "censored": 0},
                       of_interest="superseded", cohort_seq="created_seq", note="left-truncated decisions excluded")


@metric("D2", "supersession_rate", family="decisions", title="Supersessions per decision-session",
        unit="per decision-session", requires=V1_ONLY)
def supersession_rate(ctx: Context, m: Metric) -> Output:
    """Decisions superseded / decision-sessions at risk (a live, not yet superseded decision observed in
    snapshot s is at risk in session s+1). Garwood interval; windows by the superseding snapshot."""
    if (out := _v2_only(ctx, m)) is not None:
        return out
    d = ctx.decisions
    risk = ctx.sql("""
        SELECT d.namespace, d.seq + 1 AS seq, count(*) AS e
        FROM decisions d JOIN _bl_sel USING (namespace)
        JOIN (SELECT namespace, max(seq) AS max_seq FROM snapshots JOIN _bl_sel USING (namespace) GROUP BY 1) b USING (namespace)
        WHERE d.status <> 'superseded' AND d.seq < b.max_seq GROUP BY ALL""")
    ev = d.filter(pl.col("superseded_seq").is_not_null()).select("namespace", seq="superseded_seq", k=pl.lit(1))
    df = fr.windowed(ctx, pl.concat([ev, risk], how="diagonal_relaxed").fill_null(0), ["k", "e"])
    return Output(fr.finish(fr.rate(df, "k", "e").with_columns(variant=pl.lit("rate")), m, ctx))


@metric("D2", "reversal_rate", family="decisions", title="Supersessions that restore a rejected alternative",
        unit="share", requires=V1_ONLY, direction="down")
def reversal_rate(ctx: Context, m: Metric) -> Output:
    """Among superseded decisions (by superseding window), the share superseded within 5 sessions of their
    creation by a successor (`superseded_by`, resolved in the namespace) whose `what` names one of the
    decision's `rejected` alternatives (a flip-flop). Wilson. `with_successor` variant: share of
    supersessions whose `superseded_by` resolves (LongMemEval's knowledge update honoured)."""
    if (out := _v2_only(ctx, m)) is not None:
        return out
    d = ctx.decisions.filter(pl.col("superseded_seq").is_not_null())
    rev = (pl.col("restores_rejected") & pl.col("successor_resolves")
           & (pl.col("superseded_seq") - pl.col("created_seq") <= REVERSAL_WITHIN))
    contrib = pl.concat([
        d.select("namespace", seq="superseded_seq", variant=pl.lit("reversal"), k=rev.cast(pl.Int64), n=pl.lit(1)),
        d.select("namespace", seq="superseded_seq", variant=pl.lit("with_successor"),
                 k=pl.col("successor_resolves").cast(pl.Int64), n=pl.lit(1)),
    ])
    df = fr.windowed(ctx, contrib, ["k", "n"], variants=["reversal", "with_successor"])
    return Output(fr.finish(fr.proportion(df, "k", "n"), m, ctx))


@metric("D3", "decision_evidence_quality", family="decisions", title="Decisions with evidence and rejected alternatives",
        unit="share", requires=V1_ONLY, direction="up")
def decision_evidence_quality(ctx: Context, m: Metric) -> Output:
    """For decisions first seen in the window, as first written: `evidence_and_rejected` = share with ≥ 1
    `evidence` item and ≥ 1 `rejected` alternative (Wilson); `mean_evidence` = mean evidence items."""
    if (out := _v2_only(ctx, m)) is not None:
        return out
    d = ctx.decisions
    share = d.select("namespace", seq="created_seq", variant=pl.lit("evidence_and_rejected"),
                     k=((pl.col("n_evidence") > 0) & (pl.col("n_rejected") > 0)).cast(pl.Int64), n=pl.lit(1))
    rows = fr.proportion(fr.windowed(ctx, share, ["k", "n"], variants=["evidence_and_rejected"]), "k", "n")
    mean = fr.windowed(ctx, d.select("namespace", seq="created_seq", k="n_evidence", n=pl.lit(1)), ["k", "n"])
    mean = mean.with_columns(variant=pl.lit("mean_evidence"), numerator=pl.col("k"), denominator=pl.col("n"),
                             estimate=pl.when(pl.col("n") > 0).then(pl.col("k") / pl.col("n")),
                             min_n_met=pl.col("n") >= 10, ci_method=pl.lit("none (descriptive)"), unit=pl.lit("items"))
    return Output(fr.finish(pl.concat([rows, mean], how="diagonal_relaxed"), m, ctx))


@metric("D4", "decision_linkage", family="decisions", title="Referential integrity of decision links", unit="share",
        requires=V1_ONLY, direction="up")
def decision_linkage(ctx: Context, m: Metric) -> Output:
    """`loops_with_decision` = loops (by creation window) whose `decision_ref` resolves to a decision id seen
    in the namespace / all loops; `dangling_loop_refs` = loops whose `decision_ref` is set but resolves to
    nothing / loops with a decision_ref; `superseded_by_resolves` = superseded decisions whose
    `superseded_by` resolves / superseded decisions. Wilson."""
    if (out := _v2_only(ctx, m)) is not None:
        return out
    ids = ctx.decisions.select("namespace", decision_ref="item_id", known=pl.lit(True))
    loops = ctx.loops.join(ids, on=["namespace", "decision_ref"], how="left").with_columns(
        known=pl.col("known").fill_null(False))
    sup = ctx.decisions.filter(pl.col("superseded_seq").is_not_null())
    contrib = pl.concat([
        loops.select("namespace", seq="created_seq", variant=pl.lit("loops_with_decision"),
                     k=pl.col("known").cast(pl.Int64), n=pl.lit(1)),
        loops.filter(pl.col("decision_ref").is_not_null()).select(
            "namespace", seq="created_seq", variant=pl.lit("dangling_loop_refs"),
            k=(~pl.col("known")).cast(pl.Int64), n=pl.lit(1)),
        sup.select("namespace", seq="superseded_seq", variant=pl.lit("superseded_by_resolves"),
                   k=pl.col("successor_resolves").cast(pl.Int64), n=pl.lit(1)),
    ])
    variants = ["loops_with_decision", "dangling_loop_refs", "superseded_by_resolves"]
    return Output(fr.finish(fr.proportion(fr.windowed(ctx, contrib, ["k", "n"], variants=variants), "k", "n"), m, ctx))
