"""Interrupted time series for a before/after split within the same loops (Wagner et al. 2002).

The primary endpoints that are counts (rates) or shares are read per session, aligned at each namespace's
split (relative session r = seq − first session after), summed over namespaces into windows of `window`
sessions, and fitted by segmented regression:

    g(mean_t) = β0 + β1·t + β2·after_t + β3·t·after_t   (+ log exposure for rates)

a Poisson GLM with log(exposure) offset for rates, a binomial GLM for shares; t counts windows from the
split (after starts at t = 0). exp(β2) is the level change at the split, exp(β3) the change of slope per
window, exp(β1) the trend already under way before it — so a trend that was already there is not credited
to the change. Standard errors are Newey–West (HAC), robust to autocorrelation and overdispersion; the lag-1
autocorrelation of the Pearson residuals and a Ljung–Box test are reported. The counterfactual is the
pre-split segment continued (β2 = β3 = 0).

statsmodels is an optional extra (`pip install 'baton-lab[stats]'`); without it `for_split` returns no
results and a note saying so.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from ..metrics.base import Context
from ..metrics.registry import resolve as resolve_metrics, run
from ..metrics.schema import POOLED
from ..metrics.stats import CONFIDENCE, MIN_TREND_POINTS
from . import arms as arms_mod
from .arms import Arm

# The primary endpoints of comparison.QUESTIONS that are series of counts or shares.
ENDPOINTS = (
    ("silent_drop_rate", "share", "Open loops silently dropped (L6)", "share"),
    ("touch_rate", "all", "Open items acted on in their session (B2)", "share"),
    ("caught_regressions", "rate_per_session", "Caught regressions per session (L4)", "rate"),
)
NEEDS_EXTRA = "the interrupted time series needs statsmodels: pip install 'baton-lab[stats]'"


@dataclass(frozen=True)
class Coefficient:
    estimate: float | None      # exp(β): a rate ratio (rates) or an odds ratio (shares)
    ci_low: float | None
    ci_high: float | None
    p_value: float | None

    def to_json(self) -> dict[str, float | None]:
        return {"estimate": self.estimate, "ci_low": self.ci_low, "ci_high": self.ci_high, "p_value": self.p_value}


NONE = Coefficient(None, None, None, None)


@dataclass(frozen=True)
class ITSResult:
    metric_id: str
    variant: str
    label: str
    kind: str                    # share | rate
    window: int                  # sessions per point
    series: pl.DataFrame         # t, first_session (relative), k, n, observed, fitted, counterfactual, segment
    level_change: Coefficient
    slope_change: Coefficient
    pre_trend: Coefficient
    autocorrelation: float | None   # lag-1 autocorrelation of Pearson residuals
    ljung_box_p: float | None
    method: str
    status: str                  # ok | insufficient
    note: str | None = None

    @property
    def measure(self) -> str:
        return "rate ratio" if self.kind == "rate" else "odds ratio"

    def to_json(self) -> dict[str, Any]:
        return {"metric_id": self.metric_id, "variant": self.variant, "label": self.label, "kind": self.kind,
                "measure": self.measure, "window": self.window, "status": self.status, "note": self.note,
                "method": self.method, "level_change": self.level_change.to_json(),
                "slope_change": self.slope_change.to_json(), "pre_trend": self.pre_trend.to_json(),
                "autocorrelation": self.autocorrelation, "ljung_box_p": self.ljung_box_p,
                "series": self.series.to_dicts()}


def statsmodels_available() -> bool:
    try:
        import statsmodels.api  # noqa: F401
    except ImportError:
        return False
    return True


def per_session(con, arm_a: Arm, arm_b: Arm, endpoints=ENDPOINTS) -> pl.DataFrame:  # noqa: ANN001
    """metric_id, variant, namespace, r (session relative to the split), k, n: one row per session of either arm."""
    ranges = (arm_a.ranges.rename({"hi": "hi_a"}).join(arm_b.ranges.rename({"lo": "split"}), on="namespace")
              .select("namespace", "lo", "hi", "hi_a", "split"))
    cur = arms_mod.arm_view(con, ranges.select("namespace", "lo", "hi"))
    try:
        ctx = Context(cur, ranges["namespace"].to_list(), window=1)
        wanted = {(mid, variant) for mid, variant, _, _ in endpoints}
        rows = pl.concat([run(ctx, m).rows for m in resolve_metrics(sorted({mid for mid, _ in wanted}))])
    finally:
        cur.close()
    rows = rows.filter(~pl.col("overall") & (pl.col("namespace") != POOLED)
                       & pl.struct("metric_id", "variant").is_in([{"metric_id": a, "variant": b} for a, b in wanted]))
    out = rows.join(ranges, on="namespace").filter(
        (pl.col("window_start_s") <= pl.col("hi_a")) | (pl.col("window_start_s") >= pl.col("split")))
    return out.select("metric_id", "variant", "namespace", r=pl.col("window_start_s") - pl.col("split"),
                      k=pl.col("numerator").fill_null(0.0),
                      n=pl.coalesce("denominator", "exposure").fill_null(0.0))


def fit(series: pl.DataFrame, kind: str, *, confidence: float = CONFIDENCE) -> dict[str, Any]:
    """Segmented GLM on a frame with t, k, n (n = exposure for rates, trials for shares)."""
    import statsmodels.api as sm
    from statsmodels.stats.diagnostic import acorr_ljungbox

    t = series["t"].to_numpy().astype(float)
    k, n = series["k"].to_numpy().astype(float), series["n"].to_numpy().astype(float)
    after = (t >= 0).astype(float)
    x = np.column_stack([np.ones_like(t), t, after, t * after])
    maxlags = max(1, int(math.floor(4 * (len(t) / 100) ** (2 / 9))))
    if kind == "rate":
        model = sm.GLM(k, x, family=sm.families.Poisson(), offset=np.log(n))
    else:
        model = sm.GLM(np.column_stack([k, n - k]), x, family=sm.families.Binomial())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = model.fit(cov_type="HAC", cov_kwds={"maxlags": maxlags})
    params, ci, pvalues = np.asarray(res.params), np.asarray(res.conf_int(alpha=1 - confidence)), np.asarray(res.pvalues)
    if not np.all(np.isfinite(params)) or not np.all(np.isfinite(ci)):
        raise ValueError("the model has no finite estimate")

    def coef(i: int) -> Coefficient:
        return Coefficient(float(np.exp(params[i])), float(np.exp(ci[i, 0])), float(np.exp(ci[i, 1])), float(pvalues[i]))

    eta = x @ params
    eta_cf = x[:, :2] @ params[:2]
    link = (lambda e: np.exp(e)) if kind == "rate" else (lambda e: 1 / (1 + np.exp(-e)))
    resid = np.asarray(res.resid_pearson, dtype=float)
    lag1 = float(np.corrcoef(resid[:-1], resid[1:])[0, 1]) if len(resid) > 2 and resid.std() > 0 else None
    lags = max(1, min(4, len(resid) // 4))
    lb = acorr_ljungbox(resid, lags=[lags])
    return {"level": coef(2), "slope": coef(3), "pre": coef(1), "fitted": link(eta),
            "counterfactual": np.where(after > 0, link(eta_cf), np.nan), "autocorrelation": lag1,
            "ljung_box_p": float(np.asarray(lb["lb_pvalue"])[0]), "maxlags": maxlags}


def analyse(rows: pl.DataFrame, metric_id: str, variant: str, label: str, kind: str, window: int) -> ITSResult:
    """One endpoint: windows of `window` sessions relative to the split, then `fit`."""
    sub = rows.filter((pl.col("metric_id") == metric_id) & (pl.col("variant") == variant))
    series = (sub.with_columns(t=pl.col("r").floordiv(window))
              .group_by("t").agg(pl.col("k").sum(), pl.col("n").sum(), first_session=pl.col("r").min())
              .filter(pl.col("n") > 0).sort("t")
              .with_columns(observed=pl.col("k") / pl.col("n"), segment=pl.when(pl.col("t") >= 0)
                            .then(pl.lit("after")).otherwise(pl.lit("before"))))
    method = (f"segmented {'Poisson GLM, log(exposure) offset' if kind == 'rate' else 'binomial GLM'}, "
              f"Newey-West (HAC) errors; {window} sessions per point")
    before, after = int((series["t"] < 0).sum()), int((series["t"] >= 0).sum())
    empty = series.with_columns(fitted=pl.lit(None, pl.Float64), counterfactual=pl.lit(None, pl.Float64))
    side = series.group_by("segment").agg(k=pl.col("k").sum(), rest=(pl.col("n") - pl.col("k")).sum())
    # a segment with no event (or, for shares, no non-event) has no finite level: separation, not an effect
    separated = side.height < 2 or (side["k"] == 0).any() or (kind == "share" and (side["rest"] == 0).any())
    if before < MIN_TREND_POINTS or after < MIN_TREND_POINTS or separated:
        note = (f"needs ≥ {MIN_TREND_POINTS} windows of {window} sessions on each side and events on both sides "
                f"({before} before, {after} after; events "
                + ", ".join(f"{r['segment']} {int(r['k'])}" for r in side.sort("segment", descending=True).iter_rows(named=True))
                + ")")
        return ITSResult(metric_id, variant, label, kind, window, empty, NONE, NONE, NONE, None, None, method,
                         "insufficient", note)
    try:
        out = fit(series, kind)
    except (ValueError, np.linalg.LinAlgError) as exc:
        return ITSResult(metric_id, variant, label, kind, window, empty, NONE, NONE, NONE, None, None, method,
                         "insufficient", f"the model could not be fitted: {exc}")
    series = series.with_columns(fitted=pl.Series(out["fitted"]),
                                 counterfactual=pl.Series(out["counterfactual"]).fill_nan(None))
    return ITSResult(metric_id, variant, label, kind, window, series, out["level"], out["slope"], out["pre"],
                     out["autocorrelation"], out["ljung_box_p"], method + f", maxlags {out['maxlags']}", "ok")


def for_split(con, arm_a: Arm, arm_b: Arm, *, window: int = 5) -> tuple[list[ITSResult], str | None]:  # noqa: ANN001
    """ITS of every endpoint, or ([], why not)."""
    if not statsmodels_available():
        return [], NEEDS_EXTRA
    rows = per_session(con, arm_a, arm_b)
    return [analyse(rows, mid, variant, label, kind, window) for mid, variant, label, kind in ENDPOINTS], None
