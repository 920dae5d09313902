"""The spiral index (metrics.md §4.6): one diverging bar per component vote, under the SI headline."""

from __future__ import annotations

import functools
from typing import Any

import altair as alt
import polars as pl

from ..metrics.registry import REGISTRY, resolve
from . import _base
from ._base import Built
from ._data import POOLED, finite, namespaces, rows
from ._text import num
from ._theme import BAD, GOOD, NEUTRAL

figure = functools.partial(_base.figure, "spiral")

VOTES = {1: "CI entirely in the good direction (+1)", 0: "inconclusive (0)", -1: "CI entirely in the bad direction (−1)"}
DIRECTIONS = {"up": "↑", "down": "↓", "<1": "< 1", "=0": "= 0", ">=1": "≥ 1", ">1": "> 1"}
ZERO_HALF_WIDTH = 0.08   # an inconclusive vote still gets a visible (grey) bar
HEADLINE = "Spiral index"
TEXT_AT = 1.2            # x (in vote units) where each component's estimate is written


def _components(result: Any, ns: str) -> pl.DataFrame | None:
    table = result.items.get("spiral_index")
    if table is None:
        return None
    return finite(table.filter(pl.col("namespace") == ns), "estimate", "ci_low", "ci_high")


def _label(metric_id: str, variant: str, direction: str) -> str:
    m = REGISTRY.get(metric_id)
    code, title = (m.code, m.title) if m else ("", metric_id)
    return f"{code} {DIRECTIONS.get(direction, direction)}  {title}"


def _value_text(row: dict) -> str:
    est, lo, hi = row["estimate"], row["ci_low"], row["ci_high"]
    trend = "theil" in (row.get("method") or "").lower()
    head = f"slope {est:+.3g}/window" if trend and est is not None else num(est)
    return head + (f" [{lo:.3g}, {hi:.3g}]" if lo is not None and hi is not None else " (no conclusive CI)")


def _headline(result: Any, ns: str) -> str:
    si = rows(result, "spiral_index", ns, overall=True).filter(~pl.col("variant").str.starts_with("component:"))
    main = si.filter(pl.col("variant") == "si")
    if main.height == 0 or main["estimate"][0] is None:
        return "Spiral index: not computed"
    row = main.row(0, named=True)
    bounds = f" [{row['ci_low']:+.2f}, {row['ci_high']:+.2f}]" if row["ci_low"] is not None and row["ci_high"] is not None else ""
    # the note (k, conclusive votes, how the interval was made) can be long: it goes to the caption
    text = f"SI = {row['estimate']:+.2f}{bounds}"
    # Further SI rows (e.g. a bootstrap interval) are shown as they come, whatever their variant name.
    extra = [f"{r['variant']}: {num(r['estimate'])} [{num(r['ci_low'])}, {num(r['ci_high'])}]"
             for r in si.filter(pl.col("variant") != "si").iter_rows(named=True) if r["estimate"] is not None]
    return text + ("   ·   " + "; ".join(extra) if extra else "")


@figure("SI-spiral-index", ("SI",), "Spiral index: which pre-registered components moved in the good direction, conclusively")
def spiral_index(result: Any, ns: str) -> Built:
    resolve(None)  # loads the catalogue so component titles come from the registry
    table = _components(result, ns)
    if table is None or table.height == 0:
        return "No data: the spiral index was not computed" + ("." if ns == POOLED else f" for namespace {ns}.")
    bars = table.with_columns(
        label=pl.struct("metric_id", "variant", "direction").map_elements(
            lambda r: _label(r["metric_id"], r["variant"], r["direction"]), return_dtype=pl.String),
        value=pl.struct("estimate", "ci_low", "ci_high", "method").map_elements(_value_text, return_dtype=pl.String),
        vote=pl.col("score").replace_strict(VOTES, default="inconclusive (0)"),
        x0=pl.when(pl.col("score") == 0).then(-ZERO_HALF_WIDTH).otherwise(0.0),
        x1=pl.when(pl.col("score") == 0).then(ZERO_HALF_WIDTH).otherwise(pl.col("score").cast(pl.Float64)),
        counted=pl.when(pl.col("used")).then(pl.lit("counted")).otherwise(pl.lit("not counted (L2 coverage falling)")),
    ).with_columns(value=pl.when(pl.col("used")).then(pl.col("value")).otherwise(pl.col("value") + " — not counted"))
    order = [HEADLINE, *bars["label"].to_list()]
    y = alt.Y("label:N", title=None, sort=order, axis=alt.Axis(labelLimit=330))
    base = alt.Chart(bars).encode(y=y)
    vote = base.mark_bar(height=14).encode(
        x=alt.X("x0:Q", title="Vote", scale=alt.Scale(domain=[-1.05, TEXT_AT + 2.2]),
                axis=alt.Axis(values=[-1, 0, 1], labelExpr="datum.value > 0 ? '+1' : datum.value < 0 ? '−1' : '0'")),
        x2=alt.X2("x1:Q"),
        color=alt.Color("vote:N", title="Component vote", sort=list(VOTES.values()),
                        scale=alt.Scale(domain=list(VOTES.values()), range=[GOOD, NEUTRAL, BAD])),
        opacity=alt.Opacity("counted:N", title=None, scale=alt.Scale(domain=["counted", "not counted (L2 coverage falling)"],
                                                                     range=[1, 0.35])),
        tooltip=["label:N", "value:N", "method:N", "vote:N"])
    # Estimates sit inside the plot, right of the +1 gridline, so the legend cannot cover them.
    text = base.mark_text(align="left", fontSize=10, color="#444444").encode(x=alt.XDatum(TEXT_AT), text=alt.Text("value:N"))
    zero = base.mark_tick(color="#888888", thickness=1, size=22).encode(x=alt.XDatum(0))
    # The headline is a row of its own above the votes, so it lines up with the component labels.
    head = alt.Chart(pl.DataFrame({"label": [HEADLINE], "t": [_headline(result, ns)]})).mark_text(
        align="left", fontSize=14, fontWeight=600, color="#222222").encode(y=y, x=alt.XDatum(-1.05), text=alt.Text("t:N"))
    body = alt.layer(vote, zero, text, head, width=560, height=22 * len(order))
    used = bars.filter("used")
    good, bad = int((used["score"] > 0).sum()), int((used["score"] < 0).sum())
    caption = (f"SI = Σ votes ÷ k over the {used.height} counted components ({good} good, {bad} bad, "
               f"{used.height - good - bad} inconclusive). A trend component votes by the 95% Theil–Sen CI of its "
               "per-window series; a level component by the CI of its whole-range estimate (P7 > 0 is an automatic "
               "−1). Vote counting ignores magnitude, so the numbers on the right — estimate and interval — are part "
               "of the reading; SI > 0 with at least half the components conclusive, P6 below its RTM control and L6 "
               "low is the spiral, anything else is not yet distinguishable from a log.")
    si = rows(result, "spiral_index", ns, overall=True).filter(pl.col("variant") == "si")
    if si.height and si["note"][0]:
        caption += f" Index: {si['note'][0].rstrip('.')}."
    return body, caption


@figure("SI-by-namespace", ("SI",), "Spiral index component votes in each namespace")
def by_namespace(result: Any, ns: str) -> Built:
    table = result.items.get("spiral_index")
    if table is None or table.height == 0:
        return "No data: the spiral index was not computed."
    resolve(None)
    names = [*namespaces(result), POOLED]
    grid = table.filter(pl.col("namespace").is_in(names)).with_columns(
        label=pl.struct("metric_id", "variant", "direction").map_elements(
            lambda r: _label(r["metric_id"], r["variant"], r["direction"]), return_dtype=pl.String),
        vote=pl.col("score").replace_strict(VOTES, default="inconclusive (0)"),
        mark=pl.col("score").replace_strict({1: "+", 0: "0", -1: "−"}, default="0", return_dtype=pl.String))
    si = rows(result, "spiral_index", names, variants=["si"], overall=True).select(
        "namespace", label=pl.lit("SI = Σ votes ÷ k"), mark=pl.col("estimate").map_elements(lambda v: f"{v:+.2f}",
                                                                                            return_dtype=pl.String))
    order = grid["label"].unique(maintain_order=True).to_list() + ["SI = Σ votes ÷ k"]
    x = alt.X("namespace:N", title=None, sort=names, axis=alt.Axis(labelAngle=-30, orient="top"))
    y = alt.Y("label:N", title=None, sort=order, axis=alt.Axis(labelLimit=330))
    cells = alt.Chart(grid).mark_rect(stroke="white", strokeWidth=2).encode(
        x=x, y=y, color=alt.Color("vote:N", title="Component vote", sort=list(VOTES.values()),
                                  scale=alt.Scale(domain=list(VOTES.values()), range=[GOOD, NEUTRAL, BAD])),
        tooltip=["namespace:N", "label:N", "vote:N"])
    marks = alt.Chart(grid).mark_text(color="white", fontWeight=600).encode(x=x, y=y, text=alt.Text("mark:N"))
    totals = alt.Chart(si).mark_text(fontWeight=600).encode(x=x, y=y, text=alt.Text("mark:N"))
    caption = ("Each cell is one component's vote in one namespace (green +1, grey 0, red −1); the last row is the "
               "namespace's SI. The pooled column votes on pooled counts, not on the namespaces' votes.")
    return alt.layer(cells, marks, totals, width=48 * len(names), height=22 * len(order)), caption


def builders(namespace: str) -> tuple:
    # the per-namespace grid compares namespaces, so it belongs to the pooled view only
    return (spiral_index, by_namespace) if namespace == POOLED else (spiral_index,)
