"""Follow-ups: deferral and escalation, F1–F4 (metrics.md §4.2)."""

from __future__ import annotations

import functools
from typing import Any

import altair as alt
import polars as pl

from . import _base
from ._base import Built, forest, window_series
from ._curves import cohort_medians, curve_figure
from ._data import POOLED, levels, overall_row, unavailable, windows
from ._text import THIN_NOTE, interval, pct, share_sentence
from ._theme import CATEGORY, MUTED

figure = functools.partial(_base.figure, "followups")

OPEN, CLOSED = "still open (count is a lower bound)", "resolved or gone"
COMPARISONS = {"rr_ge5_vs_lt3": "deferred 5+ vs under 3", "rr_3_4_vs_lt3": "deferred 3–4 vs under 3"}


def _thin(frame: pl.DataFrame) -> str:
    return " " + THIN_NOTE if (frame["status"] == "insufficient").any() else ""


@figure("F1-deferral-distribution", ("F1",), "How many times follow-ups were deferred by the time they were resolved or last seen")
def distribution(result: Any, ns: str) -> Built:
    items = result.items.get("deferral_distribution")
    if items is not None and ns != POOLED:
        items = items.filter(pl.col("namespace") == ns)
    if items is None or items.height == 0:
        return "No data: no follow-ups" + ("." if ns == POOLED else f" in namespace {ns}.")
    counts = (items.group_by(d=pl.col("final_defer").fill_null(0), open=pl.col("still_open").fill_null(False))
              .agg(n=pl.len()).with_columns(state=pl.when("open").then(pl.lit(OPEN)).otherwise(pl.lit(CLOSED)))
              .sort("d", pl.col("open").not_())
              .with_columns(y1=pl.col("n").cum_sum().over("d"))
              .with_columns(y0=pl.col("y1") - pl.col("n"), x0=pl.col("d") - 0.42, x1=pl.col("d") + 0.42))
    bars = alt.Chart(counts).mark_rect().encode(
        x=alt.X("x0:Q", title="Deferrals (defer_count / postponed_count)", axis=alt.Axis(format="d", tickMinStep=1),
                scale=alt.Scale(domain=[-0.5, max(6, counts["d"].max()) + 0.5], nice=False)), x2=alt.X2("x1:Q"),
        y=alt.Y("y0:Q", title="Follow-ups"), y2=alt.Y2("y1:Q"),
        color=alt.Color("state:N", title="Follow-up", sort=[CLOSED, OPEN],
                        scale=alt.Scale(domain=[CLOSED, OPEN], range=[CATEGORY[0], CATEGORY[1]])),
        tooltip=[alt.Tooltip("d:Q", title="Deferrals"), "state:N", alt.Tooltip("n:Q", title="Follow-ups")])
    marks = pl.DataFrame({"x": [2.5, 4.5], "label": ["3+ elevated", "5+ escalated"], "dy": [0, 14]})
    rules = alt.Chart(marks).mark_rule(strokeDash=[4, 3], color=MUTED).encode(x=alt.X("x:Q"))
    text = alt.Chart(marks).mark_text(align="left", dx=3, baseline="top", color=MUTED, fontSize=10).encode(
        x=alt.X("x:Q"), y=alt.Y("dy:Q", scale=None), text=alt.Text("label:N"))
    r3 = overall_row(result, "deferral_distribution", ns, "reached_3")
    r5 = overall_row(result, "deferral_distribution", ns, "reached_5")
    caption = (f"Histogram of each follow-up's final deferral count (n = {items.height}); orange: still open, so its "
               f"count can only grow. Reached 3 deferrals: {interval(r3, pct)}; reached 5: {interval(r5, pct)} "
               "(95% Wilson intervals over follow-ups created in the range). The spiral moves the mass left.")
    return alt.layer(bars, rules, text), caption


@figure("F1-deferral-trend", ("F1",), "Share of new follow-ups that were deferred 3+ and 5+ times, per {w}-session window")
def deferral_trend(result: Any, ns: str) -> Built:
    labels = {"reached_3": "deferred 3+ times", "reached_5": "deferred 5+ times"}
    frame = windows(result, "deferral_distribution", ns, variants=list(labels))
    if reason := unavailable(frame, "no follow-ups were created"):
        return reason
    frame = frame.with_columns(series=pl.col("variant").replace_strict(labels))
    chart = window_series(frame, w=result.window, y_title="Share of follow-ups created in the window",
                          series_title="Threshold", order=list(labels.values()))
    caption = ("Lines and bands: share (95% Wilson) of the follow-ups first seen in each window whose deferral count "
               "reached 3 or 5. Open follow-ups can still be deferred, so recent windows are lower bounds."
               + _thin(frame))
    return chart, caption


@figure("F2-followup-resolution", ("F2",), "Share of follow-ups resolved, by sessions since they were first seen")
def resolution(result: Any, ns: str) -> Built:
    out = curve_figure(result, ns, "time_to_followup_resolution", "resolution", what="follow-ups",
                       y_title="Share resolved", x_title="Sessions since the follow-up was first seen")
    if isinstance(out, str):
        return out
    row = overall_row(result, "time_to_followup_resolution", ns, "resolution_median") or {}
    note = f" Note: {row['note']}." if row.get("note") else ""
    return out[0], out[1] + note


@figure("F2-median-by-cohort", ("F2",), "Median sessions to resolve a follow-up, by the window it was first seen in")
def median_by_cohort(result: Any, ns: str) -> Built:
    return cohort_medians(result, ns, "time_to_followup_resolution", "resolution_median",
                          y_title="Median sessions to resolve", what="follow-ups")


@figure("F3-escalation-effectiveness", ("F3",), "Resolution rate of often-deferred follow-ups relative to rarely deferred ones (rate ratio, log scale)")
def escalation(result: Any, ns: str) -> Built:
    frame, grouped = levels(result, "escalation_effectiveness", ns, variants=list(COMPARISONS), labels=COMPARISONS)
    if reason := unavailable(frame, "no follow-ups were at risk in two deferral bands"):
        return reason
    drawn = frame.filter(pl.col("estimate").is_not_null() & pl.col("ci_low").is_not_null())
    drawn = drawn.with_columns(
        label=pl.format("{} / {}", pl.col("series"), pl.col("label")) if grouped else pl.col("label"),
        group=pl.col("variant").replace_strict(COMPARISONS), pooled=(pl.col("series") == POOLED) & grouped,
        est=pl.col("estimate"), lo=pl.col("ci_low"), hi=pl.col("ci_high").fill_null(float("inf")))
    order = drawn.sort(pl.col("series") == POOLED, "series", "variant")["label"].to_list()
    chart = forest(drawn, x_title="Resolution rate ratio (log scale; right of 1: escalation speeds resolution)",
                   label_title="Comparison", order=order, color_title="Comparison", color_order=list(COMPARISONS.values()))
    omitted = frame.height - drawn.height
    rates = " ".join(f"{band}: {interval(overall_row(result, 'escalation_effectiveness', ns, f'rate_{v}'))} per session."
                     for v, band in (("lt3", "Under 3 deferrals"), ("3_4", "3–4"), ("ge5", "5+")))
    caption = ("Points: resolutions per session at risk in the higher deferral band ÷ the same in the under-3 band, "
               "with the exact conditional 95% interval; the dashed rule is RR = 1 (escalation changes nothing)"
               + ("; diamonds are the pool" if grouped else "") + f". {rates}"
               + (f" {omitted} comparison(s) without resolutions are not drawn." if omitted else "")
               + (" Hollow: insufficient data." if (drawn["status"] == "insufficient").any() else ""))
    return chart, caption


@figure("F4-zombie-followups", ("F4",), "Share of open follow-ups deferred 5+ times and untouched for 5+ sessions, per {w}-session window")
def zombies(result: Any, ns: str) -> Built:
    frame = windows(result, "zombie_followups", ns, variants=["prevalence"])
    if reason := unavailable(frame, "no open follow-ups"):
        return reason
    chart = window_series(frame, w=result.window, y_title="Share of open follow-ups", style="area")
    row = overall_row(result, "zombie_followups", ns, "prevalence")
    caption = (f"Point prevalence pooled over the snapshots of each window, 95% Wilson band (optimistic: clustered "
               f"by follow-up). {share_sentence(row, 'open follow-up-snapshots')} The spiral keeps this near zero."
               + _thin(frame))
    return chart, caption


BUILDERS = (distribution, deferral_trend, resolution, median_by_cohort, escalation, zombies)
