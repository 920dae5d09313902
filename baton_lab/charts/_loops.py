"""Impact tier — open loops, L1–L9 (metrics.md §4.1)."""

from __future__ import annotations

import functools
from typing import Any

import altair as alt
import polars as pl

from . import _base
from ._base import Built, level_bars, window_bars, window_series
from ._curves import cohort_medians, curve_figure
from ._data import POOLED, levels, overall_row, series_order, unavailable, windows
from ._text import THIN_NOTE, interval, num, pct, rate_sentence, share_sentence
from ._theme import BAND_OPACITY, CATEGORY

figure = functools.partial(_base.figure, "loops")

METHODS = {"machine": "machine check (http, file, process)", "manual": "manual check", "none": "no verification"}
CAUSES = {"verified": "verified", "failed": "failed (caught regression)", "escalated": "escalated",
          "dropped": "dropped silently"}


def _thin(frame: pl.DataFrame) -> str:
    return " " + THIN_NOTE if (frame["status"] == "insufficient").any() else ""


@figure("L1-loop-open-rate", ("L1",), "New open loops per session, per {w}-session window")
def open_rate(result: Any, ns: str) -> Built:
    frame = windows(result, "loop_open_rate", ns)
    if reason := unavailable(frame, "no sessions after the first snapshot"):
        return reason
    row = overall_row(result, "loop_open_rate", ns, "all")
    chart = window_bars(frame, w=result.window, y_title="New loops per session", overall=(row or {}).get("estimate"),
                        overall_label="all sessions")
    caption = ("Bars: loops created per session in each window; whiskers: 95% Garwood (exact Poisson) interval; "
               f"dashed line: the whole range. {rate_sentence(row, 'loops per session')} Loops already in the first "
               "snapshot are not counted. Not a quality metric on its own: read it with L6." + _thin(frame))
    return chart, caption


@figure("L2-verify-coverage", ("L2",), "How new loops are verified: machine check, manual check or none, per {w}-session window")
def verify_coverage(result: Any, ns: str) -> Built:
    frame = windows(result, "verify_coverage", ns, variants=list(METHODS))
    if reason := unavailable(frame, "no loops were created"):
        return reason
    order = list(METHODS.values())
    parts = frame.with_columns(part=pl.col("variant").replace_strict(METHODS, default=pl.col("variant")))
    stack = _base.stacked_window_bars(parts, w=result.window, y_title="Share of loops created in the window",
                                      color_title="Verification", order=order,
                                      colors=[CATEGORY[0], CATEGORY[4], "#d9d9d9"])
    machine = alt.Chart(frame.filter(pl.col("variant") == "machine")).encode(x=alt.X("mid:Q"))
    band = machine.mark_errorband(opacity=BAND_OPACITY * 2, color="#08306b").encode(
        y=alt.Y("ci_low:Q", title="Share of loops created in the window"), y2=alt.Y2("ci_high:Q"))
    line = machine.mark_line(color="#08306b", point=True).encode(y=alt.Y("estimate:Q"))
    row = overall_row(result, "verify_coverage", ns, "machine")
    caption = ("Stacked bars: how the loops created in each window are verified. The dark line and band are the "
               "machine-checkable share with its 95% Wilson interval — the spiral wants it to rise. "
               f"{share_sentence(row, 'loops machine-checkable')}" + _thin(frame))
    return alt.layer(stack, band, line), caption


@figure("L3-time-to-verify", ("L3",), "Share of loops that reached a terminal status, by sessions since creation")
def time_to_verify(result: Any, ns: str) -> Built:
    out = curve_figure(result, ns, "time_to_verify", "terminal", what="loops",
                       y_title="Share verified, failed or escalated", x_title="Sessions since the loop was created")
    if isinstance(out, str):
        return out
    chart, caption = out
    at1 = overall_row(result, "time_to_verify", ns, "terminal_cif_at_1")
    extra = f" Closed by the next session: {interval(at1, pct)}." if at1 else ""
    return chart, caption + extra + " Silent drops compete (see L6); loops in the first snapshot are excluded."


@figure("L3-outcomes", ("L3", "L6"), "How loops end: cumulative incidence of each outcome by sessions since creation")
def outcomes(result: Any, ns: str) -> Built:
    frame = result.curves.get("time_to_verify")
    frame = None if frame is None else frame.filter(pl.col("namespace") == ns, pl.col("variant").is_in(list(CAUSES)))
    if frame is None or frame.height == 0:
        return "No data: no loops created after the first snapshot."
    start = frame.group_by("variant").agg(pl.col("at_risk").first()).with_columns(
        time=pl.lit(0.0), value=pl.lit(0.0))
    frame = pl.concat([start.select("variant", "time", "value", "at_risk"),
                       frame.filter(pl.col("time") > 0).select("variant", "time", "value", "at_risk")])
    frame = frame.with_columns(outcome=pl.col("variant").replace_strict(CAUSES, default=pl.col("variant")),
                               rank=pl.col("variant").replace_strict({k: i for i, k in enumerate(CAUSES)}, default=9))
    order = list(CAUSES.values())
    chart = alt.Chart(frame).mark_area(interpolate="step-after").encode(
        x=alt.X("time:Q", title="Sessions since the loop was created", axis=alt.Axis(format="d", tickMinStep=1)),
        y=alt.Y("value:Q", title="Cumulative share of loops", stack=True, axis=alt.Axis(format=".0%"),
                scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("outcome:N", title="Outcome", sort=order,
                        scale=alt.Scale(domain=order, range=[CATEGORY[2], CATEGORY[5], CATEGORY[1], "#7f7f7f"])),
        order=alt.Order("rank:Q"),
        tooltip=["outcome:N", "time:Q", alt.Tooltip("value:Q", format=".1%"), "at_risk:Q"])
    row = overall_row(result, "time_to_verify", ns, "terminal_median")
    who = "all namespaces' loops together" if ns == POOLED else "this namespace's loops"
    caption = (f"Aalen-Johansen cumulative incidence of each outcome, stacked ({who}; "
               f"n = {num((row or {}).get('denominator'))} loops). The white space above the stack is the share still "
               "open. Bands are omitted because stacked bands mislead; each cause's band is in the metric curves "
               "(L3 for any terminal status, L5 for failed).")
    return chart, caption


@figure("L3-median-by-cohort", ("L3",), "Median sessions from creation to a terminal status, by the window loops were created in")
def median_by_cohort(result: Any, ns: str) -> Built:
    return cohort_medians(result, ns, "time_to_verify", "terminal_median", y_title="Median sessions to close",
                          what="loops")


@figure("L4-caught-regressions", ("L4",), "Caught regressions — loops whose check failed and were not later verified — per {w}-session window")
def caught(result: Any, ns: str) -> Built:
    frame = windows(result, "caught_regressions", ns, variants=["count"])
    if reason := unavailable(frame, "no loops"):
        return reason
    chart = window_bars(frame, w=result.window, y_title="Caught regressions (loops)", fmt="d")
    total = overall_row(result, "caught_regressions", ns, "count")
    rate = overall_row(result, "caught_regressions", ns, "rate_per_session")
    caption = (f"Bars: count of loops first shown failed in each window; rules: 95% Garwood interval. "
               f"In all: {num((total or {}).get('estimate'))} caught regressions, {interval(rate)} per session "
               f"({(rate or {}).get('ci_method') or 'no'} interval). Confirmation by re-check is not possible "
               "(no attempt log): read with L9.")
    return chart, caption


@figure("L4-catch-share", ("L4",), "Share of machine-checked loops whose check failed (catch share), per {w}-session window")
def catch_share(result: Any, ns: str) -> Built:
    frame = windows(result, "caught_regressions", ns, variants=["catch_share"])
    if reason := unavailable(frame, "no machine-checked loops reached verified or failed"):
        return reason
    chart = window_series(frame, w=result.window, y_title="Failed / (failed + verified)", style="points")
    row = overall_row(result, "caught_regressions", ns, "catch_share")
    caption = ("Points: caught / machine-checked loops that reached verified or failed, by the window of the "
               f"terminal snapshot; bars: 95% Wilson interval. {share_sentence(row, 'machine-checked terminal loops')} "
               "A falling share is evidence only while L2 coverage stays high." + _thin(frame))
    return chart, caption


@figure("L5-detection-latency", ("L5",), "Share of loops verified as failed, by sessions since creation")
def detection(result: Any, ns: str) -> Built:
    out = curve_figure(result, ns, "detection_latency", "failed", what="loops",
                       y_title="Share shown failed", x_title="Sessions since the loop was created")
    if isinstance(out, str):
        return out
    at1 = overall_row(result, "detection_latency", ns, "failed_cif_at_1")
    return out[0], out[1] + (f" Failed by the next session: {interval(at1, pct)}." if at1 else "")


@figure("L5-recovery-time", ("L5",), "Share of caught regressions still without a verified fix, by sessions since the failure")
def recovery(result: Any, ns: str) -> Built:
    out = curve_figure(result, ns, "recovery_time", "recovery", what="failed loops with a decision_ref",
                       y_title="Share not yet fixed", x_title="Sessions since the loop was shown failed")
    if isinstance(out, str):
        return out
    return out[0], out[1] + " A fix is a later loop with the same decision_ref that reaches verified."


@figure("L6-silent-drop-rate", ("L6",), "Share of new loops that vanished without a terminal status, per {w}-session window")
def silent_drops(result: Any, ns: str) -> Built:
    frame = windows(result, "silent_drop_rate", ns, variants=["share"])
    if reason := unavailable(frame, "no loops were created"):
        return reason
    chart = window_series(frame, w=result.window, y_title="Share dropped silently")
    row = overall_row(result, "silent_drop_rate", ns, "share")
    caption = (f"Line and band: share of the loops created in each window that later vanished while open, with the "
               f"95% Wilson interval. {share_sentence(row, 'loops')} Loops still open can still drop, so the last "
               "windows are lower bounds. Low and falling is the spiral; high is a log nobody reads." + _thin(frame))
    return chart, caption


@figure("L7-stale-share", ("L7",), "Share of open loops past their ttl, per {w}-session window")
def stale(result: Any, ns: str) -> Built:
    frame = windows(result, "stale_share", ns, variants=["prevalence"])
    if reason := unavailable(frame, "no open loops"):
        return reason
    chart = window_series(frame, w=result.window, y_title="Share of open loops past ttl", style="area")
    row = overall_row(result, "stale_share", ns, "prevalence")
    caption = (f"Point prevalence pooled over the snapshots of each window, 95% Wilson band (optimistic: a loop "
               f"counts once per snapshot). {share_sentence(row, 'open loop-snapshots')} The catalogue's "
               "fresh/ageing/stale inventory bands need loop ages per snapshot, which the results do not carry."
               + _thin(frame))
    return chart, caption


@figure("L8-escalation-rate", ("L8",), "Share of closed loops that ended escalated, by verification method")
def escalation(result: Any, ns: str) -> Built:
    labels = {"all": "all methods", **METHODS}
    frame, grouped = levels(result, "loop_escalation_rate", ns, variants=list(labels), labels=labels)
    if reason := unavailable(frame, "no loops reached a terminal status"):
        return reason
    chart = level_bars(frame, x_title="Escalated / terminal loops", label_title="Verification",
                       order=list(labels.values()), series_title="Namespace" if grouped else None,
                       series_order=series_order(result, grouped, ns))
    row = overall_row(result, "loop_escalation_rate", ns, "all")
    caption = (f"Bars: share of loops that ended escalated among those that reached verified, failed or escalated, "
               f"over all sessions; rules: 95% Wilson interval. {share_sentence(row, 'terminal loops')}"
               + (" One bar per namespace; the last is the pool." if grouped else "") + _thin(frame))
    return chart, caption


@figure("L9-verify-flip-rate", ("L9",), "Share of repeated machine checks whose result flipped without a recorded action")
def flip_rate(result: Any, ns: str) -> Built:
    frame, grouped = levels(result, "verify_flip_rate", ns)
    if reason := unavailable(frame, "no loop was checked twice"):
        return reason
    chart = level_bars(frame, x_title="Flip rate", label_title="Verification",
                       order=frame["label"].unique(maintain_order=True).to_list(),
                       series_title="Namespace" if grouped else None, series_order=series_order(result, grouped, ns))
    return chart, "Bars: flip rate with its 95% Wilson interval. A high value invalidates L4." + _thin(frame)


BUILDERS = (open_rate, verify_coverage, time_to_verify, outcomes, median_by_cohort, caught, catch_share, detection,
            recovery, silent_drops, stale, escalation, flip_rate)
