"""Figures of a comparison (baton_lab.compare): the forest plot of effects, and one interrupted-time-series
chart per endpoint of a before/after split.

The forest has one panel per effect measure — a difference of shares on a linear axis with its no-effect
line at 0, rate and hazard ratios on log axes with it at 1 — because the measures share no scale. Each row
shows the raw 95% interval (thin), the false-coverage-rate adjusted interval (thick; Benjamini–Yekutieli,
the level the Benjamini–Hochberg selection allows) and the estimate; rows below the minimum sample are
hollow and carry no adjusted interval.
"""

from __future__ import annotations

import math
from typing import Any

import altair as alt
import polars as pl

from ._base import note
from ._figure import Figure
from ._theme import BAD, CATEGORY, GOOD, MUTED, NEUTRAL, WIDTH

FAMILY = "compare"
MAX_ROWS = 40
READING_COLOURS = {"better in B": GOOD, "worse in B": BAD, "higher in B": CATEGORY[0], "lower in B": CATEGORY[0],
                   "sooner in B": CATEGORY[0], "later in B": CATEGORY[0], "no detectable difference": NEUTRAL,
                   "insufficient": NEUTRAL}
PANELS = (("difference", "Difference of shares, B − A"), ("rate ratio", "Rate ratio, B ÷ A (log scale)"),
          ("hazard ratio", "Hazard ratio, B ÷ A (log scale; > 1: sooner in B)"))


def _clip(frame: pl.DataFrame, cols: list[str], log: bool) -> pl.DataFrame:
    """Finite values a log axis can draw: 0 and ∞ bounds become the panel's edge (the caption says so)."""
    finite = [v for c in cols for v in frame[c].to_list() if v is not None and math.isfinite(v) and (v > 0 or not log)]
    if not finite:
        return frame
    lo, hi = min(finite), max(finite)
    if log:
        lo, hi = min(lo, 1.0) / 1.5, max(hi, 1.0) * 1.5
    return frame.with_columns(pl.col(c).clip(lo, hi).fill_nan(None) for c in cols)


def forest(comparison: Any) -> Figure:
    """Forest plot of every compared effect: estimate, raw and adjusted intervals, no-effect line per panel."""
    rows = comparison.effects.filter(pl.col("status").is_in(["ok", "insufficient"]) & pl.col("effect").is_not_null())
    title = f"Effect of B ({comparison.arm_b.name}) against A ({comparison.arm_a.name}), per metric"
    key, codes = "compare-forest", tuple(dict.fromkeys(rows["code"].to_list())) if rows.height else ()
    if rows.height == 0:
        text = "No metric has enough data in both arms for an effect."
        return Figure(key, codes, FAMILY, title, text, note(text), "comparison")
    rows = rows.with_columns(
        label=pl.format("{} {}: {}", pl.col("code"), pl.col("metric_id"), pl.col("variant")),
        evidence=pl.when(pl.col("status") == "ok").then(pl.lit("enough data")).otherwise(pl.lit("insufficient")),
    ).sort(pl.col("p_adjusted").fill_null(2.0)).head(MAX_ROWS)
    panels = []
    for measure, axis_title in PANELS:
        part = rows.filter(pl.col("measure") == measure)
        if part.height == 0:
            continue
        log = measure != "difference"
        part = _clip(part, ["effect", "ci_low", "ci_high", "adj_ci_low", "adj_ci_high"], log)
        scale = alt.Scale(type="log") if log else alt.Scale(zero=False)
        y = alt.Y("label:N", title=None, sort=part["label"].to_list(), axis=alt.Axis(labelLimit=320))
        base = alt.Chart(part).encode(y=y)
        colour = alt.Color("reading:N", title="Reading (BH-adjusted)",
                           scale=alt.Scale(domain=list(READING_COLOURS), range=list(READING_COLOURS.values())))
        raw = base.mark_rule(strokeWidth=1, color=MUTED).encode(
            x=alt.X("ci_low:Q", title=axis_title, scale=scale), x2=alt.X2("ci_high:Q"))
        adjusted = base.mark_rule(strokeWidth=4, opacity=0.55).encode(x=alt.X("adj_ci_low:Q"), x2=alt.X2("adj_ci_high:Q"), color=colour)
        point = base.mark_point(filled=True, size=60).encode(
            x=alt.X("effect:Q"), color=colour,
            fill=alt.condition(alt.datum.evidence == "insufficient", alt.value("white"), colour),
            tooltip=[alt.Tooltip("label:N", title="metric"), alt.Tooltip("effect:Q", format=".3g"),
                     alt.Tooltip("ci_low:Q", format=".3g"), alt.Tooltip("ci_high:Q", format=".3g"),
                     alt.Tooltip("p_adjusted:Q", title="BH-adjusted p", format=".3g"), "reading:N", "method:N"])
        null = alt.Chart().mark_rule(color="#222222", strokeDash=[4, 3]).encode(x=alt.XDatum(1.0 if log else 0.0))
        panels.append(alt.layer(raw, adjusted, point, null, width=WIDTH - 200,
                                                                      height=max(40, 18 * part.height)))
    chart = alt.vconcat(*panels).resolve_scale(x="independent")
    caption = (f"Per metric row with data in both arms: the estimate (point; hollow below the pre-registered minimum "
               f"sample), its 95% interval (thin line) and the false-coverage-rate adjusted interval at "
               f"{100 * comparison.fcr_confidence:.1f}% (thick line, Benjamini–Yekutieli: {comparison.n_discoveries} "
               f"of {comparison.n_tested} effects selected by Benjamini–Hochberg at q = 0.05). Dashed: no effect. "
               "Shares: Miettinen–Nurminen score interval; rates: conditional mid-p; times: Cox model, Wald. Bounds "
               "at 0 or ∞ are drawn at the panel edge."
               + (f" The {MAX_ROWS} rows with the smallest adjusted p are drawn; the rest are in the table."
                  if comparison.compared.filter(pl.col("effect").is_not_null()).height > MAX_ROWS else ""))
    return Figure(key, codes, FAMILY, title, caption, chart, "comparison")


def its_chart(result: Any) -> Figure:
    """Observed points per window, fitted segments before and after the split, and the counterfactual."""
    key = f"compare-its-{result.metric_id.replace('_', '-')}-{result.variant.replace('_', '-')}"
    unit = "share" if result.kind == "share" else "per session"
    title = f"{result.label}: before and after the split, {result.window} sessions per point"
    code = result.label.rsplit("(", 1)[-1].rstrip(")") if "(" in result.label else result.metric_id
    if result.status != "ok":
        text = f"No interrupted time series: {result.note}."
        return Figure(key, (code,), FAMILY, title, text, note(text), "comparison")
    frame = result.series.with_columns(start=pl.col("first_session"))
    x = alt.X("start:Q", title="Sessions relative to the split (0 = first session after)", axis=alt.Axis(format="d"))
    base = alt.Chart(frame).encode(x=x)
    points = base.mark_point(filled=True, color=CATEGORY[0], size=40).encode(
        y=alt.Y("observed:Q", title=f"Observed ({unit})"),
        tooltip=[alt.Tooltip("start:Q", title="first session"), alt.Tooltip("k:Q", title="events"),
                 alt.Tooltip("n:Q", title="denominator"), alt.Tooltip("observed:Q", format=".3f")])
    fitted = base.mark_line(color=CATEGORY[1], strokeWidth=2).encode(y=alt.Y("fitted:Q"), detail=alt.Detail("segment:N"))
    counterfactual = (alt.Chart(frame.filter(pl.col("counterfactual").is_not_null())).encode(x=x)
                      .mark_line(color=CATEGORY[1], strokeDash=[5, 4]).encode(y=alt.Y("counterfactual:Q")))
    split = alt.Chart().mark_rule(color=MUTED, strokeDash=[2, 2]).encode(x=alt.XDatum(0))
    lvl, slope, pre = result.level_change, result.slope_change, result.pre_trend

    def ci(c: Any) -> str:
        return f"{c.estimate:.3g} [{c.ci_low:.3g}, {c.ci_high:.3g}], p = {c.p_value:.3g}"

    caption = (f"Points: observed {unit} per window of {result.window} sessions. Solid: segmented regression "
               f"({result.method}); dashed: the counterfactual (the trend before the split continued). Level change at "
               f"the split {result.measure} {ci(lvl)}; slope change per window {ci(slope)}; trend before {ci(pre)}. "
               + (f"Lag-1 autocorrelation of the residuals {result.autocorrelation:.2f}"
                  if result.autocorrelation is not None else "Lag-1 autocorrelation not estimable")
               + (f", Ljung–Box p = {result.ljung_box_p:.3g}." if result.ljung_box_p is not None else "."))
    return Figure(key, (code,), FAMILY, title, caption, alt.layer(points, fitted, counterfactual, split), "comparison")


def figures(comparison: Any) -> list[Figure]:
    return [forest(comparison), *(its_chart(r) for r in comparison.its)]
