"""The spiral index (metrics.md §4.6): a pre-registered sign-consistency vote, always with its components."""

from __future__ import annotations

import math

import numpy as np
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
    ("touch_rate", "acted", "up", "trend"),   # acted-on share: `all` falls as knowledge accumulates (B2 docs)
    ("net_closure_ratio", "ratio", ">=1", "level"),
    ("rework_rate", "per_closure", "down", "trend"),
)
TREND = [i for i, c in enumerate(COMPONENTS) if c[3] == "trend"]
# At most this many blocks of windows per namespace in the SI bootstrap: longer histories get longer blocks
# (as moving-block theory wants), and the cost stays flat in the length of the history.
MAX_BLOCKS = 25


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
    P7 hard violations = 0, B2 acted-on share ↑, B4 net closure ≥ 1, B6 rework ↓. A trend component scores +1
    when the Theil–Sen 95% CI of its per-window series (x = window index, windows without a value skipped)
    lies entirely in the good direction, −1 entirely in the bad one, 0 otherwise (also with fewer than 4
    windows); a level component compares the CI of its overall estimate with the reference (P7 > 0 is an
    automatic −1). Unit-free and unweighted, so it degrades to ≈ 0 under tiny n; it ignores magnitude —
    read the component rows beside it, never SI alone.
    Interval (ci_low/ci_high of the `si` row): block bootstrap of sessions. A namespace's session windows are
    cut into contiguous blocks of one window (of ceil(windows / 25) windows when it has more than 25), and
    999 resamples draw that many blocks with replacement (seeded, reproducible); each keeps its windows'
    values of every trend series together, so the series' co-movement survives. Per resample every trend
    component's Theil–Sen CI and score is recomputed on the drawn windows (each at its own window index)
    and SI re-voted, including the L4-only-while-L2-not-falling rule; the level components (P6, P7, B4)
    keep their observed scores — their own intervals carry their uncertainty. BCa, percentile when BCa is
    undefined (ci_method says which); no interval with fewer than 10 blocks. Items: the component table."""
    table, series = [], []
    for c, (mid, variant, direction, how) in enumerate(COMPONENTS):
        rows = run(ctx, REGISTRY[mid]).rows.filter(pl.col("variant") == variant)
        code = REGISTRY[mid].code
        parts = rows.partition_by("namespace", as_dict=True)
        for ns in [*ctx.namespaces, fr.POOLED]:
            sub = parts.get((ns,), rows.clear())
            if how == "trend":
                points = sub.filter(~pl.col("overall")).select(
                    namespace=pl.lit(ns), c=pl.lit(c), x=(pl.col("window_start_s") - 1) // ctx.window,
                    y=pl.col("estimate").fill_null(float("nan")))
                series.append(points)
                est = stats.theil_sen(points["y"].to_numpy(), points["x"].to_numpy())
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
    if ctx.sessions.is_empty():
        rows = pl.DataFrame({"namespace": [fr.POOLED], "variant": ["si"], "overall": [True], "status": ["no_data"],
                             "min_n_met": [False], "note": ["no sessions"]})
        return Output(fr.finish(rows, m, ctx), items=comp)
    span = ctx.bounds.select("namespace", window_start_s="min_seq", window_end_s="max_seq")
    whole = {"window_start_s": ctx.bounds["min_seq"].min(), "window_end_s": ctx.bounds["max_seq"].max()}
    fill = [pl.col(k).fill_null(pl.lit(v, dtype=pl.Int64)) for k, v in whole.items()]
    si = comp.filter("used").group_by("namespace", maintain_order=True).agg(
        s=pl.col("score").sum(), k=pl.len(), conclusive=(pl.col("score") != 0).sum())
    si = si.join(_si_intervals(ctx, comp, pl.concat(series)), on="namespace", how="left")
    si = si.join(span, on="namespace", how="left").with_columns(
        *fill, variant=pl.lit("si"), overall=pl.lit(True), numerator=pl.col("s").cast(pl.Float64),
        denominator=pl.col("k").cast(pl.Float64), estimate=pl.col("s") / pl.col("k"),
        min_n_met=pl.col("conclusive") * 2 >= pl.col("k"),
        note=pl.format("k={} components, {} conclusive, {} inconclusive; {}", pl.col("k"), pl.col("conclusive"),
                       pl.col("k") - pl.col("conclusive"), pl.col("boot_note")))
    parts = comp.join(span, on="namespace", how="left").with_columns(
        *fill, variant="component:" + pl.col("component"), overall=pl.lit(True), numerator=pl.col("score").cast(pl.Float64),
        ci_method=pl.col("method"), min_n_met=pl.col("score") != 0, status=pl.lit("ok"), unit=pl.lit("score"),
        note=pl.when(~pl.col("used")).then(pl.lit("not counted: verify coverage is falling")))
    rows = pl.concat([si.drop("s", "k", "conclusive", "boot_note"),
                      parts.drop("component", "metric_id", "direction", "method", "score", "used")], how="diagonal_relaxed")
    return Output(fr.finish(rows, m, ctx), items=comp)


def _si_intervals(ctx: Context, comp: pl.DataFrame, series: pl.DataFrame) -> pl.DataFrame:
    """Per namespace: the block-bootstrap interval of SI (see `spiral_index`), its method and a note."""
    sign = np.array([1 if COMPONENTS[c][2] == "up" else -1 for c in TREND])
    ids = [COMPONENTS[c][0] for c in TREND]
    l2, l4 = ids.index("verify_coverage"), ids.index("caught_regressions")
    level = comp.filter(~pl.col("metric_id").is_in(ids))
    fixed = dict(level.group_by("namespace").agg(pl.col("score").sum()).iter_rows())
    spans = ctx.grid.group_by("namespace").agg(lo=pl.col("w").min(), hi=pl.col("w").max())
    ranges = {ns: (lo, hi) for ns, lo, hi in spans.iter_rows()} | {fr.POOLED: (ctx.grid["w"].min(), ctx.grid["w"].max())}
    by_namespace = series.partition_by("namespace", as_dict=True)
    out = []
    for ns in [*ctx.namespaces, fr.POOLED]:
        points = by_namespace.get((ns,), series.clear())
        first, n_windows = ranges[ns][0], ranges[ns][1] - ranges[ns][0] + 1
        y = np.full((len(TREND), n_windows), np.nan)
        y[np.searchsorted(TREND, points["c"].to_numpy()), points["x"].to_numpy() - first] = points["y"].to_numpy()
        block = max(1, math.ceil(n_windows / MAX_BLOCKS))
        groups = np.arange(n_windows) // block
        base, votes = fixed.get(ns, 0), stats.theil_sen_votes(y, groups)

        def si(counts: np.ndarray) -> np.ndarray:
            score = votes(counts) * sign
            dropped = score[:, l2] == -1   # L4 is not counted while L2 is conclusively falling
            return (score.sum(axis=1) - np.where(dropped, score[:, l4], 0) + base) / (len(COMPONENTS) - dropped)

        n_blocks = int(groups[-1]) + 1
        est = stats.cluster_bootstrap(si, n_blocks)
        blocks = f"{n_blocks} block{'s' * (n_blocks > 1)} of {block} window{'s' * (block > 1)}"
        out.append({"namespace": ns, "ci_low": est.ci_low, "ci_high": est.ci_high,
                    "ci_method": est.method.replace("cluster-", "block-") if est.min_n_met
                    else "sign-consistency vote (no interval)",
                    "boot_note": f"block bootstrap over {blocks}, level components fixed" if est.min_n_met
                    else f"no interval: {blocks} (< {stats.MIN_BOOTSTRAP_CLUSTERS})"})
    return pl.DataFrame(out, schema={"namespace": pl.String, "ci_low": pl.Float64, "ci_high": pl.Float64,
                                     "ci_method": pl.String, "boot_note": pl.String})
