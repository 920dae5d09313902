"""Run the catalogue: `compute(con, ...)` → `MetricResult` (rows, curves, per-item tables, headline counts)."""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import duckdb
import polars as pl

from ..errors import BatonLabError
from . import frames as fr
from .base import Context
from .counts import headline_counts
from .registry import Metric, resolve, run
from .schema import MetricRows


class UnknownNamespace(BatonLabError):
    hint = "`baton-lab info` lists the namespaces in the store."


@dataclass
class MetricResult:
    rows: pl.DataFrame                                        # MetricRows, long
    curves: dict[str, pl.DataFrame] = field(default_factory=dict)   # metric id -> time, value, lower, upper, at_risk
    items: dict[str, pl.DataFrame] = field(default_factory=dict)    # metric id -> per-item table (e.g. P6 forest)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # namespace -> headline counts
    window: int = 10

    def metric(self, key: str) -> pl.DataFrame:
        ids = {m.id for m in resolve(key)}
        return self.rows.filter(pl.col("metric_id").is_in(list(ids)))

    def to_json(self) -> dict:
        return {"counts": self.counts, "metrics": self.rows.with_columns(pl.col("computed_at").dt.to_string()).to_dicts()}

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(k)}</th>" for k in next(iter(self.counts.values()), {}))
        body = "".join(f"<tr><td>{html.escape(ns)}</td>" + "".join(f"<td style='text-align:right'>{v:,}</td>" for v in c.values())
                       + "</tr>" for ns, c in self.counts.items())
        overall = self.rows.filter(pl.col("overall") & (pl.col("namespace") == fr.POOLED)).select(
            "code", "metric_id", "variant", "estimate", "ci_low", "ci_high", "status")
        def num(v: float | None) -> str:
            return "" if v is None else f"{v:.3g}"

        lines = "".join(
            f"<tr><td>{r['code']}</td><td>{html.escape(r['metric_id'])}</td><td>{html.escape(r['variant'])}</td>"
            f"<td>{num(r['estimate'])}</td><td>{'' if r['ci_low'] is None else '[' + num(r['ci_low']) + ', ' + num(r['ci_high']) + ']'}</td>"
            f"<td>{r['status']}</td></tr>" for r in overall.iter_rows(named=True))
        return (f"<div><strong>baton_lab metrics</strong> (window {self.window} sessions; "
                f"{self.rows.height:,} rows)<table><thead><tr><th>namespace</th>{head}</tr></thead><tbody>{body}</tbody></table>"
                f"<table><thead><tr><th>code</th><th>metric</th><th>variant</th><th>estimate</th><th>95% CI</th>"
                f"<th>status</th></tr></thead><tbody>{lines}</tbody></table></div>")


def compute(con: duckdb.DuckDBPyConnection, namespaces: list[str] | str | None = None,
            metrics: list[str] | str | None = None, window: int = 10, *, validate: bool = True) -> MetricResult:
    """Compute the selected metrics (ids or codes; all by default) per namespace and pooled, overall and per
    window of `window` sessions, plus the headline counts. Unknown metric → UnknownMetric."""
    selected: list[Metric] = resolve(metrics)
    if isinstance(namespaces, str):
        namespaces = [namespaces]
    ctx = Context(con, namespaces, window)
    if ctx.missing:
        raise UnknownNamespace(f"unknown namespace {', '.join(map(repr, ctx.missing))}")
    rows, curves, items = [], {}, {}
    for m in selected:
        out = run(ctx, m)
        rows.append(fr.mark_schema_gaps(out.rows, m, ctx))
        if out.curves is not None and out.curves.height:
            curves[m.id] = out.curves
        if out.items is not None:
            items[m.id] = out.items
    frame = pl.concat(rows) if rows else fr.empty()
    if validate:
        frame = MetricRows.validate(frame)
    return MetricResult(frame, curves, items, headline_counts(ctx), window)


def counts(con: duckdb.DuckDBPyConnection, namespaces: list[str] | str | None = None) -> dict[str, dict[str, int]]:
    if isinstance(namespaces, str):
        namespaces = [namespaces]
    ctx = Context(con, namespaces)
    if ctx.missing:
        raise UnknownNamespace(f"unknown namespace {', '.join(map(repr, ctx.missing))}")
    return headline_counts(ctx)
