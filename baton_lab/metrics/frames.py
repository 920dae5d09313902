"""Turning per-item / per-session contributions into the long rows of metrics.md §5.

Pattern of every metric: build a frame of contributions keyed by (namespace, seq[, variant]) in
SQL/polars, `windowed()` sums it over session windows, the whole range, each namespace and the pool
(counts are pooled, never estimates), then one of `proportion` / `rate` / `ratio` adds the estimate and
its interval, vectorised, and `finish` gives the frame the MetricRows shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl

from . import stats
from .base import Context
from ..importers.registry import capabilities_of
from .registry import Metric
from .schema import COLUMNS, CURVE_COLUMNS, POOLED


@dataclass
class Output:
    """What a metric function returns: rows, and optionally survival/event-study curves and per-item rows."""

    rows: pl.DataFrame
    curves: pl.DataFrame | None = None
    items: pl.DataFrame | None = None
    extra: dict = field(default_factory=dict)


def windowed(ctx: Context, contrib: pl.DataFrame, values: list[str], *, variants: list[str] | None = None,
             seq: str = "seq") -> pl.DataFrame:
    """Sum `values` per (namespace, variant) over windows of ctx.window sessions, over all sessions, and pooled.

    Every session of every selected namespace appears (zeros where nothing happened), so a window with
    exposure but no events is a row with numerator 0, not a missing row.
    """
    w = ctx.window
    contrib = contrib.rename({seq: "seq"}) if seq != "seq" else contrib
    if "variant" not in contrib.columns:
        contrib = contrib.with_columns(variant=pl.lit("all"))
    variants = variants or ["all"]
    grid = ctx.grid.join(pl.DataFrame({"variant": variants}), how="cross")
    agg = (contrib.select("namespace", "seq", "variant", *values)
           .with_columns(pl.col(v).cast(pl.Float64) for v in values)
           .group_by("namespace", "seq", "variant").agg(pl.col(v).sum() for v in values))
    g = grid.join(agg, on=["namespace", "seq", "variant"], how="left").with_columns(
        pl.col(v).fill_null(0.0) for v in values)
    sums = [pl.col(v).sum() for v in values] + [pl.len().cast(pl.Float64).alias("sessions")]
    win = [(pl.col("w").first() * w + 1).alias("window_start_s"), pl.col("seq").max().alias("window_end_s")]
    span = [pl.col("seq").min().alias("window_start_s"), pl.col("seq").max().alias("window_end_s")]
    parts = [
        g.group_by("namespace", "variant", "w").agg(*sums, *win).drop("w").with_columns(overall=pl.lit(False)),
        g.group_by("variant", "w").agg(*sums, *win).drop("w")
        .with_columns(namespace=pl.lit(POOLED), overall=pl.lit(False)),
        g.group_by("namespace", "variant").agg(*sums, *span).with_columns(overall=pl.lit(True)),
        g.group_by("variant").agg(*sums, *span).with_columns(namespace=pl.lit(POOLED), overall=pl.lit(True)),
    ]
    cols = ["namespace", "variant", "window_start_s", "window_end_s", "overall", "sessions", *values]
    return pl.concat([p.select(cols) for p in parts]).with_columns(
        pl.col("window_start_s").cast(pl.Int64), pl.col("window_end_s").cast(pl.Int64))


def proportion(df: pl.DataFrame, k: str, n: str, *, method: str = "wilson") -> pl.DataFrame:
    """Share k/n with a Wilson (or Clopper-Pearson 'exact') interval; below stats.MIN_PROPORTION_N: insufficient."""
    kk, nn = df[k].to_numpy().astype(float), df[n].to_numpy().astype(float)
    if method == "exact":
        lo, hi = stats.clopper_pearson_ci(kk, nn)
    else:
        lo, hi = stats.wilson_ci(kk, nn)
    with np.errstate(divide="ignore", invalid="ignore"):
        est = np.where(nn > 0, kk / np.where(nn > 0, nn, 1), np.nan)
    return df.with_columns(
        numerator=pl.col(k).cast(pl.Float64), denominator=pl.col(n).cast(pl.Float64),
        estimate=pl.Series(est).fill_nan(None), ci_low=pl.Series(lo).fill_nan(None), ci_high=pl.Series(hi).fill_nan(None),
        ci_method=pl.lit(method), min_n_met=pl.col(n) >= stats.MIN_PROPORTION_N)


def record_clusters(ctx: Context, m: Metric, variant: str, cells: pl.DataFrame) -> None:
    """Keep a share's item-session cells (namespace, item, seq, k, n) when baton_lab.compare asks for them.

    Shares pooled over item-sessions (B2, B3, F4) or over items dated by a session (L6) are not sums of
    independent Bernoulli trials: one item is counted in every session it is open, and items of one session
    share that session. The two-arm effect needs the cells to size that dependence (a design effect)."""
    samples = getattr(ctx, "cluster_samples", None)
    if samples is not None:
        samples[(m.id, variant)] = cells.select("namespace", pl.col("item").cast(pl.String), pl.col("seq").cast(pl.Int64),
                                                pl.col("k").cast(pl.Int64), pl.col("n").cast(pl.Int64))


def rate(df: pl.DataFrame, k: str, exposure: str) -> pl.DataFrame:
    """Events per unit exposure with the Garwood interval; insufficient below stats.MIN_RATE_EXPOSURE."""
    kk, ee = df[k].to_numpy().astype(float), df[exposure].to_numpy().astype(float)
    lo, hi = stats.garwood_ci(kk, ee)
    with np.errstate(divide="ignore", invalid="ignore"):
        est = np.where(ee > 0, kk / np.where(ee > 0, ee, 1), np.nan)
    return df.with_columns(
        numerator=pl.col(k).cast(pl.Float64), exposure=pl.col(exposure).cast(pl.Float64),
        estimate=pl.Series(est).fill_nan(None), ci_low=pl.Series(lo).fill_nan(None), ci_high=pl.Series(hi).fill_nan(None),
        ci_method=pl.lit("garwood"), min_n_met=pl.col(exposure) >= stats.MIN_RATE_EXPOSURE)


def ratio(df: pl.DataFrame, ka: str, ea: str, kb: str, eb: str, *, min_b: int = stats.MIN_RATE_RATIO_EVENTS) -> pl.DataFrame:
    """Rate ratio (ka/ea)/(kb/eb) with the exact conditional interval (Clopper-Pearson on ka/(ka+kb)), vectorised.

    numerator = ka, denominator = kb, exposure = ea (the 'after'/'test' exposure)."""
    a, b = df[ka].to_numpy().astype(float), df[kb].to_numpy().astype(float)
    xa, xb = df[ea].to_numpy().astype(float), df[eb].to_numpy().astype(float)
    lo_p, hi_p = stats.clopper_pearson_ci(a, a + b)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = xb / xa
        to_rr = lambda p: np.where(p >= 1, np.inf, p / (1 - p) * scale)  # noqa: E731
        est = np.where(b > 0, (a / xa) / (b / xb), np.where(a > 0, np.inf, np.nan))
        lo, hi = to_rr(lo_p), to_rr(hi_p)
    bad = (a + b == 0) | (xa <= 0) | (xb <= 0)
    nan = np.nan
    return df.with_columns(
        numerator=pl.col(ka).cast(pl.Float64), denominator=pl.col(kb).cast(pl.Float64), exposure=pl.col(ea).cast(pl.Float64),
        estimate=pl.Series(np.where(bad, nan, est)).fill_nan(None), ci_low=pl.Series(np.where(bad, nan, lo)).fill_nan(None),
        ci_high=pl.Series(np.where(bad, nan, hi)).fill_nan(None), ci_method=pl.lit("exact-conditional"),
        min_n_met=pl.col(kb) >= min_b)


def finish(df: pl.DataFrame, m: Metric, ctx: Context, *, unit: str | None = None, note: str | None = None) -> pl.DataFrame:
    """Give a frame of rows the MetricRows shape: fill absent columns, status, provenance columns."""
    if df.height == 0:
        return empty()
    for name, dtype in COLUMNS.items():
        if name not in df.columns:
            df = df.with_columns(pl.lit(None, dtype=dtype).alias(name))
    if "status" in df.columns and df["status"].null_count() == 0:
        status = pl.col("status")
    else:
        nothing = (pl.col("denominator").fill_null(0) == 0) & (pl.col("exposure").fill_null(0) == 0) \
            & (pl.col("numerator").fill_null(0) == 0)
        status = (pl.when(pl.col("status").is_not_null()).then(pl.col("status"))
                  .when(nothing).then(pl.lit("no_data"))
                  .when(~pl.col("min_n_met").fill_null(False)).then(pl.lit("insufficient"))
                  .when(pl.col("estimate").is_null()).then(pl.lit("no_data")).otherwise(pl.lit("ok")))
    mix = ctx.bounds.select("namespace", pl.col("schema_version_mix").alias("_mix"))
    pooled_mix = ",".join(sorted({v for s in ctx.bounds["schema_version_mix"].to_list() for v in s.split(",")}))
    df = df.join(mix, on="namespace", how="left").with_columns(
        metric_id=pl.lit(m.id), code=pl.lit(m.code), status=status,
        min_n_met=pl.col("min_n_met").fill_null(False),
        unit=pl.col("unit").fill_null(pl.lit(unit or m.unit)),
        note=pl.col("note").fill_null(pl.lit(note)) if note else pl.col("note"),
        schema_version_mix=pl.coalesce("_mix", pl.lit(pooled_mix)),
        computed_at=pl.lit(ctx.computed_at).cast(pl.Datetime("us", "UTC")),
        overall=pl.col("overall").fill_null(True),
    )
    return df.select([pl.col(c).cast(t) for c, t in COLUMNS.items()])


def empty() -> pl.DataFrame:
    return pl.DataFrame(schema=COLUMNS)


def unsupported(m: Metric, ctx: Context, note: str, variants: list[str] | None = None) -> pl.DataFrame:
    """One overall row per namespace and the pool saying why the data cannot support the metric."""
    names = [*ctx.namespaces, POOLED] if ctx.namespaces else [POOLED]
    rows = pl.DataFrame({"namespace": names}).join(pl.DataFrame({"variant": variants or ["all"]}), how="cross")
    bounds = ctx.bounds.select("namespace", pl.col("min_seq").alias("window_start_s"), pl.col("max_seq").alias("window_end_s"))
    rows = rows.join(bounds, on="namespace", how="left").with_columns(
        overall=pl.lit(True), status=pl.lit("not_supported"), note=pl.lit(f"not supported: {note}"), min_n_met=pl.lit(False))
    return finish(rows, m, ctx)


def mark_schema_gaps(rows: pl.DataFrame, m: Metric, ctx: Context) -> pl.DataFrame:
    """Rows of namespaces whose formats lack the capability the metric needs (m.requirement) say so, instead of
    `no_data`: what a format can express is its declaration (`baton-lab formats`), not a version string."""
    if m.requirement is None or rows.height == 0:
        return rows
    capability, why = m.requirement
    pairs = ctx.sessions.select("namespace", "format", "schema_version").unique()
    provided = [capability in capabilities_of(f, v) for f, v in zip(pairs["format"], pairs["schema_version"])]
    has = pairs.with_columns(ok=pl.Series(provided, dtype=pl.Boolean)).group_by("namespace").agg(pl.col("ok").any())
    lacking = has.filter(~pl.col("ok"))["namespace"].to_list()
    if not lacking:
        return rows
    if len(lacking) == has.height:
        lacking.append(POOLED)  # no namespace of the selection can support it: nor can the pool
    # A namespace without the capability has no data for the metric, whatever a count over its sessions says
    # (0 regressions over 236 sessions of a tracker with no open loops is not a finding). A namespace that has
    # the capability keeps its rows; in a mixed selection the others' `no_data` rows say why.
    gap = pl.col("namespace").is_in(lacking)
    cleared = [c for c in ("estimate", "ci_low", "ci_high") if c in rows.columns]
    return rows.with_columns(
        status=pl.when(gap).then(pl.lit("not_supported")).otherwise(pl.col("status")),
        note=pl.when(gap).then(pl.lit(f"not supported: {why}")).otherwise(pl.col("note")),
        *[pl.when(gap).then(None).otherwise(pl.col(c)).alias(c) for c in cleared])


def namespace_groups(ctx: Context, frame: pl.DataFrame):  # noqa: ANN201
    """(namespace label, sub-frame) for each selected namespace, then the pool."""
    parts = frame.partition_by("namespace", as_dict=True) if frame.height else {}
    empty_part = frame.clear()
    for ns in ctx.namespaces:
        yield ns, parts.get((ns,), empty_part)
    yield POOLED, frame


def survival(ctx: Context, m: Metric, frame: pl.DataFrame, *, variant: str, cause_col: str, causes: dict[str, int],
             of_interest: str | list[str], cohort_seq: str, note: str | None = None,
             extra_points: tuple[float, ...] = (), windows: bool = True) -> Output:
    """Time-to-event rows (median with band-read CI) and curves, per namespace, pooled and per cohort window.

    `frame` has namespace, `duration`, `cause_col` and `cohort_seq`. Causes map outcome labels to codes
    (0 = censored). With a single non-censoring cause this is Kaplan-Meier (scipy.stats.ecdf); with
    competing causes it is the Aalen-Johansen cumulative incidence of `of_interest`, and the "median" is
    the time at which that incidence reaches 0.5 (null when it never does: report the CIF instead).
    """
    interest = [of_interest] if isinstance(of_interest, str) else of_interest
    competing = any(v != 0 for k, v in causes.items() if k not in interest)
    frame = frame.with_columns(
        _code=pl.col(cause_col).replace_strict(causes, default=0, return_dtype=pl.Int64),
    ).with_columns(_hit=pl.col(cause_col).is_in(interest), _cens=pl.col("_code") == 0)
    samples = getattr(ctx, "survival_samples", None)
    if samples is not None:  # baton_lab.compare asks for the per-subject durations (hazard ratios between arms)
        samples[(m.id, variant)] = frame.select("namespace", "duration", "_hit", "_cens")
    rows, curves = [], []
    for ns, sub in namespace_groups(ctx, frame):
        d = sub["duration"].to_numpy().astype(float)
        hit = sub["_hit"].to_numpy()
        cens = sub["_cens"].to_numpy()
        n = len(d)
        if competing:
            codes = np.where(hit, 1, np.where(cens, 0, 2))
            curve = stats.aalen_johansen(d, codes, 1) if n else None
            method = "aalen-johansen"
            med = curve.median if curve is not None else None
            lo_med = _first(curve.time, curve.upper >= 0.5) if curve is not None and curve.time.size else None
            hi_med = _first(curve.time, curve.lower >= 0.5) if curve is not None and curve.time.size else None
        else:
            curve = stats.kaplan_meier(d, hit) if n else None
            method = "kaplan-meier (log-log band)"
            med = curve.median if curve is not None else None
            lo_med, hi_med = stats.km_median_ci(curve) if curve is not None else (None, None)
        n_cens, n_comp, n_hit = int(cens.sum()), int((~cens & ~hit).sum()), int(hit.sum())
        b = ctx.bounds.filter(pl.col("namespace") == ns) if ns != "(pooled)" else ctx.bounds
        span = (int(b["min_seq"].min()), int(b["max_seq"].max())) if b.height else (None, None)
        reached = med is not None
        rows.append({"namespace": ns, "variant": f"{variant}_median", "window_start_s": span[0], "window_end_s": span[1],
                     "overall": True, "numerator": float(n_hit), "denominator": float(n),
                     "estimate": med, "ci_low": lo_med if reached else None, "ci_high": hi_med if reached else None,
                     "ci_method": f"{method}, median read off the band", "unit": "sessions",
                     "n_censored": n_cens, "n_competing": n_comp, "min_n_met": n >= stats.MIN_SURVIVAL_N,
                     "status": None if n == 0 or reached else ("ok" if n >= stats.MIN_SURVIVAL_N else "insufficient"),
                     "note": None if reached or n == 0 else "median not reached within follow-up"})
        for t in extra_points:
            val, lo, hi = _at(curve, t, competing)
            rows.append({"namespace": ns, "variant": f"{variant}_{'cif' if competing else 'survival'}_at_{int(t)}",
                         "window_start_s": span[0], "window_end_s": span[1], "overall": True,
                         "numerator": float(n_hit), "denominator": float(n), "estimate": val, "ci_low": lo, "ci_high": hi,
                         "ci_method": method, "unit": "share", "n_censored": n_cens, "n_competing": n_comp,
                         "min_n_met": n >= stats.MIN_SURVIVAL_N})
        if curve is not None and curve.time.size:
            curves.append(pl.DataFrame({"namespace": ns, "metric_id": m.id, "variant": variant, "time": curve.time,
                                        "value": curve.value, "lower": curve.lower, "upper": curve.upper,
                                        "at_risk": curve.at_risk.astype(float)}, schema=CURVE_COLUMNS))
    overall = pl.DataFrame(rows, schema_overrides={"estimate": pl.Float64, "ci_low": pl.Float64, "ci_high": pl.Float64,
                                                   "status": pl.String, "note": pl.String}, infer_schema_length=None)
    parts = [overall]
    if windows:
        parts.append(_window_medians(ctx, frame, cohort_seq, competing).with_columns(variant=pl.lit(f"{variant}_median")))
    out_rows = finish(pl.concat(parts, how="diagonal_relaxed"), m, ctx, note=note)
    curve_frame = pl.concat(curves) if curves else pl.DataFrame(schema=CURVE_COLUMNS)
    return Output(out_rows, curve_frame)


def _first(times: np.ndarray, mask: np.ndarray) -> float | None:
    idx = np.nonzero(mask)[0]
    return float(times[idx[0]]) if idx.size else None


def _at(curve: stats.Curve | None, t: float, competing: bool) -> tuple[float | None, float | None, float | None]:
    if curve is None or curve.time.size == 0:
        return (0.0, 0.0, 0.0) if competing and curve is not None else (None, None, None)
    idx = np.searchsorted(curve.time, t, side="right") - 1
    if idx < 0:
        return (0.0, 0.0, 0.0) if competing else (1.0, 1.0, 1.0)
    return float(curve.value[idx]), float(curve.lower[idx]), float(curve.upper[idx])


def _window_medians(ctx: Context, frame: pl.DataFrame, cohort_seq: str, competing: bool) -> pl.DataFrame:
    """Cohort (entry window) medians in polars: discrete-time KM / Aalen-Johansen, no per-window band."""
    w = ctx.window
    f = frame.with_columns(w=(pl.col(cohort_seq) - 1) // w)
    both = pl.concat([f.select("namespace", "w", "duration", "_hit", "_cens"),
                      f.select(pl.lit("(pooled)").alias("namespace"), "w", "duration", "_hit", "_cens")])
    keys = ["namespace", "w"]
    g = (both.group_by(*keys, "duration")
         .agg(m=pl.len(), d_hit=pl.col("_hit").sum(), d_all=(~pl.col("_cens")).sum())
         .sort(*keys, "duration")
         .with_columns(at_risk=pl.col("m").sum().over(keys) - pl.col("m").cum_sum().over(keys) + pl.col("m")))
    g = g.with_columns(s=(1 - (pl.col("d_hit" if not competing else "d_all") / pl.col("at_risk"))).cum_prod().over(keys))
    if competing:
        g = g.with_columns(s_prev=pl.col("s").shift(1, fill_value=1.0).over(keys)).with_columns(
            value=(pl.col("s_prev") * pl.col("d_hit") / pl.col("at_risk")).cum_sum().over(keys))
        reached = pl.col("value") >= 0.5
    else:
        reached = pl.col("s") <= 0.5
    med = g.filter(reached).group_by(keys).agg(estimate=pl.col("duration").min().cast(pl.Float64))
    n = both.group_by(keys).agg(denominator=pl.len().cast(pl.Float64), numerator=pl.col("_hit").sum().cast(pl.Float64),
                                n_censored=pl.col("_cens").sum().cast(pl.Int64),
                                n_competing=(~pl.col("_cens") & ~pl.col("_hit")).sum().cast(pl.Int64))
    return (n.join(med, on=keys, how="left").with_columns(
        window_start_s=(pl.col("w") * w + 1).cast(pl.Int64), window_end_s=((pl.col("w") + 1) * w).cast(pl.Int64),
        overall=pl.lit(False), ci_method=pl.lit("discrete KM/AJ by entry cohort (no band per window)"),
        unit=pl.lit("sessions"), min_n_met=pl.col("denominator") >= stats.MIN_SURVIVAL_N,
        status=pl.when(pl.col("estimate").is_null() & (pl.col("denominator") >= stats.MIN_SURVIVAL_N))
        .then(pl.lit("ok")).otherwise(None),
        note=pl.when(pl.col("estimate").is_null()).then(pl.lit("median not reached within follow-up")).otherwise(None),
    ).drop("w"))


def spans(ctx: Context) -> dict[str, dict[str, int | None]]:
    """window_start_s/window_end_s of the overall row of each namespace and of the pool."""
    out = {r["namespace"]: {"window_start_s": r["min_seq"], "window_end_s": r["max_seq"]}
           for r in ctx.bounds.iter_rows(named=True)}
    out[POOLED] = {"window_start_s": ctx.bounds["min_seq"].min() if ctx.bounds.height else None,
                   "window_end_s": ctx.bounds["max_seq"].max() if ctx.bounds.height else None}
    return out


def trend_rows(df: pl.DataFrame, variant: str = "trend") -> pl.DataFrame:
    """Theil–Sen slope (per window) of the window estimates, one overall row per namespace."""
    rows = []
    for ns, sub in df.filter(~pl.col("overall")).sort("window_start_s").group_by("namespace", maintain_order=True):
        est = stats.theil_sen(sub["estimate"].cast(pl.Float64).fill_null(np.nan).to_numpy())
        rows.append({"namespace": ns[0], "variant": variant, "window_start_s": sub["window_start_s"].min(),
                     "window_end_s": sub["window_end_s"].max(), "overall": True, "estimate": est.estimate,
                     "ci_low": est.ci_low, "ci_high": est.ci_high, "ci_method": "theil-sen",
                     "denominator": float(est.denominator or 0), "min_n_met": est.min_n_met, "unit": "per window"})
    return pl.DataFrame(rows, schema_overrides={"estimate": pl.Float64, "ci_low": pl.Float64, "ci_high": pl.Float64})
