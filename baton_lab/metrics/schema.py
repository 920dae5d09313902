"""The long output table of every metric (metrics.md §5), declared once as a pandera model."""

from __future__ import annotations

import polars as pl
import pandera.polars as pa
from pandera.engines import polars_engine

STATUSES = ("ok", "insufficient", "no_data", "not_supported")
POOLED = "(pooled)"


class MetricRows(pa.DataFrameModel):
    """One row per (namespace, metric, variant, window). Survival curves and per-item tables live beside it."""

    namespace: str = pa.Field(nullable=False, description=f"Baton namespace, or {POOLED!r} for counts pooled over namespaces.")
    metric_id: str = pa.Field(nullable=False, description="Stable snake_case id from metrics.md §4.")
    code: str = pa.Field(nullable=False, description="Catalogue code (L4, P6, SI, ...).")
    variant: str = pa.Field(nullable=False, description="Which quantity of the metric (e.g. rate_per_session, catch_share, a tier or verify method).")
    window_start_s: pl.Int64 = pa.Field(nullable=True, description="First session (seq) of the window; the overall row covers the whole range.")
    window_end_s: pl.Int64 = pa.Field(nullable=True, description="Last session (seq) of the window.")
    overall: bool = pa.Field(nullable=False, description="True for the row over all sessions.")
    numerator: pl.Float64 = pa.Field(nullable=True, description="Events / successes counted.")
    denominator: pl.Float64 = pa.Field(nullable=True, description="Trials / subjects / items (null for pure rates).")
    exposure: pl.Float64 = pa.Field(nullable=True, description="Sessions (or item-sessions) at risk, for rates.")
    estimate: pl.Float64 = pa.Field(nullable=True, description="Point estimate; null when not computable.")
    ci_low: pl.Float64 = pa.Field(nullable=True, description="Lower 95% bound.")
    ci_high: pl.Float64 = pa.Field(nullable=True, description="Upper 95% bound (may be +inf).")
    ci_method: str = pa.Field(nullable=True, description="wilson, exact, garwood, exact-conditional, km-log-log, aalen-johansen, theil-sen, ...")
    unit: str = pa.Field(nullable=True, description="Unit of the estimate.")
    n_censored: pl.Int64 = pa.Field(nullable=True, ge=0, description="Subjects right-censored (survival metrics).")
    n_competing: pl.Int64 = pa.Field(nullable=True, ge=0, description="Subjects ending in a competing outcome.")
    min_n_met: bool = pa.Field(nullable=False, description="False below the pre-registered minimum sample size (stats.MIN_*).")
    status: str = pa.Field(nullable=False, isin=list(STATUSES), description="ok | insufficient | no_data | not_supported.")
    note: str = pa.Field(nullable=True, description="Why a row is not supported or how it was computed, when that matters.")
    schema_version_mix: str = pa.Field(nullable=True, description="Baton schema versions in the namespace(s), e.g. '1' or '1,2.0'.")
    computed_at: polars_engine.DateTime(time_zone="UTC") = pa.Field(nullable=False, description="When the suite ran (UTC).")

    class Config:
        strict = True
        coerce = False


COLUMNS: dict[str, pl.DataType] = {
    "namespace": pl.String, "metric_id": pl.String, "code": pl.String, "variant": pl.String,
    "window_start_s": pl.Int64, "window_end_s": pl.Int64, "overall": pl.Boolean,
    "numerator": pl.Float64, "denominator": pl.Float64, "exposure": pl.Float64,
    "estimate": pl.Float64, "ci_low": pl.Float64, "ci_high": pl.Float64, "ci_method": pl.String, "unit": pl.String,
    "n_censored": pl.Int64, "n_competing": pl.Int64, "min_n_met": pl.Boolean, "status": pl.String, "note": pl.String,
    "schema_version_mix": pl.String, "computed_at": pl.Datetime("us", "UTC"),
}

CURVE_COLUMNS: dict[str, pl.DataType] = {
    "namespace": pl.String, "metric_id": pl.String, "variant": pl.String, "time": pl.Float64, "value": pl.Float64,
    "lower": pl.Float64, "upper": pl.Float64, "at_risk": pl.Float64,
}
