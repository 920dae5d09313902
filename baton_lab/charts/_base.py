"""Chart builders the families share, and the `figure` decorator that turns a builder into a Figure.

Conventions every builder keeps: intervals are drawn (band, error bar or rule), never only printed;
rows below the minimum n stay visible but hollow/faded with an "Evidence" legend; the session axis is
the baton's session index; data arrive pre-aggregated as small polars frames.
"""

from __future__ import annotations

import functools
import textwrap
import warnings
from typing import Any, Callable

import altair as alt
import polars as pl
from altair.utils.schemapi import debug_mode

from ._data import EVIDENCE
from ._figure import Figure
from ._text import title_lines
from ._theme import BAND_OPACITY, CATEGORY, MUTED, THIN_OPACITY, WIDTH

Built = tuple[Any, str] | str   # (chart, caption), or the reason there is nothing to draw


def figure(family: str, key: str, codes: tuple[str, ...], title: str) -> Callable:
    """Decorate `builder(result, namespace) -> Built` into `(result, namespace) -> Figure`.

    `title` may use {w} (the window width). A builder returning a string gets a text chart saying so;
    a builder that fails gets one naming the error (and a warning), so one odd metric never costs the
    report its other charts."""

    def wrap(builder: Callable[[Any, str], Built]) -> Callable[[Any, str], Figure]:
        @functools.wraps(builder)
        def build(result: Any, namespace: str) -> Figure:
            # altair validates every Scale, Axis, Legend, TitleParams... as it is built (its debug mode, on by
            # default): a third of drawing the charts. The tests validate every figure's whole spec instead.
            with debug_mode(False):
                return _build(builder, result, namespace)

        def _build(builder: Callable[[Any, str], Built], result: Any, namespace: str) -> Figure:
            text = title.format(w=result.window)
            try:
                out = builder(result, namespace)
            except Exception as exc:  # noqa: BLE001 - reported in the figure and as a warning
                warnings.warn(f"baton_lab.charts: {key} could not be drawn: {exc!r}", RuntimeWarning, stacklevel=3)
                out = f"This chart could not be drawn from these results ({type(exc).__name__}: {exc})."
            chart, caption = (note(out), out) if isinstance(out, str) else out
            # set on the builder's own (fresh) chart: copying a LayerChart, even shallowly, re-runs its __init__,
            # which deep-copies every layer twice (most of altair's cost in drawing a figure)
            chart.title = _title(chart, text)
            return Figure(key, codes, family, text, caption, chart, namespace)

        return build

    return wrap


def _title(chart: Any, text: str) -> alt.TitleParams:
    """The figure title, keeping a subtitle (and its style) the builder may have set."""
    own = getattr(chart, "title", alt.Undefined)
    if isinstance(own, alt.TitleParams):
        own = own.copy()
        own.text = title_lines(text)
        return own
    return alt.TitleParams(title_lines(text))


def note(message: str, width: int = WIDTH) -> alt.Chart:
    """A text-only chart: the reason a figure has nothing to draw."""
    lines = textwrap.wrap(message, 86) or [message]
    data = pl.DataFrame({"text": ["\n".join(lines)]})
    return (alt.Chart(data).mark_text(align="left", baseline="top", lineBreak="\n", fontSize=12, color=MUTED, x=0, y=4)
            .encode(text=alt.Text("text:N")).properties(width=width, height=18 * len(lines) + 8))


# -- shared encodings --------------------------------------------------------------------------------
# Channel classes (ColorValue, XDatum, X2("f:Q"), Text("f:N") ...) rather than alt.value()/alt.datum() dicts or
# bare "f:Q" strings: Altair turns dicts and strings into channels through from_dict, which hashes the whole
# Vega-Lite schema on every call (~10 ms each; 89 calls were a third of drawing the demo report's charts).

def evidence_fill() -> alt.FillOpacity:
    # Vega-Lite draws no legend for fillOpacity: evidence_point_opacity() carries the legend.
    return alt.FillOpacity("evidence:N", scale=alt.Scale(domain=EVIDENCE, range=[1, 0]), legend=None)


def evidence_point_opacity() -> alt.Opacity:
    return alt.Opacity("evidence:N", title="Evidence", scale=alt.Scale(domain=EVIDENCE, range=[1, 0.6]))


def evidence_opacity() -> alt.Opacity:
    return alt.Opacity("evidence:N", title="Evidence", scale=alt.Scale(domain=EVIDENCE, range=[0.9, THIN_OPACITY]))


def evidence_dash() -> alt.StrokeDash:
    return alt.StrokeDash("evidence:N", title="Evidence", scale=alt.Scale(domain=EVIDENCE, range=[[1, 0], [5, 3]]))


def series_color(title: str | None, order: list[str] | None) -> Any:
    if title is None:
        return alt.ColorValue(CATEGORY[0])
    # symbolOpacity: the legend takes its symbols from the first layer, often the faint interval band
    return alt.Color("series:N", title=title, sort=order, scale=alt.Scale(domain=order),
                     legend=alt.Legend(symbolOpacity=1))


def series_stroke(title: str | None, order: list[str] | None) -> Any:
    """The series colour as stroke, so a hollow (insufficient) point keeps its outline."""
    if title is None:
        return alt.StrokeValue(CATEGORY[0])
    return alt.Stroke("series:N", title=title, sort=order, scale=alt.Scale(domain=order))


def session_axis(frame: pl.DataFrame, title: str, field: str = "mid") -> alt.X:
    lo, hi = frame["start"].min(), frame["end"].max()
    domain = [lo - 0.5, hi + 0.5] if lo is not None else alt.Undefined
    return alt.X(f"{field}:Q", title=title, scale=alt.Scale(domain=domain, nice=False, zero=False),
                 axis=alt.Axis(format="d", tickMinStep=1))


def window_axis_title(w: int) -> str:
    return f"Session (each mark covers one {w}-session window)"


def hline(value: float, label: str | None = None, color: str = MUTED) -> alt.LayerChart | alt.Chart:
    rule = alt.Chart().mark_rule(strokeDash=[4, 3], color=color).encode(y=alt.YDatum(value))
    if label is None:
        return rule
    text = alt.Chart().mark_text(align="right", baseline="bottom", dy=-2, color=color, fontSize=10, x="width").encode(
        y=alt.YDatum(value), text=alt.TextDatum(label))
    return alt.layer(rule, text)


def tooltip(fmt: str) -> list:
    return [alt.Tooltip("window:N", title="Window"), alt.Tooltip("estimate:Q", title="Estimate", format=fmt),
            alt.Tooltip("ci_low:Q", title="95% CI low", format=fmt), alt.Tooltip("ci_high:Q", title="95% CI high", format=fmt),
            alt.Tooltip("evidence:N", title="Evidence")]


# -- builders ----------------------------------------------------------------------------------------

def window_series(frame: pl.DataFrame, *, w: int, y_title: str, fmt: str = ".0%", series_title: str | None = None,
                  order: list[str] | None = None, style: str = "line", y_domain: list[float] | None = None,
                  x_title: str | None = None) -> alt.LayerChart:
    """Per-window estimates over the session axis with hollow points for insufficient windows; `style`
    "line" (interval as an error band), "area" (filled, with band) or "points" (interval as error bars).
    `frame` comes from _data.windows, plus a `series` column when `series_title` is given."""
    x = session_axis(frame, x_title or window_axis_title(w))
    y = alt.Y("estimate:Q", title=y_title, axis=alt.Axis(format=fmt),
              scale=alt.Scale(domain=y_domain) if y_domain else alt.Undefined)
    color = series_color(series_title, order)
    # the frame goes to the layer, not to each part: altair would otherwise hash and copy every part to lift
    # the shared data up itself (the spec is the same)
    base = alt.Chart().encode(x=x)
    points = base.mark_point(filled=True).encode(y=y, color=color, stroke=series_stroke(series_title, order),
                                                 fillOpacity=evidence_fill(),
                                                 opacity=evidence_point_opacity(), tooltip=tooltip(fmt))
    if style == "points":
        bars = base.mark_errorbar(ticks=True).encode(y=alt.Y("ci_low:Q", title=y_title), y2=alt.Y2("ci_high:Q"), color=color)
        return alt.layer(bars, points, data=frame)
    band = base.mark_errorband(opacity=BAND_OPACITY).encode(y=alt.Y("ci_low:Q", title=y_title), y2=alt.Y2("ci_high:Q"),
                                                           color=color)
    body = (base.mark_area(opacity=0.3, line=True) if style == "area" else base.mark_line()).encode(y=y, color=color)
    return alt.layer(band, body, points, data=frame)


def window_bars(frame: pl.DataFrame, *, w: int, y_title: str, fmt: str = ".2f", overall: float | None = None,
                overall_label: str | None = None) -> alt.LayerChart:
    """One bar per window spanning its sessions, the 95% interval as a rule with ticks, faded bars for
    insufficient windows and an optional dashed line at the whole-range value."""
    spans = frame.with_columns(x0=pl.col("start") - 0.45, x1=pl.col("end") + 0.45, y0=pl.lit(0.0))
    base = alt.Chart(spans)
    # rect, not bar: a bar with x and x2 turns horizontal; a rect spans its window and its y range.
    bars = base.mark_rect().encode(x=session_axis(frame, window_axis_title(w), "x0"), x2=alt.X2("x1:Q"),
                                   y=alt.Y("y0:Q", title=y_title, axis=alt.Axis(format=fmt)), y2=alt.Y2("estimate:Q"),
                                   color=alt.ColorValue(CATEGORY[0]), opacity=evidence_opacity(), tooltip=tooltip(fmt))
    ci = base.mark_errorbar(ticks=True, color="#333333").encode(x=alt.X("mid:Q"), y=alt.Y("ci_low:Q", title=y_title),
                                                                 y2=alt.Y2("ci_high:Q"))
    layers = [bars, ci]
    if overall is not None:
        layers.append(hline(overall, overall_label))
    return alt.layer(*layers)


def stacked_window_bars(frame: pl.DataFrame, *, w: int, y_title: str, color_title: str, order: list[str],
                        colors: list[str], fmt: str = ".0%") -> alt.Chart:
    """Per-window parts stacked in `order` (frame: start, end, part, estimate, evidence, window)."""
    rank = {p: i for i, p in enumerate(order)}
    stacked = (frame.with_columns(rank=pl.col("part").replace_strict(rank, default=len(order)),
                                  x0=pl.col("start") - 0.45, x1=pl.col("end") + 0.45, value=pl.col("estimate").fill_null(0))
               .sort("start", "rank")
               .with_columns(y1=pl.col("value").cum_sum().over("start"))
               .with_columns(y0=pl.col("y1") - pl.col("value")))
    return alt.Chart(stacked).mark_rect().encode(
        x=session_axis(frame, window_axis_title(w), "x0"), x2=alt.X2("x1:Q"),
        y=alt.Y("y0:Q", title=y_title, axis=alt.Axis(format=fmt)), y2=alt.Y2("y1:Q"),
        color=alt.Color("part:N", title=color_title, sort=order, scale=alt.Scale(domain=order, range=colors)),
        opacity=evidence_opacity(), tooltip=[*tooltip(fmt), alt.Tooltip("part:N", title=color_title)])


def with_origin(frame: pl.DataFrame, start_value: float) -> pl.DataFrame:
    """Curves start at the first event time; a step curve should start at t = 0 at its initial value."""
    origin = frame.sort("time").group_by("series", maintain_order=True).first().with_columns(
        time=pl.lit(0.0), value=pl.lit(start_value), lower=pl.lit(start_value), upper=pl.lit(start_value))
    body = frame.filter(pl.col("time") > 0)
    return pl.concat([origin.select(body.columns), body]).sort("series", "time", maintain_order=True)


def step_curves(frame: pl.DataFrame, *, y_title: str, x_title: str, series_title: str | None, order: list[str] | None,
                fmt: str = ".0%", y_domain: list[float] | None = None) -> alt.LayerChart:
    """Step curves (Kaplan-Meier, Aalen-Johansen, MCF) with their 95% band; dashed when insufficient."""
    color = series_color(series_title, order)
    base = alt.Chart().encode(x=alt.X("time:Q", title=x_title, axis=alt.Axis(tickMinStep=1, format="d")))  # data: on the layer
    y = alt.Y("value:Q", title=y_title, axis=alt.Axis(format=fmt),
              scale=alt.Scale(domain=y_domain) if y_domain else alt.Undefined)
    band = base.mark_area(interpolate="step-after", opacity=BAND_OPACITY).encode(
        y=alt.Y("lower:Q", title=y_title), y2=alt.Y2("upper:Q"), color=color)
    line = base.mark_line(interpolate="step-after").encode(
        y=y, color=color, strokeDash=evidence_dash(),
        tooltip=[alt.Tooltip("series:N", title="Curve"), alt.Tooltip("time:Q", title="Sessions"),
                 alt.Tooltip("value:Q", title="Estimate", format=fmt), alt.Tooltip("at_risk:Q", title="At risk")])
    return alt.layer(band, line, data=frame)


def level_bars(frame: pl.DataFrame, *, x_title: str, label_title: str, order: list[str], fmt: str = ".0%",
               series_title: str | None = None, series_order: list[str] | None = None,
               target: float | None = None, target_color: str = MUTED) -> alt.LayerChart:
    """Whole-range estimates as horizontal bars (one per label; grouped by series when given) with the
    95% interval as a rule and faded bars for insufficient rows. `frame`: label, estimate, ci_low, ci_high,
    evidence[, series]."""
    # No axis title: the labels say what they are, and vl-convert under-measures long labels, so a
    # title would be drawn over them.
    y = alt.Y("label:N", title=None, sort=order, axis=alt.Axis(labelLimit=240))
    offset = alt.YOffset("series:N", sort=series_order, scale=alt.Scale(domain=series_order)) if series_title else alt.Undefined
    color = series_color(series_title, series_order)
    tip = [alt.Tooltip("label:N", title=label_title), alt.Tooltip("estimate:Q", title="Estimate", format=fmt),
           alt.Tooltip("ci_low:Q", title="95% CI low", format=fmt), alt.Tooltip("ci_high:Q", title="95% CI high", format=fmt)]
    if series_title:
        tip.insert(0, alt.Tooltip("series:N", title=series_title))
    base = alt.Chart(frame).encode(y=y, yOffset=offset)
    bars = base.mark_bar().encode(x=alt.X("estimate:Q", title=x_title, axis=alt.Axis(format=fmt),
                                          scale=alt.Scale(zero=True)), color=color,
                                  opacity=evidence_opacity(), tooltip=tip)
    ci = base.mark_rule(color="#333333", strokeWidth=1.5).encode(x=alt.X("ci_low:Q", title=x_title), x2=alt.X2("ci_high:Q"))
    layers = [bars, ci]
    if target is not None:
        layers.append(alt.Chart().mark_rule(color=target_color, strokeWidth=2).encode(x=alt.XDatum(target)))
    n_rows = len(order) * (len(series_order) if series_title and series_order else 1)
    return alt.layer(*layers, height=max(60, min(22 * n_rows, 640)))


def log_clamp(frame: pl.DataFrame) -> tuple[pl.DataFrame, float, float]:
    """Rate ratios on a log axis: 0 and ∞ cannot be placed, so they are drawn at the axis ends and flagged
    (`low_open` / `high_open`, shown as arrowheads). Returns the frame and the axis domain."""
    vals = [v for c in ("est", "lo", "hi") for v in frame[c].to_list() if v is not None and 0 < v < float("inf")]
    floor = min([*vals, 0.5]) / 3
    ceiling = max([*vals, 2.0]) * 3
    out = frame.with_columns(
        low_open=pl.col("lo") <= 0, high_open=pl.col("hi").is_infinite(),
        est_at=pl.when(pl.col("est") <= 0).then(pl.lit(floor)).when(pl.col("est").is_infinite()).then(pl.lit(ceiling))
        .otherwise(pl.col("est")),
        lo_at=pl.when(pl.col("lo") <= 0).then(pl.lit(floor)).otherwise(pl.col("lo")),
        hi_at=pl.when(pl.col("hi").is_infinite()).then(pl.lit(ceiling)).otherwise(pl.col("hi")),
        est_text=pl.Series([_ratio_text(v) for v in frame["est"]], dtype=pl.String),
        ci_text=pl.Series([f"[{_ratio_text(lo)}, {_ratio_text(hi)}]" for lo, hi in zip(frame["lo"], frame["hi"])],
                          dtype=pl.String),
    )
    return out, floor, ceiling


def _ratio_text(v: float | None) -> str:
    if v is None:
        return "–"
    return "∞" if v == float("inf") else f"{v:.3g}"


def forest(frame: pl.DataFrame, *, x_title: str, label_title: str, order: list[str], color_title: str,
           color_order: list[str], height_per_row: int = 18) -> alt.LayerChart:
    """Forest plot on a log x axis with a rule at RR = 1. `frame`: label, est, lo, hi, group (colour),
    pooled (bool: drawn as a diamond), evidence. Zero and infinite bounds become arrowheads at the ends."""
    data, floor, ceiling = log_clamp(frame)
    x_scale = alt.Scale(type="log", domain=[floor, ceiling], nice=False)
    y = alt.Y("label:N", title=None, sort=order, axis=alt.Axis(labelLimit=260))
    color = alt.Color("group:N", title=color_title, sort=color_order, scale=alt.Scale(domain=color_order))
    base = alt.Chart(data).encode(y=y, color=color)
    tip = [alt.Tooltip("label:N", title=label_title), alt.Tooltip("est_text:N", title="Rate ratio"),
           alt.Tooltip("ci_text:N", title="95% CI"), alt.Tooltip("evidence:N", title="Evidence")]
    ci = base.mark_rule(strokeWidth=1.5).encode(x=alt.X("lo_at:Q", title=x_title, scale=x_scale), x2=alt.X2("hi_at:Q"))
    stroke = alt.Stroke("group:N", title=color_title, sort=color_order, scale=alt.Scale(domain=color_order))
    point = base.transform_filter("!datum.pooled").mark_point(filled=True, size=50).encode(
        x=alt.X("est_at:Q", scale=x_scale), stroke=stroke, fillOpacity=evidence_fill(),
        opacity=evidence_point_opacity(), tooltip=tip)
    diamond = base.transform_filter("datum.pooled").mark_point(shape="diamond", filled=True, size=180).encode(
        x=alt.X("est_at:Q", scale=x_scale), stroke=stroke, fillOpacity=evidence_fill(),
        opacity=evidence_point_opacity(), tooltip=tip)
    low = base.transform_filter("datum.low_open").mark_point(shape="triangle-left", filled=True, size=40).encode(
        x=alt.X("lo_at:Q", scale=x_scale))
    high = base.transform_filter("datum.high_open").mark_point(shape="triangle-right", filled=True, size=40).encode(
        x=alt.X("hi_at:Q", scale=x_scale))
    one = alt.Chart().mark_rule(color=MUTED, strokeDash=[4, 3]).encode(x=alt.XDatum(1))
    return alt.layer(one, ci, point, diamond, low, high, height=max(80, height_per_row * len(order)))

