"""The metric catalogue of metrics.md §4 over the store: `compute(con)` → rows, curves, items, headline counts."""

from .registry import REGISTRY, Metric, UnknownMetric, reference_markdown, resolve
from .schema import MetricRows
from .suite import MetricResult, UnknownNamespace, compute, counts

__all__ = ["REGISTRY", "Metric", "MetricResult", "MetricRows", "UnknownMetric", "UnknownNamespace", "compute", "counts",
           "reference_markdown", "resolve"]
