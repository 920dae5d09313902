"""The jinja2 environments and the context both report templates share, so HTML and Markdown say the same."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import TYPE_CHECKING, Any

import jinja2
import polars as pl

from ..metrics.schema import POOLED
from ..prose.identity import NEAR as PROSE_NEAR, THRESHOLD as PROSE_THRESHOLD
from . import _format

if TYPE_CHECKING:
    from ._build import Report

VERDICT_LABEL = {"yes": "yes", "no": "no", "inconclusive": "inconclusive", "insufficient": "insufficient data"}
SOURCES_SHOWN = 40


def cell(value: Any) -> str:
    if isinstance(value, float):
        return _format.number(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return "" if value is None else str(value)


_MARKDOWN_ESCAPES = str.maketrans({c: "\\" + c for c in "\\`*_[]()!#|"} | {"&": "&amp;", "<": "&lt;", ">": "&gt;",
                                                                                  "\r": " ", "\n": " "})


def markdown_text(value: Any) -> str:
    """Baton text inside Markdown stays text: no HTML, no live link or image (a preview would fetch it), and
    no '|' that splits a table cell."""
    return str(value).translate(_MARKDOWN_ESCAPES)


@functools.cache
def environment(kind: str) -> jinja2.Environment:
    """`html`: autoescaped; `markdown`: text passes through |md."""
    env = jinja2.Environment(loader=jinja2.PackageLoader("baton_lab.report", "templates"),
                             autoescape=kind == "html", undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters.update(number=_format.number, estimate=_format.estimate, sample=_format.sample,
                       method=_format.method, cell_class=_format.cell_class, cell=cell, md=markdown_text)
    return env


def context(report: "Report") -> dict[str, Any]:
    counts = report.result.counts
    count_keys = list(next(iter(counts.values()), {}))
    occurrence_loss = report.result.rows.filter(
        pl.col("overall") & (pl.col("metric_id") == "occurrence_history_loss") & (pl.col("namespace") != POOLED))
    return {
        "report": report,
        "count_keys": count_keys,
        "totals": {k: sum(c[k] for c in counts.values()) for k in count_keys},
        "occurrence_loss": occurrence_loss.to_dicts(),
        "comparison_columns": [c for c in report.comparison.columns
                               if c not in ("question", "label", "code", "metric_id", "variant")],
        "verdict_label": VERDICT_LABEL,
        "pooled": POOLED,
        "sources_shown": SOURCES_SHOWN,
        "prose_threshold": PROSE_THRESHOLD,
        "prose_near": PROSE_NEAR,
    }


def render_markdown(report: "Report", *, png: bool = True) -> str:
    return environment("markdown").get_template("report.md.j2").render(context(report), png=png)
