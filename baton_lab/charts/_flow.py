"""Baton-level flow — "read and acted on" proxies, B1–B7 (metrics.md §4.5)."""

from __future__ import annotations

import functools
from typing import Any

import altair as alt
import polars as pl

from . import _base
from ._base import Built, hline, window_series
from ._data import overall_row, unavailable, windows
from ._text import THIN_NOTE, interval, num, pct, rate_sentence, share_sentence
from ._theme import BAD

figure = functools.partial(_base.figure, "flow")

TIERS = {"all": "all items", "open_loop": "open loops", "follow_up": "follow-ups", "pattern": "patterns",
         "decision": "decisions"}
SECTIONS = {"open_loop": "open loops (cap 20)", "follow_up": "follow-ups (cap 30)", "pattern": "patterns (cap 50)"}


def _thin(frame: pl.DataFrame) -> str:
    return " " + THIN_NOTE if (frame["status"] == "insufficient").any() else ""


def _by_tier(result: Any, ns: str, metric_id: str, y_title: str) -> tuple[Any, pl.DataFrame] | str:
    """One small panel per tier: five bands in one panel would hide each other."""
    frame = windows(result, metric_id, ns, variants=list(TIERS))
    if reason := unavailable(frame, "no items were open"):
        return reason
    drawn = frame.group_by("variant").agg(pl.col("estimate").is_not_null().any()).filter("estimate")["variant"]
    frame = frame.filter(pl.col("variant").is_in(drawn.implode()))
    frame = frame.with_columns(series=pl.col("variant").replace_strict(TIERS, default=pl.col("variant")))
    order = [t for t in TIERS.values() if t in frame["series"].to_list()]
    panel = window_series(frame, w=result.window, y_title=y_title, series_title="Tier", order=order,
                          y_domain=[0, 1], x_title=f"Session ({result.window}-session windows)").properties(
                              width=230, height=120)
    return panel.facet(facet=alt.Facet("series:N", title=None, sort=order), columns=3), frame


@figure("B1-read-receipts", ("B1",), "Share of writes that started from the latest baton, per {w}-session window")
def read_receipts(result: Any, ns: str) -> Built:
    frame = windows(result, "read_receipt_rate", ns, variants=["lineage"])
    if reason := unavailable(frame, "no v1 writes after the first snapshot"):
        return reason
    chart = window_series(frame, w=result.window, y_title="Share of writes with intact lineage")
    row = overall_row(result, "read_receipt_rate", ns, "lineage")
    caption = ("Line and band: share of writes whose parent_session is the previous snapshot's session (v1 lineage), "
               f"95% Wilson interval. {share_sentence(row, 'writes')} v2 writes need expected_revision, which only "
               "transcripts carry, so they are left out. The spiral: ≈ 100%." + _thin(frame))
    return chart, caption


@figure("B2-touch-rate", ("B2",), "Share of open items acted on in the session, by tier, per {w}-session window")
def touch_rate(result: Any, ns: str) -> Built:
    out = _by_tier(result, ns, "touch_rate", "Share touched")
    if isinstance(out, str):
        return out
    chart, frame = out
    row = overall_row(result, "touch_rate", ns, "all")
    caption = ("Each panel: share of items open at the start of a session whose state changes in it, pooled over the "
               f"window's item-sessions, 95% Wilson band (optimistic: clustered by item). All tiers: {interval(row, pct)}. "
               "High and stable is a baton that is read; low with growing inventory is a log nobody reads."
               + _thin(frame))
    return chart, caption


@figure("B3-carryover", ("B3",), "Share of items carried over unchanged to the next snapshot, by tier, per {w}-session window")
def carryover(result: Any, ns: str) -> Built:
    out = _by_tier(result, ns, "carryover_ratio", "Share unchanged")
    if isinstance(out, str):
        return out
    chart, frame = out
    caption = ("Each panel: items present and unchanged in the next snapshot ÷ items in the earlier one, 95% Wilson band. "
               "Loops should not linger (falling); decisions may stay high — they are meant to persist." + _thin(frame))
    return chart, caption


@figure("B4-net-closure", ("B4",), "Items closed with evidence per item opened, per {w}-session window (1 = inventory holds steady)")
def net_closure(result: Any, ns: str) -> Built:
    frame = windows(result, "net_closure_ratio", ns, variants=["ratio"])
    if reason := unavailable(frame, "no items were opened"):
        return reason
    chart = alt.layer(window_series(frame, w=result.window, y_title="Closed with evidence ÷ opened", fmt=".2f"),
                      hline(1.0, "1 = as many closed as opened"))
    row = overall_row(result, "net_closure_ratio", ns, "ratio")
    inv = overall_row(result, "net_closure_ratio", ns, "inventory")
    caption = ("Line and band: items closed with evidence (loops verified/failed, follow-ups closed, patterns "
               "graduated/dismissed, decisions superseded with a successor) ÷ items opened, exact conditional 95% "
               f"interval. {rate_sentence(row, 'closed per opened')} Mean open inventory: "
               f"{num((inv or {}).get('estimate'))} items per snapshot (per-window inventory is not in the results). "
               "The spiral: ≥ 1 sustained with bounded inventory." + _thin(frame))
    return chart, caption


@figure("B5-size-pressure", ("B5",), "Section size as a share of its v2 cap, per {w}-session window")
def size_pressure(result: Any, ns: str) -> Built:
    frame = windows(result, "baton_size_pressure", ns, variants=list(SECTIONS))
    if reason := unavailable(frame, "no snapshots"):
        return reason
    frame = frame.with_columns(series=pl.col("variant").replace_strict(SECTIONS))
    order = list(SECTIONS.values())
    chart = alt.layer(window_series(frame, w=result.window, y_title="Mean items per snapshot ÷ cap", series_title="Section",
                                    order=order), hline(1.0, "cap", BAD), hline(0.5, "open-loop target (10)"))
    collapses = overall_row(result, "baton_size_pressure", ns, "collapse_events") or {}
    caption = ("Lines: mean items per snapshot in the window ÷ the section's v2 cap (descriptive, no interval). "
               f"Collapse alarms (a section of ≥ 4 items losing more than half in one write): "
               f"{num(collapses.get('estimate'))} over the range. The spiral stays below the caps without collapses.")
    return chart, caption


@figure("B6-rework-rate", ("B6",), "Closed items that come back, per closure, per {w}-session window")
def rework(result: Any, ns: str) -> Built:
    frame = windows(result, "rework_rate", ns, variants=["per_closure"])
    if reason := unavailable(frame, "no items were closed"):
        return reason
    chart = window_series(frame, w=result.window, y_title="Reopenings per closure", fmt=".2f")
    row = overall_row(result, "rework_rate", ns, "per_closure")
    caption = ("Line and band: items reappearing or reverting from a terminal status ÷ closures in the window, 95% "
               f"Garwood interval. {rate_sentence(row, 'per closure')} Re-created loops cannot be matched (no target "
               "id), so rework is a lower bound. The spiral: falling." + _thin(frame))
    return chart, caption


@figure("B7-reverify-regressions", ("B7",), "Share of re-verified infra entries that came back failing, per {w}-session window")
def reverify(result: Any, ns: str) -> Built:
    frame = windows(result, "reverify_regression_rate", ns, variants=["share"])
    if reason := unavailable(frame, "no infra entry was re-verified"):
        return reason
    chart = window_series(frame, w=result.window, y_title="Share down or needing re-verification", style="points")
    row = overall_row(result, "reverify_regression_rate", ns, "share")
    caption = (f"Points: re-verifications of entries that were ok and came back down, 95% Wilson interval. "
               f"{share_sentence(row, 're-verifications')} Each is a caught regression (feeds L4); read with L9."
               + _thin(frame))
    return chart, caption


BUILDERS = (read_receipts, touch_rate, carryover, net_closure, size_pressure, rework, reverify)
