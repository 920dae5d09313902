"""Decision tier, D1–D4 (metrics.md §4.4). v2 batons have no decisions: those show a not-supported note."""

from __future__ import annotations

import functools
from typing import Any

import polars as pl

from . import _base
from ._base import Built, level_bars, window_bars
from ._curves import curve_figure
from ._data import levels, overall_row, series_order, unavailable, windows
from ._text import THIN_NOTE, interval, num, pct, rate_sentence, share_sentence

figure = functools.partial(_base.figure, "decisions")


def _thin(frame: pl.DataFrame) -> str:
    return " " + THIN_NOTE if (frame["status"] == "insufficient").any() else ""


@figure("D1-decision-lifetime", ("D1",), "Share of decisions still in force, by sessions since they were made")
def lifetime(result: Any, ns: str) -> Built:
    out = curve_figure(result, ns, "decision_lifetime", "lifetime", what="decisions",
                       y_title="Share not yet superseded", x_title="Sessions since the decision was first seen")
    if isinstance(out, str):
        return out
    return out[0], out[1] + (" Decisions still active or monitoring are censored; neither very short lives (churn) "
                             "nor no supersession at all (neglect) is the spiral — read with D2 and D3.")


@figure("D2-supersession-rate", ("D2",), "Decisions superseded per decision-session at risk, per {w}-session window")
def supersession(result: Any, ns: str) -> Built:
    frame = windows(result, "supersession_rate", ns, variants=["rate"])
    if reason := unavailable(frame, "no decisions were at risk of supersession"):
        return reason
    row = overall_row(result, "supersession_rate", ns, "rate")
    chart = window_bars(frame, w=result.window, y_title="Supersessions per decision-session", fmt=".3f",
                        overall=(row or {}).get("estimate"), overall_label="all sessions")
    caption = (f"Bars: supersessions ÷ live decisions at risk in the window; whiskers: 95% Garwood interval; dashed "
               f"line: the whole range. {rate_sentence(row, 'per decision-session')}" + _thin(frame))
    return chart, caption


@figure("D2-reversal-rate", ("D2",), "Share of supersessions that flip back to a rejected alternative, and that name their successor")
def reversals(result: Any, ns: str) -> Built:
    labels = {"reversal": "restores a rejected alternative (flip-flop)", "with_successor": "names a resolvable successor"}
    frame, grouped = levels(result, "reversal_rate", ns, variants=list(labels), labels=labels)
    if reason := unavailable(frame, "no decision was superseded"):
        return reason
    chart = level_bars(frame, x_title="Share of superseded decisions (95% Wilson)", label_title="Supersession",
                       order=list(labels.values()), series_title="Namespace" if grouped else None,
                       series_order=series_order(result, grouped, ns))
    row = overall_row(result, "reversal_rate", ns, "reversal")
    caption = (f"Bars: shares among superseded decisions, whole range, with 95% Wilson intervals. "
               f"{share_sentence(row, 'superseded decisions flip-flopped')} The spiral: few reversals, and "
               "supersessions that say what replaced them." + _thin(frame))
    return chart, caption


@figure("D3-evidence-quality", ("D3",), "Share of new decisions recorded with evidence and a rejected alternative, per {w}-session window")
def evidence_quality(result: Any, ns: str) -> Built:
    frame = windows(result, "decision_evidence_quality", ns, variants=["evidence_and_rejected"])
    if reason := unavailable(frame, "no decisions were first seen"):
        return reason
    chart = window_bars(frame, w=result.window, y_title="Share with evidence and a rejected option", fmt=".0%")
    row = overall_row(result, "decision_evidence_quality", ns, "evidence_and_rejected")
    mean = overall_row(result, "decision_evidence_quality", ns, "mean_evidence")
    caption = (f"Bars: share of decisions first seen in the window that carry ≥ 1 evidence item and ≥ 1 rejected "
               f"alternative as first written; whiskers: 95% Wilson interval. {share_sentence(row, 'decisions')} "
               f"Mean evidence items per decision: {num((mean or {}).get('estimate'))}. The spiral: rising."
               + _thin(frame))
    return chart, caption


@figure("D4-decision-linkage", ("D4",), "Referential integrity of links to and between decisions")
def linkage(result: Any, ns: str) -> Built:
    labels = {"loops_with_decision": "loops whose decision_ref resolves",
              "dangling_loop_refs": "loop decision_refs that resolve to nothing",
              "superseded_by_resolves": "superseded_by that resolves"}
    frame, grouped = levels(result, "decision_linkage", ns, variants=list(labels), labels=labels)
    if reason := unavailable(frame, "no loops or decisions"):
        return reason
    chart = level_bars(frame, x_title="Share (95% Wilson)", label_title="Link", order=list(labels.values()),
                       series_title="Namespace" if grouped else None, series_order=series_order(result, grouped, ns))
    dangling = overall_row(result, "decision_linkage", ns, "dangling_loop_refs")
    caption = ("Bars: whole-range shares with 95% Wilson intervals — loops linked to a known decision, loop links "
               f"that dangle (dangling: {interval(dangling, pct)}), and supersessions whose successor exists. The spiral: "
               "rising links, dangling ≈ 0." + _thin(frame))
    return chart, caption


BUILDERS = (lifetime, supersession, reversals, evidence_quality, linkage)
