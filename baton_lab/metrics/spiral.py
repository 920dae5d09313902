"""The spiral index (metrics.md §4.6): a pre-registered sign-consistency vote, always with its components."""

from __future__ import annotations

import polars as pl

from . import frames as fr
from . import stats
from .base import Context
from .frames import Output
from .registry import REGISTRY, Metric, metric, run

# (metric id, variant, direction, how): "trend" = Theil–Sen slope of the per-window series,
# "level" = the CI of the overall (pooled-over-time) estimate against a reference value.
COMPONENTS = (
    ("verify_coverage", "machine", "up", "trend"),
    ("time_to_verify", "terminal_median", "down", "trend"),
    ("silent_drop_rate", "share", "down", "trend"),
    ("stale_share", "prevalence", "down", "trend"),
    ("caught_regressions", "catch_share", "down", "trend"),   # only if verify_coverage is not falling
    ("time_to_followup_resolution", "resolution_median", "down", "trend"),
    ("pattern_recurrence_rate", "pooled", "down", "trend"),
    ("rule_effectiveness", "rr_vs_control", "<1", "level"),
    ("anti_ouroboros_violations", "hard", "=0", "level"),
    ("touch_rate", "all", "up", "trend"),
    ("net_closure_ratio", "ratio", ">=1", "level"),
    ("rework_rate", "per_closure", "down", "trend"),
)


def _score(direction: str, low: float | None, high: float | None, est: float | None, num: float | None,
           den: float | None) -> int:
    if direction == "=0":
        if num is None or not den:
            return 0
        return -1 if num > 0 else 1
    if low is None or high is None:
        return 0
    if direction == "up":
        return 1 if low > 0 else (-1 if high < 0 else 0)
    if direction == "down":
        return 1 if high < 0 else (-1 if low > 0 else 0)
    if direction == "<1":
        return 1 if high < 1 else (-1 if low > 1 else 0)
    if direction == ">=1":
        return 1 if low >= 1 else (-1 if high < 1 else 0)
    raise ValueError(direction)


@metric("SI", "spiral_index", family="spiral", title="Spiral index (sign-consistency vote)", unit="index in [-1, 1]")
def spiral_index(ctx: Context, m: Metric) -> Output:
    """SI = Σcᵢ / k over the pre-registered components: L2 machine share ↑, L3 median ↓, L6 ↓, L7 ↓, L4 catch
    share ↓ (only while L2 is not falling), F2 median ↓, P1 pooled rate ↓, P6 RR beyond the RTM control < 1,
    P7 hard violations = 0, B2 touch rate ↑, B4 net closure ≥ 1, B6 rework ↓. A trend component scores +1
    when the Theil–Sen 95% CI of its per-window series lies entirely in the good direction, −1 entirely in
    the bad one, 0 otherwise (also with fewer than 4 windows); a level component compares the CI of its
    overall estimate with the reference (P7 > 0 is an automatic −1). Unit-free and unweighted, so it
    degrades to ≈ 0 under tiny n; it ignores magnitude — read the component rows beside it, never SI alone.
    No block bootstrap of SI yet. Items: the component table."""
    table = []
    for mid, variant, direction, how in COMPONENTS:
        rows = run(ctx, REGISTRY[mid]).rows.filter(pl.col("variant") == variant)
        code = REGISTRY[mid].code
        parts = rows.partition_by("namespace", as_dict=True)
        for ns in [*ctx.namespaces, fr.POOLED]:
            sub = parts.get((ns,), rows.clear())
            if how == "trend":
                series = sub.filter(~pl.col("overall")).sort("window_start_s")
                est = stats.theil_sen(series["estimate"].fill_null(float("nan")).to_numpy())
                low, high = (est.ci_low, est.ci_high) if est.min_n_met else (None, None)
                value, num, den, method = est.estimate, None, est.denominator, "theil-sen slope per window"
            else:
                o = sub.filter(pl.col("overall"))
                r = o.row(0, named=True) if o.height else {}
                value, low, high = r.get("estimate"), r.get("ci_low"), r.get("ci_high")
                num, den, method = r.get("numerator"), r.get("denominator"), r.get("ci_method")
                if not r.get("min_n_met", False) and direction != "=0":
                    low = high = None
            table.append({"namespace": ns, "component": f"{code} {mid}:{variant}", "metric_id": mid, "variant": variant,
                          "direction": direction, "estimate": value, "ci_low": low, "ci_high": high, "method": method,
                          "score": _score(direction, low, high, value, num, den)})
    comp = pl.DataFrame(table, schema_overrides={"estimate": pl.Float64, "ci_low": pl.Float64, "ci_high": pl.Float64,
                                                 "method": pl.String}, infer_schema_length=None)
    # L4's catch share only counts when verification coverage is not conclusively falling.
    l2_down = comp.filter((pl.col("metric_id") == "verify_coverage") & (pl.col("ci_high") < 0)).select("namespace")
    comp = comp.with_columns(
        used=~((pl.col("metric_id") == "caught_regressions") & pl.col("namespace").is_in(l2_down["namespace"].implode())))
    span = ctx.bounds
    si = comp.filter("used").group_by("namespace", maintain_order=True).agg(
        s=pl.col("score").sum(), k=pl.len(), conclusive=(pl.col("score") != 0).sum())
    si = si.join(span.select("namespace", window_start_s="min_seq", window_end_s="max_seq"), on="namespace", how="left")
    si = si.with_columns(
        pl.col("window_start_s").fill_null(span["min_seq"].min()), pl.col("window_end_s").fill_null(span["max_seq"].max()),
        variant=pl.lit("si"), overall=pl.lit(True), numerator=pl.col("s").cast(pl.Float64),
        denominator=pl.col("k").cast(pl.Float64), estimate=pl.col("s") / pl.col("k"),
        ci_method=pl.lit("sign-consistency vote (no interval)"),
        min_n_met=pl.col("conclusive") * 2 >= pl.col("k"),
        note=pl.format("k={} components, {} conclusive, {} inconclusive", pl.col("k"), pl.col("conclusive"),
                       pl.col("k") - pl.col("conclusive")))
    parts = comp.join(span.select("namespace", window_start_s="min_seq", window_end_s="max_seq"), on="namespace", how="left")
    parts = parts.with_columns(
        pl.col("window_start_s").fill_null(span["min_seq"].min()), pl.col("window_end_s").fill_null(span["max_seq"].max()),
        variant="component:" + pl.col("component"), overall=pl.lit(True), numerator=pl.col("score").cast(pl.Float64),
        ci_method=pl.col("method"), min_n_met=pl.col("score") != 0, status=pl.lit("ok"), unit=pl.lit("score"),
        note=pl.when(~pl.col("used")).then(pl.lit("not counted: verify coverage is falling")))
    rows = pl.concat([si.drop("s", "k", "conclusive"), parts.drop("component", "metric_id", "direction", "method", "score", "used")],
                     how="diagonal_relaxed")
    return Output(fr.finish(rows, m, ctx), items=comp)
