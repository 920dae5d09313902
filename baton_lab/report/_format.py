"""The report's number formatting: the shared formatter (`baton_lab.formatting`) plus the report's cell classes."""

from __future__ import annotations

from typing import Any, Mapping

from ..formatting import estimate, interval, method, number, sample, with_ci

__all__ = ["cell_class", "estimate", "interval", "method", "number", "sample", "with_ci"]


def cell_class(row: Mapping[str, Any]) -> str:
    """CSS class for a metric cell, so 'insufficient' and 'not supported' read differently from a result."""
    return {"insufficient": "insufficient", "not_supported": "unsupported", "no_data": "unsupported"}.get(
        row.get("status") or "", "")
