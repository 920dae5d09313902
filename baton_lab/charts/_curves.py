"""Time-to-event figures: step curves with their bands (KM, Aalen-Johansen, MCF) and cohort medians."""

from __future__ import annotations

from typing import Any

import polars as pl

from ._base import Built, step_curves, window_series, with_origin
from ._data import POOLED, evidence, overall_row, rows, unavailable, windows
from ._data import curves as curve_frame
from ._text import THIN_NOTE, interval, num


def kind(result: Any, metric_id: str, frame: pl.DataFrame) -> str:
    """'survival' (starts at 1) or 'incidence' (starts at 0), from the estimator the metric used."""
    methods = " ".join(rows(result, metric_id, None, overall=True)["ci_method"].drop_nulls().unique().to_list())
    if "kaplan" in methods:
        return "survival"
    if "aalen" in methods:
        return "incidence"
    return "survival" if frame["value"].head(1).item() >= frame["value"].tail(1).item() > 0 else "incidence"


def curve_figure(result: Any, namespace: str, metric_id: str, variant: str, *, y_title: str, x_title: str,
                 what: str, median_variant: str | None = None, series_label: str | None = None,
                 start: float | None = None, fmt: str = ".0%", estimator: str | None = None) -> Built:
    """One step curve for a namespace, or one per namespace for the pool (see _data.curves).

    `what` names the items ("loops created after the first snapshot"); `median_variant` is the overall
    row whose n, censoring and median the caption reports (default f"{variant}_median")."""
    median_variant = median_variant or f"{variant}_median"
    frame, per_namespace = curve_frame(result, metric_id, namespace, [variant])
    if frame.height == 0:
        return unavailable(rows(result, metric_id, namespace, overall=True), f"no {what} in {_where(namespace)}") \
            or f"No data: no {what} in {_where(namespace)}."
    status = rows(result, metric_id, None, variants=[median_variant], overall=True).select("namespace", "status")
    frame = frame.join(status, on="namespace", how="left").with_columns(evidence())
    frame = frame.with_columns(series=pl.col("namespace") if per_namespace else pl.lit(series_label or variant))
    shape = kind(result, metric_id, frame) if start is None else ("survival" if start == 1 else "incidence")
    frame = with_origin(frame, start if start is not None else (1.0 if shape == "survival" else 0.0))
    order = frame["series"].unique(maintain_order=True).to_list()
    chart = step_curves(frame, y_title=y_title, x_title=x_title, fmt=fmt,
                        series_title="Namespace" if per_namespace else None, order=order,
                        y_domain=[0, 1] if fmt.endswith("%") else None)
    row = overall_row(result, metric_id, namespace, median_variant)
    # A caller naming its own estimator (the MCF) describes its n itself: the median row counts other units.
    summary = f"; {_counts(row, what)} {_median(row)}" if not estimator else "."
    estimator = estimator or {"survival": "Kaplan-Meier", "incidence": "Aalen-Johansen cumulative incidence"}[shape]
    caption = f"{estimator} step curve with its 95% band{', one curve per namespace' if per_namespace else ''}{summary}"
    if (frame["evidence"] != frame["evidence"].first()).any() or frame["evidence"].first() != "enough data":
        caption += " Dashed curves: insufficient data (below the minimum n)."
    return chart, caption


def _where(namespace: str) -> str:
    return "any namespace" if namespace == POOLED else f"namespace {namespace}"


def _counts(row: dict | None, what: str) -> str:
    if row is None:
        return ""
    parts = [f"n = {num(row.get('denominator'))} {what}", f"{num(row.get('numerator'))} events"]
    if row.get("n_censored"):
        parts.append(f"{num(row['n_censored'])} censored")
    if row.get("n_competing"):
        parts.append(f"{num(row['n_competing'])} competing outcomes")
    pooled = " (all namespaces)" if row.get("namespace") == POOLED else ""
    return ", ".join(parts) + pooled + "."


def _median(row: dict | None) -> str:
    if row is None:
        return ""
    if row.get("estimate") is None:
        return "The curve does not reach 0.5 within follow-up, so there is no median."
    return f"Median {interval(row)} sessions (interval read off the band)."


def cohort_medians(result: Any, namespace: str, metric_id: str, variant: str, *, y_title: str, what: str) -> Built:
    """Per-window medians by entry cohort (the spiral index's trend series): no interval exists per window."""
    frame = windows(result, metric_id, namespace, variants=[variant])
    reason = unavailable(frame, f"no {what} in {_where(namespace)}")
    if reason:
        return reason
    chart = window_series(frame, w=result.window, y_title=y_title, fmt="d")
    missing = frame.filter(pl.col("estimate").is_null() & (pl.col("denominator") > 0)).height
    caption = (f"Each point is the median for the {what} that entered in that {result.window}-session window "
               "(discrete Kaplan-Meier / Aalen-Johansen by entry cohort); the metrics suite computes no interval "
               "per window, so none is drawn — the spiral index reads only the Theil–Sen trend of these points."
               + (f" {missing} window(s) have no median: the curve never reached 0.5." if missing else "")
               + (" " + THIN_NOTE if (frame["status"] == "insufficient").any() else ""))
    return chart, caption
