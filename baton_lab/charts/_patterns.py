"""Experience tier — patterns → rules, P1–P9 (metrics.md §4.3)."""

from __future__ import annotations

import functools
from typing import Any

import altair as alt
import polars as pl

from ..metrics.stats import MIN_RATE_EXPOSURE, MIN_RATE_RATIO_EVENTS
from . import _base
from ._base import Built, forest, level_bars, window_series
from ._curves import curve_figure
from ._data import (ENOUGH, MAX_SERIES, POOLED, THIN, evidence, finite, levels, namespaces, overall_row, rows,
                    series_order, unavailable, windows)
from ._text import THIN_NOTE, interval, num, pct, rate_sentence
from ._theme import BAD, BAND_OPACITY, CATEGORY, MUTED

figure = functools.partial(_base.figure, "patterns")

MAX_PATTERNS = 40   # rows of a per-pattern chart before it stops being readable


def _thin(frame: pl.DataFrame) -> str:
    return " " + THIN_NOTE if (frame["status"] == "insufficient").any() else ""


def _items(result: Any, metric_id: str, ns: str) -> pl.DataFrame | None:
    items = result.items.get(metric_id)
    if items is None:
        return None
    return items if ns == POOLED else items.filter(pl.col("namespace") == ns)


def _pattern_label(ns: str) -> pl.Expr:
    # For the pool, ids repeat across namespaces ("pat-0001"), so the namespace is part of the label.
    return pl.format("{} / {}", pl.col("namespace"), pl.col("pattern_id")) if ns == POOLED else pl.col("pattern_id")


@figure("P1-recurrence-rate", ("P1",), "Pattern recurrences per pattern-session at risk, per {w}-session window")
def recurrence_rate(result: Any, ns: str) -> Built:
    frame = windows(result, "pattern_recurrence_rate", ns, variants=["pooled"])
    if reason := unavailable(frame, "no pattern was at risk of recurring"):
        return reason
    chart = window_series(frame, w=result.window, y_title="Recurrences per pattern-session", fmt=".2f")
    row = overall_row(result, "pattern_recurrence_rate", ns, "pooled") or {}
    caption = ("Line and band: occurrences after each pattern's first snapshot ÷ pattern-sessions at risk in the "
               f"window, 95% Garwood interval. {rate_sentence(row, 'per pattern-session')}"
               + (f" {row['note'].capitalize()}." if row.get("note") else "")
               + " The spiral wants this falling while new patterns (P3) do not simply replace old ones." + _thin(frame))
    return chart, caption


@figure("P1-recurrence-heatmap", ("P1",), "Pattern recurrence rate by namespace and {w}-session window")
def recurrence_heatmap(result: Any, ns: str) -> Built:
    names = namespaces(result) if ns == POOLED else [ns]
    if not names:
        return "No data: the store has no namespaces yet."
    frame = pl.concat([windows(result, "pattern_recurrence_rate", n, variants=["pooled"]) for n in names])
    if reason := unavailable(frame, "no pattern was at risk of recurring"):
        return reason
    # a row per namespace stays readable (and under Altair's row limit) only for so many namespaces
    busiest = (frame.group_by("namespace").agg(pl.col("numerator").sum()).sort("numerator", "namespace", descending=True)
               .head(MAX_HEATMAP_NAMESPACES)["namespace"].to_list())
    left_out = len(names) - len(busiest)
    names = [n for n in names if n in busiest]
    frame = frame.filter(pl.col("namespace").is_in(names))
    frame = frame.with_columns(x0=pl.col("start") - 0.5, x1=pl.col("end") + 0.5,
                               k=pl.col("numerator").cast(pl.Int64).cast(pl.String))
    x = _base.session_axis(frame, _base.window_axis_title(result.window), "x0")
    base = alt.Chart(frame).encode(x=x, x2=alt.X2("x1:Q"), y=alt.Y("namespace:N", title=None, sort=names))
    cells = base.mark_rect(stroke="white", strokeWidth=1).encode(
        color=alt.Color("estimate:Q", title="Recurrences per pattern-session", scale=alt.Scale(scheme="oranges")),
        opacity=_base.evidence_opacity(), tooltip=_base.tooltip(".3f") + [alt.Tooltip("numerator:Q", title="Occurrences")])
    text = alt.Chart(frame).mark_text(fontSize=10, color="#333333").encode(
        x=alt.X("mid:Q"), y=alt.Y("namespace:N", sort=names), text=alt.Text("k:N"))
    caption = ("Each cell is one namespace's recurrence rate in one window (colour) with its count of recurrences "
               "(number, when cells are wide enough); faded cells have too few pattern-sessions. The catalogue's "
               "pattern × window heatmap needs per-pattern counts per window, which the metric results do not carry "
               "— see P1 per pattern for whole-range rates."
               + (f" The {len(names)} namespaces with the most recurrences are shown; {left_out} more are in "
                  "tables/metrics." if left_out else ""))
    layers = [cells, text] if frame.height <= MAX_LABELLED_CELLS else [cells]
    return alt.layer(*layers, height=max(40, 28 * len(names))), caption


@figure("P1-recurrence-by-pattern", ("P1",), "Recurrences per session at risk for each pattern")
def recurrence_by_pattern(result: Any, ns: str) -> Built:
    items = _items(result, "pattern_recurrence_rate", ns)
    if items is None or items.height == 0:
        return "No data: no patterns" + ("." if ns == POOLED else f" in namespace {ns}.")
    ranked = items.filter(pl.col("rate").is_not_null()).sort("k", "e", descending=True)
    shown = finite(ranked.head(MAX_PATTERNS), "rate", "ci_low", "ci_high").with_columns(
        label=_pattern_label(ns),
        evidence=pl.when(pl.col("e") >= MIN_RATE_EXPOSURE).then(pl.lit(ENOUGH)).otherwise(pl.lit(THIN)))
    order = shown.sort("rate", descending=True)["label"].to_list()
    base = alt.Chart(shown).encode(y=alt.Y("label:N", title=None, sort=order, axis=alt.Axis(labelLimit=260)))
    ci = base.mark_rule(color=CATEGORY[0], strokeWidth=1.5).encode(
        x=alt.X("ci_low:Q", title="Recurrences per session at risk (95% Garwood interval)"), x2=alt.X2("ci_high:Q"))
    point = base.mark_point(filled=True, color=CATEGORY[0], size=45).encode(
        x=alt.X("rate:Q"), fillOpacity=_base.evidence_fill(), opacity=_base.evidence_point_opacity(),
        tooltip=["label:N", alt.Tooltip("k:Q", title="Recurrences"), alt.Tooltip("e:Q", title="Sessions at risk"),
                 alt.Tooltip("rate:Q", format=".3f")])
    cut = ranked.height - shown.height
    caption = (f"One row per pattern: recurrences after its first snapshot ÷ sessions at risk, with the 95% Garwood "
               f"interval; {shown.height} pattern(s) drawn" + (f", the {cut} with the fewest recurrences left out" if cut else "")
               + f". Hollow: fewer than {MIN_RATE_EXPOSURE} sessions at risk.")
    return alt.layer(ci, point, height=max(80, 16 * shown.height)), caption


@figure("P2-gap-survival", ("P2",), "Share of gaps between occurrences of a pattern not yet ended by a recurrence, by gap length")
def gap_survival(result: Any, ns: str) -> Built:
    out = curve_figure(result, ns, "inter_occurrence_interval", "gap", what="gaps",
                       y_title="Share of gaps still open", x_title="Sessions since the previous occurrence")
    if isinstance(out, str):
        return out
    # Other median rows (e.g. a cluster bootstrap over patterns) are reported by whatever name they carry.
    others = rows(result, "inter_occurrence_interval", ns, overall=True).filter(
        pl.col("variant").str.starts_with("gap_median") & (pl.col("variant") != "gap_median")
        & pl.col("ci_low").is_not_null())
    alt_ci = " ".join(f"Median {interval(r)} sessions with a {r['ci_method']} interval ({r['variant']})."
                      for r in others.iter_rows(named=True))
    return out[0], out[1] + (" The band treats the gaps of one pattern as independent, so it is optimistic. "
                             + (alt_ci + " " if alt_ci else "")
                             + "The spiral shifts this curve right (longer gaps), especially after graduation.")


@figure("P2-mean-cumulative", ("P2",), "Mean cumulative number of recurrences per pattern, by sessions since first seen")
def mean_cumulative(result: Any, ns: str) -> Built:
    out = curve_figure(result, ns, "inter_occurrence_interval", "mcf", what="patterns", median_variant="gap_median",
                       y_title="Mean recurrences per pattern", x_title="Sessions since the pattern was first seen",
                       start=0.0, fmt=".1f", estimator="Mean cumulative function (Nelson-Aalen)")
    if isinstance(out, str):
        return out
    return out[0], out[1] + (" Patterns leave the risk set when dismissed, removed or at the last snapshot; a curve "
                             "that flattens means patterns stop recurring.")


@figure("P3-new-patterns", ("P3",), "Cumulative number of new patterns over sessions")
def new_patterns(result: Any, ns: str) -> Built:
    names = namespaces(result)
    per_ns = ns == POOLED and 1 < len(names) <= MAX_SERIES
    frame = pl.concat([windows(result, "new_pattern_rate", n, variants=["rate"]) for n in (names if per_ns else [ns])])
    if reason := unavailable(frame, "no sessions after the first snapshot"):
        return reason
    frame = frame.sort("namespace", "start").with_columns(
        total=pl.col("numerator").cum_sum().over("namespace"), series=pl.col("namespace"))
    origin = frame.group_by("namespace", maintain_order=True).first().with_columns(
        end=pl.col("start") - 1, total=pl.lit(0.0))
    frame = pl.concat([origin, frame]).sort("namespace", "end")
    color = _base.series_color("Namespace" if per_ns else None, names if per_ns else None)
    chart = alt.Chart(frame).mark_line(point=True).encode(
        x=alt.X("end:Q", title="Session", axis=alt.Axis(format="d", tickMinStep=1)),
        y=alt.Y("total:Q", title="New patterns so far"), color=color,
        tooltip=["namespace:N", alt.Tooltip("end:Q", title="Up to session"), alt.Tooltip("total:Q", title="New patterns")])
    trend = overall_row(result, "new_pattern_rate", ns, "trend")
    rate = overall_row(result, "new_pattern_rate", ns, "rate")
    caption = ("Running count of new pattern ids at the end of each window (patterns in the first snapshot excluded)"
               f"{', one line per namespace' if per_ns else ''}. {rate_sentence(rate, 'new patterns per session')} "
               f"Theil–Sen slope of the per-window rate: {interval(trend)} per window. A saturating curve with falling "
               "P1 is the spiral; a straight line with flat recurrence is a log of new mistakes.")
    return chart, caption


@figure("P4-graduation-funnel", ("P4",), "How patterns move from first seen to rule candidate to graduated or dismissed")
def funnel(result: Any, ns: str) -> Built:
    cand = overall_row(result, "graduation_funnel", ns, "candidate_share")
    grad = overall_row(result, "graduation_funnel", ns, "graduated_share")
    dism = overall_row(result, "graduation_funnel", ns, "dismissed_share")
    if not cand or not cand.get("denominator"):
        return unavailable(rows(result, "graduation_funnel", ns, overall=True), "no patterns were first seen") \
            or "No data: no patterns were first seen."
    stages = pl.DataFrame({
        "stage": ["first seen", "reached rule_candidate", "graduated", "dismissed"],
        "n": [cand["denominator"], cand["numerator"], (grad or {}).get("numerator") or 0.0, (dism or {}).get("numerator") or 0.0],
        "text": [f"{num(cand['denominator'])} patterns",
                 f"{num(cand['numerator'])} · {interval(cand, pct)} of first seen",
                 f"{num((grad or {}).get('numerator'))} · {interval(grad, pct)} of candidates",
                 f"{num((dism or {}).get('numerator'))} · {interval(dism, pct)} of candidates"],
        "rank": [0, 1, 2, 3]})
    order = stages["stage"].to_list()
    base = alt.Chart(stages).encode(y=alt.Y("stage:N", title=None, sort=order))
    bars = base.mark_bar(color=CATEGORY[0]).encode(
        x=alt.X("n:Q", title="Patterns", scale=alt.Scale(domain=[0, stages["n"].max() * 2.1])),
        color=alt.Color("stage:N", legend=None, sort=order,
                        scale=alt.Scale(domain=order, range=[MUTED, CATEGORY[4], CATEGORY[2], CATEGORY[5]])))
    text = base.mark_text(align="left", dx=4).encode(x=alt.X("n:Q"), text=alt.Text("text:N"))
    funnel_chart = alt.layer(bars, text, width=340, height=130)
    shares, grouped = levels(result, "graduation_funnel", ns,
                             labels={"candidate_share": "candidate / first seen", "graduated_share": "graduated / candidate",
                                     "dismissed_share": "dismissed / candidate"})
    conv = level_bars(shares, x_title="Conversion (95% Wilson)", label_title="Conversion",
                      order=["candidate / first seen", "graduated / candidate", "dismissed / candidate"],
                      series_title="Namespace" if grouped else None,
                      series_order=series_order(result, grouped, ns)).properties(width=220)
    waiting = (grad or {}).get("n_censored")
    caption = ("Left: stage counts for patterns first seen in the range, with each conversion and its 95% Wilson "
               "interval; right: the conversions with their intervals" + (", per namespace" if grouped else "") + ". "
               + (f"{num(waiting)} candidate(s) are still waiting (in progress; P5 times them). " if waiting else "")
               + "The spiral: non-zero graduation with some dismissals, and no growing candidate backlog.")
    # independent colours: the stage colours on the left are not the namespace colours on the right
    return alt.hconcat(funnel_chart, conv, spacing=24).resolve_scale(color="independent"), caption


def _p5(metric_id: str, variant: str, y_title: str, x_title: str, what: str, extra: str = "") -> Any:
    def build(result: Any, ns: str) -> Built:
        out = curve_figure(result, ns, metric_id, variant, what=what, y_title=y_title, x_title=x_title)
        return out if isinstance(out, str) else (out[0], out[1] + extra)
    return build


time_to_candidate = figure("P5-time-to-candidate", ("P5",), "Share of patterns that became rule candidates, by sessions since first seen")(
    _p5("time_to_candidate", "candidate", "Share that became candidates", "Sessions since the pattern was first seen",
        "patterns", " Dismissal or removal first competes; patterns already in the first snapshot are excluded."))
time_to_graduation = figure("P5-time-to-graduation", ("P5",), "Share of rule candidates graduated, by sessions since becoming a candidate")(
    _p5("time_to_graduation", "graduation", "Share graduated", "Sessions since the pattern became a candidate",
        "candidates", " Dismissal or removal first competes."))
gate_latency = figure("P5-gate-latency", ("P5",), "Share of llm-derived rule candidates confirmed by a human, by sessions waited")(
    _p5("gate_latency", "gate", "Share confirmed by a human", "Sessions since the pattern became a candidate",
        "llm-derived candidates", " Graduating unconfirmed (a P7 violation), dismissal or removal compete. Graduation is "
        "practical if the median stays within the pre-registered latency."))


@figure("P6-rule-effectiveness", ("P6",), "Recurrence after graduation relative to before, per pattern and pooled (rate ratio, log scale)")
def rule_effectiveness(result: Any, ns: str) -> Built:
    items = _items(result, "rule_effectiveness", ns)
    pooled = rows(result, "rule_effectiveness", ns, variants=["rr_graduated", "rr_control", "rr_vs_control"], overall=True)
    if (items is None or items.height == 0) and pooled["estimate"].is_null().all():
        return unavailable(pooled, "no pattern crossed its threshold") or "No data: no pattern crossed its threshold."
    arms = {"graduated": "graduated patterns", "control": "crossed, never graduated (RTM control)",
            "rr_vs_control": "graduated ÷ control"}
    per = (items if items is not None else pl.DataFrame(schema={"namespace": pl.String, "pattern_id": pl.String,
                                                                "arm": pl.String, "rr": pl.Float64, "rr_low": pl.Float64,
                                                                "rr_high": pl.Float64, "k_before": pl.Int64,
                                                                "k_after": pl.Int64}))
    estimable = per.filter(pl.col("rr").is_not_null() & pl.col("rr_low").is_not_null())
    # one row per pattern is readable (and renderable) for dozens, not thousands: keep the best-informed
    informed = estimable.sort(pl.col("k_before") + pl.col("k_after"), "pattern_id", descending=[True, False])
    drawn = informed.head(MAX_PATTERNS).select(
        label=_pattern_label(ns), group=pl.col("arm").replace_strict(arms, default=pl.col("arm")), pooled=pl.lit(False),
        est="rr", lo="rr_low", hi=pl.col("rr_high").fill_null(float("inf")),
        evidence=pl.when(pl.col("k_before") >= MIN_RATE_RATIO_EVENTS).then(pl.lit(ENOUGH)).otherwise(pl.lit(THIN)),
        rank=pl.col("arm").replace_strict({"graduated": 0, "control": 1}, default=2))
    summary = pooled.filter(pl.col("estimate").is_not_null() & pl.col("ci_low").is_not_null()).with_columns(evidence()).select(
        label=pl.format("pooled: {}", pl.col("variant").replace_strict(arms | {"rr_graduated": "graduated patterns",
                                                                                "rr_control": "RTM control"},
                                                                        default=pl.col("variant"))),
        group=pl.col("variant").replace_strict({"rr_graduated": arms["graduated"], "rr_control": arms["control"],
                                                "rr_vs_control": arms["rr_vs_control"]}, default=pl.col("variant")),
        pooled=pl.lit(True), est="estimate", lo="ci_low", hi=pl.col("ci_high").fill_null(float("inf")), evidence="evidence",
        rank=pl.lit(3))
    frame = pl.concat([drawn.sort("rank", "est"), summary], how="vertical_relaxed")
    if frame.height == 0:
        return "No data: no pattern had occurrences both before and after graduation."
    chart = forest(frame.drop("rank"), x_title="Rate ratio after ÷ before graduation (log scale; left of 1: the rule works)",
                   label_title="Pattern", order=frame["label"].to_list(), color_title="Arm",
                   color_order=list(arms.values()), height_per_row=16)
    g = overall_row(result, "rule_effectiveness", ns, "rr_graduated")
    vs = overall_row(result, "rule_effectiveness", ns, "rr_vs_control")
    omitted = per.height - estimable.height
    not_shown = estimable.height - drawn.height
    caption = ("Points: each pattern's recurrence rate after graduation ÷ before it (before = after the threshold "
               "crossing), exact conditional 95% interval; arrowheads mark intervals that reach 0 or ∞; hollow points "
               f"have fewer than {MIN_RATE_RATIO_EVENTS} occurrences before. Diamonds: pooled rate ratios (conditional "
               f"likelihood with pattern strata). Pooled graduated RR {interval(g)}; beyond the regression-to-the-mean "
               f"control {interval(vs)}. The spiral needs the pooled upper bound below 1 and below the control."
               + (f" {omitted} pattern(s) with no occurrences before or after are not drawn." if omitted else "")
               + (f" The {MAX_PATTERNS} patterns with the most occurrences are drawn; {not_shown} more are in "
                  "tables/items_rule_effectiveness." if not_shown else ""))
    return chart, caption


@figure("P6-event-study", ("P6",), "Recurrences per pattern-session in the sessions before and after graduation")
def event_study(result: Any, ns: str) -> Built:
    frame = result.curves.get("rule_effectiveness")
    frame = None if frame is None else finite(frame.filter(pl.col("namespace") == ns, pl.col("variant") == "event_study"),
                                              "value", "lower", "upper")
    if frame is None or frame.height == 0:
        return "No data: no pattern graduated" + ("." if ns == POOLED else f" in namespace {ns}.")
    base = alt.Chart(frame).encode(x=alt.X("time:Q", title="Sessions relative to graduation (0 = graduation snapshot)",
                                           axis=alt.Axis(format="d", tickMinStep=1)))
    band = base.mark_errorband(opacity=BAND_OPACITY, color=CATEGORY[0]).encode(
        y=alt.Y("lower:Q", title="Recurrences per pattern-session"), y2=alt.Y2("upper:Q"))
    line = base.mark_line(point=True, color=CATEGORY[0]).encode(
        y=alt.Y("value:Q"), tooltip=[alt.Tooltip("time:Q", title="s − s_grad"), alt.Tooltip("value:Q", format=".3f"),
                              alt.Tooltip("at_risk:Q", title="Patterns at risk")])
    zero = alt.Chart().mark_rule(color=MUTED, strokeDash=[4, 3]).encode(x=alt.XDatum(0))
    who = "all namespaces' graduated patterns, each aligned at its own graduation" if ns == POOLED else "graduated patterns"
    caption = (f"Rate per pattern-session at each offset from graduation ({who}), 95% Garwood band; the number of "
               f"patterns at risk ranges {num(frame['at_risk'].min())}–{num(frame['at_risk'].max())}. A drop after 0 "
               "that the RTM control (P6 forest) does not show is the rule's effect.")
    return alt.layer(band, line, zero), caption


@figure("P7-gate-violations", ("P7",), "Share of graduated patterns with an Anti-Ouroboros gate violation, by type (target 0)")
def violations(result: Any, ns: str) -> Built:
    labels = {"hard": "graduated while llm-derived", "laundering": "tier flipped by an agent on graduation",
              "same_session": "candidate and graduated in one session", "any": "any violation"}
    frame, grouped = levels(result, "anti_ouroboros_violations", ns, variants=list(labels), labels=labels)
    if reason := unavailable(frame, "no pattern graduated"):
        return reason
    chart = level_bars(frame, x_title="Share of graduated patterns (95% Clopper-Pearson)", label_title="Violation",
                       order=list(labels.values()), series_title="Namespace" if grouped else None,
                       series_order=series_order(result, grouped, ns), target=0, target_color=BAD)
    hard = overall_row(result, "anti_ouroboros_violations", ns, "hard") or {}
    caption = (f"Bars: share of graduated patterns with each violation type, exact 95% interval; the red rule is the "
               f"target, 0. Hard violations: {num(hard.get('numerator'))} of {num(hard.get('denominator'))} graduated "
               "patterns. Laundering needs a writer (v2 _meta.last_written_by): v1 snapshots cannot show it."
               + _thin(frame))
    return chart, caption


@figure("P8-rule-provenance", ("P8",), "Provenance of graduated rules: human-confirmed, raw source, or neither")
def provenance(result: Any, ns: str) -> Built:
    frame, grouped = levels(result, "rule_provenance_share", ns, variants=["human_confirmed", "raw_source"])
    if reason := unavailable(frame, "no pattern graduated"):
        return reason
    wide = frame.pivot(on="variant", index="series", values="estimate", aggregate_function="first")
    for col in ("human_confirmed", "raw_source"):
        if col not in wide.columns:
            wide = wide.with_columns(pl.lit(0.0).alias(col))
    parts = {"human_confirmed": "human-confirmed", "raw_source": "raw source", "other": "neither (llm-derived)"}
    wide = wide.with_columns(pl.col("human_confirmed", "raw_source").fill_null(0.0)).with_columns(
        other=(1 - pl.col("human_confirmed") - pl.col("raw_source")).clip(0, 1))
    long = wide.unpivot(index="series", on=list(parts), variable_name="part", value_name="share").with_columns(
        rank=pl.col("part").replace_strict({k: i for i, k in enumerate(parts)}), label=pl.col("part").replace_strict(parts))
    long = long.sort("series", "rank").with_columns(x1=pl.col("share").cum_sum().over("series")).with_columns(
        x0=pl.col("x1") - pl.col("share"))
    long = long.join(frame.filter(pl.col("variant") == "human_confirmed").select("series", "evidence"), on="series", how="left")
    order = series_order(result, grouped, ns)
    y = alt.Y("series:N", title=None, sort=order)
    stack = alt.Chart(long).mark_bar().encode(
        y=y, x=alt.X("x0:Q", title="Share of graduated patterns", axis=alt.Axis(format=".0%"), scale=alt.Scale(domain=[0, 1])),
        x2=alt.X2("x1:Q"), color=alt.Color("label:N", title="Source tier", sort=list(parts.values()),
                                   scale=alt.Scale(domain=list(parts.values()), range=[CATEGORY[2], CATEGORY[4], "#d9d9d9"])),
        opacity=_base.evidence_opacity(), tooltip=["series:N", "label:N", alt.Tooltip("share:Q", format=".0%")])
    human = frame.filter(pl.col("variant") == "human_confirmed")
    ci = alt.Chart(human).mark_errorbar(ticks=True, color="#333333").encode(
        y=alt.Y("series:N", sort=order), x=alt.X("ci_low:Q", title="Share of graduated patterns"), x2=alt.X2("ci_high:Q"))
    ent = overall_row(result, "rule_provenance_share", ns, "category_entropy") or {}
    entropy = (f"Category diversity of graduated rules: {interval(ent)} nats." if ent.get("estimate") is not None
               else f"Category diversity: {(ent.get('note') or 'not estimable').removeprefix('not supported: ')}.")
    caption = ("Stacked bars: each graduated rule's last source tier; the black interval is the 95% Wilson interval of "
               f"the human-confirmed share. The spiral keeps it at 100%. {entropy}" + _thin(frame))
    return alt.layer(stack, ci, height=max(40, 26 * len(order))), caption


@figure("P9-history-loss", ("P9",), "Share of frequent patterns whose early occurrences cannot be placed in a session (target 0)")
def history_loss(result: Any, ns: str) -> Built:
    frame, grouped = levels(result, "occurrence_history_loss", ns, variants=["share"],
                            labels={"share": "history not recoverable"})
    if reason := unavailable(frame, "no pattern occurred more than 5 times"):
        return reason
    chart = level_bars(frame, x_title="Share of patterns with count > 5 (95% Wilson)", label_title="Patterns",
                       order=["history not recoverable"], series_title="Namespace" if grouped else None,
                       series_order=series_order(result, grouped, ns), target=0, target_color=BAD)
    row = overall_row(result, "occurrence_history_loss", ns, "share")
    caption = (f"Share of patterns counted more than 5 times with occurrences that snapshot diffs cannot place "
               f"(over all sessions: {interval(row, pct)} of {num((row or {}).get('denominator'))}). Must be ≈ 0 before "
               "P1, P2 and P6 are trusted." + _thin(frame))
    return chart, caption


MAX_HEATMAP_NAMESPACES = 30
MAX_LABELLED_CELLS = 600

BUILDERS = (recurrence_rate, recurrence_heatmap, recurrence_by_pattern, gap_survival, mean_cumulative, new_patterns,
            funnel, time_to_candidate, time_to_graduation, gate_latency, rule_effectiveness, event_study, violations,
            provenance, history_loss)
