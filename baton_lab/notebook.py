"""Helpers for research notebooks: numbers for prose (the shared formatter of `baton_lab.formatting`), the
overall rows of a metric, and figures picked by key.

    from baton_lab.notebook import MetricView, fmt, show, with_ci
    view = MetricView(lab.metrics(), labels={"healthy-loop-001": "healthy-loop"})
    row = view.row("L6", "share", "healthy-loop-001")
    f"{with_ci(row, pct=True)}"                   # '4.5% [1.9%, 10.2%]'
    show(charts.loops(result, "(pooled)"), "L6-")  # display the figures whose key starts with L6-
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import polars as pl

from . import formatting

if TYPE_CHECKING:
    from .charts import Figure
    from .metrics import MetricResult

POOLED = "(pooled)"
READER_COLUMNS = ("variant", "numerator", "denominator", "exposure", "estimate", "ci_low", "ci_high", "status")


def fmt(value: float | None, pct: bool = False, digits: int = 2) -> str:
    """A number for prose with `digits` decimals ('–' when missing, '∞' when infinite); a share as a
    percentage with one decimal fewer."""
    return formatting.number(value, max(digits - 1, 0) if pct else digits, pct=pct, fixed=True)


def with_ci(row: Mapping[str, Any], pct: bool = False, digits: int = 2) -> str:
    """'estimate [low, high]' from a MetricRows row, formatted as `fmt` does."""
    return formatting.with_ci(row, max(digits - 1, 0) if pct else digits, pct=pct, fixed=True)


class MetricView:
    """The all-sessions rows of a `MetricResult`, with an optional label (e.g. the simulator preset) per namespace."""

    def __init__(self, result: "MetricResult", labels: Mapping[str, str] | None = None, label_name: str = "preset"):
        self.result, self.labels, self.label_name = result, dict(labels or {}), label_name

    def overall(self, metric_id: str, variant: str | None = None) -> pl.DataFrame:
        """One metric's (id or code) overall rows, one per namespace and variant, the pool last."""
        rows = self.result.metric(metric_id).filter(pl.col("overall"))
        if variant is not None:
            rows = rows.filter(pl.col("variant") == variant)
        return rows.sort(pl.col("namespace") == POOLED, "namespace", "variant")

    def row(self, metric_id: str, variant: str, namespace: str) -> dict[str, Any]:
        """One overall row as a dict."""
        rows = self.overall(metric_id, variant).filter(pl.col("namespace") == namespace)
        if rows.height == 0:
            raise KeyError(f"no overall row for {metric_id} {variant!r} in namespace {namespace!r}")
        return rows.row(0, named=True)

    def table(self, rows: pl.DataFrame, *extra: str) -> pl.DataFrame:
        """The columns a reader needs from MetricRows, with each namespace's label beside it."""
        label = pl.col("namespace").replace_strict(self.labels, default="").alias(self.label_name)
        return rows.select(pl.col("namespace"), *([label] if self.labels else []), *READER_COLUMNS, *extra)


def show(figures: Iterable["Figure"], *prefixes: str, label: str | None = None) -> None:
    """Display the figures whose key starts with one of `prefixes` (keys look like 'L6-silent-drop-rate')."""
    from IPython.display import Markdown, display

    figures = list(figures)
    chosen = [f for f in figures if f.key.startswith(prefixes)]
    if not chosen:
        raise KeyError(f"no figure starting with {prefixes}; have {[f.key for f in figures]}")
    if label:
        display(Markdown(f"#### {label}"))
    for figure in chosen:
        display(figure)
    return None
