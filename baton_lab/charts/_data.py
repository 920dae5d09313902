"""Metric rows, curves and item tables cut down to the few columns and rows one chart draws.

Every chart reads a `MetricResult` (already aggregated by the metrics suite) and never the store; the
frames built here are small polars frames (tens to hundreds of rows). Variants are read by name where
a chart needs a specific one and passed through generically otherwise, so new variants (for example a
cluster-bootstrap interval) do not break a chart.
"""

from __future__ import annotations

import math
from typing import Any, Iterable

import polars as pl

POOLED = "(pooled)"
ENOUGH = "enough data"
THIN = "insufficient data (below the minimum n)"
EVIDENCE = [ENOUGH, THIN]
MAX_SERIES = 8   # more namespaces than this and per-namespace lines become unreadable: draw the pool


def namespaces(result: Any) -> list[str]:
    """The result's namespaces, pooled row excluded, in a stable order."""
    return sorted(set(result.rows["namespace"].unique().to_list()) - {POOLED})


def finite(frame: pl.DataFrame, *cols: str) -> pl.DataFrame:
    """Non-finite floats to null: JSON has no inf/NaN and Vega would drop or misplace them anyway."""
    return frame.with_columns(pl.when(pl.col(c).is_finite()).then(pl.col(c)).alias(c) for c in cols if c in frame.columns)


def evidence() -> pl.Expr:
    return pl.when(pl.col("status") == "insufficient").then(pl.lit(THIN)).otherwise(pl.lit(ENOUGH)).alias("evidence")


def rows(result: Any, metric_id: str, namespace: str | Iterable[str] | None, *, variants: Iterable[str] | None = None,
         overall: bool | None = None) -> pl.DataFrame:
    r = result.rows.filter(pl.col("metric_id") == metric_id)
    if namespace is not None:
        names = [namespace] if isinstance(namespace, str) else list(namespace)
        r = r.filter(pl.col("namespace").is_in(names))
    if variants is not None:
        r = r.filter(pl.col("variant").is_in(list(variants)))
    if overall is not None:
        r = r.filter(pl.col("overall") == overall)
    return r


def windows(result: Any, metric_id: str, namespace: str, *, variants: Iterable[str] | None = None) -> pl.DataFrame:
    """Per-window rows: start, end, mid (window centre on the session axis), estimate and interval."""
    r = rows(result, metric_id, namespace, variants=variants, overall=False)
    if r.height == 0:
        # A metric the data cannot support has only its overall not-supported row: keep it so
        # `unavailable` can say why.
        r = rows(result, metric_id, namespace, overall=True).filter(pl.col("status") == "not_supported")
    return finite(r.select(
        "namespace", "variant", "status", "note", "schema_version_mix", "numerator", "denominator", "exposure",
        "estimate", "ci_low", "ci_high",
        start=pl.col("window_start_s"), end=pl.col("window_end_s"),
        mid=(pl.col("window_start_s") + pl.col("window_end_s")) / 2,
        window=pl.format("sessions {}–{}", pl.col("window_start_s"), pl.col("window_end_s")),
    ).with_columns(evidence()).sort("variant", "start"), "estimate", "ci_low", "ci_high")


def overall_row(result: Any, metric_id: str, namespace: str, variant: str) -> dict | None:
    r = rows(result, metric_id, namespace, variants=[variant], overall=True)
    return r.row(0, named=True) if r.height else None


def curves(result: Any, metric_id: str, namespace: str, variants: Iterable[str] | None = None) -> tuple[pl.DataFrame, bool]:
    """Curve points for the namespace; for the pool, one curve per namespace when there are few enough
    (a pooled curve mixes histories of different length and behaviour). Returns (frame, per_namespace)."""
    frame = result.curves.get(metric_id)
    if frame is None or frame.height == 0:
        return pl.DataFrame(), False
    if variants is not None:
        frame = frame.filter(pl.col("variant").is_in(list(variants)))
    if namespace == POOLED:
        per = frame.filter(pl.col("namespace") != POOLED)
        if 1 < per["namespace"].n_unique() <= MAX_SERIES:
            return finite(per, "value", "lower", "upper"), True
    return finite(frame.filter(pl.col("namespace") == namespace), "value", "lower", "upper"), False


def unavailable(frame: pl.DataFrame, what: str) -> str | None:
    """Why a frame of metric rows gives nothing to draw (None when something can be drawn)."""
    if frame.height and frame["estimate"].is_not_null().any():
        return None
    unsupported = frame.filter(pl.col("status") == "not_supported") if frame.height else frame
    if unsupported.height:
        # the pooled row speaks for the whole selection when namespaces are drawn side by side
        unsupported = unsupported.sort(pl.col("namespace") != POOLED)
        row = unsupported.row(0, named=True)
        note = (row["note"] or "").removeprefix("not supported: ")
        return f"Not supported by {batons(row['schema_version_mix'])}: {note}."
    return f"No data: {what}."


def batons(mix: str | None) -> str:
    if mix == "1":
        return "v1 batons"
    if mix and "," not in mix and "/" in mix:
        return f"{mix.split('/')[0]} snapshots"  # another format's schema, e.g. beads-issues/1
    if mix and "," not in mix:
        return f"v{mix.split('.')[0]} batons"
    return "these batons" + (f" (schema {mix})" if mix else "")


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def levels(result: Any, metric_id: str, namespace: str, *, variants: Iterable[str] | None = None,
           labels: dict[str, str] | None = None) -> tuple[pl.DataFrame, bool]:
    """Whole-range rows as (series, label) bars. For the pool: every namespace beside the pooled row,
    when there are few enough namespaces to read. Returns (frame, grouped_by_namespace)."""
    names = namespaces(result)
    grouped = namespace == POOLED and 1 < len(names) <= MAX_SERIES
    selection = [*names, POOLED] if grouped else namespace
    r = rows(result, metric_id, selection, variants=variants, overall=True)
    if r.height == 0:  # not-supported rows carry no variant of their own: keep them for `unavailable`
        r = rows(result, metric_id, selection, overall=True).filter(pl.col("status") == "not_supported")
    labels = labels or {}
    frame = r.select("namespace", "variant", "status", "note", "numerator", "denominator", "estimate", "ci_low", "ci_high",
                     "ci_method", "schema_version_mix", series=pl.col("namespace"),
                     label=pl.col("variant").replace_strict(labels, default=pl.col("variant"), return_dtype=pl.String))
    return finite(frame.with_columns(evidence()), "estimate", "ci_low", "ci_high"), grouped


def series_order(result: Any, grouped: bool, namespace: str) -> list[str]:
    return [*namespaces(result), POOLED] if grouped else [namespace]
