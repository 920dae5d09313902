"""Numbers as a reader sees them: every estimate with its n and interval, or the honest reason it has none."""

from __future__ import annotations

import math
from typing import Any, Mapping

_CI_LABEL = {
    "wilson": "Wilson", "exact": "exact", "garwood": "Garwood", "exact-conditional": "exact conditional",
    "km-log-log": "KM log-log", "aalen-johansen": "Aalen–Johansen", "theil-sen": "Theil–Sen",
}


def number(value: float | None, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float) and math.isinf(value):
        return "∞" if value > 0 else "−∞"
    if float(value).is_integer() and abs(value) < 1e9:
        return f"{int(value):,}"
    return f"{value:.{digits}g}"


def interval(low: float | None, high: float | None) -> str:
    if low is None and high is None:
        return ""
    if high is None:   # e.g. a Kaplan–Meier bound the curve never reached: open-ended
        return f"[{number(low)}, ∞)"
    return f"[{number(low)}, {number(high)}]"


def sample(row: Mapping[str, Any]) -> str:
    """`k/n` for proportions, `k in E sessions` for rates, `n=…` otherwise."""
    num, den, exp = row.get("numerator"), row.get("denominator"), row.get("exposure")
    if num is not None and den is not None:
        return f"{number(num)}/{number(den)}"
    if num is not None and exp is not None:
        return f"{number(num)} in {number(exp)}"
    if den is not None:
        return f"n={number(den)}"
    if exp is not None:
        return f"exposure {number(exp)}"
    return f"{number(num)}" if num is not None else ""


def method(row: Mapping[str, Any]) -> str:
    name = row.get("ci_method") or ""
    return _CI_LABEL.get(name, name)


def estimate(row: Mapping[str, Any]) -> str:
    """One phrase per metric row: 'est [low, high]', 'insufficient data (…)', 'not supported: …' or 'no data'."""
    status = row.get("status")
    if status == "not_supported":
        return "not supported" + (f": {row['note'].removeprefix('not supported: ')}" if row.get("note") else "")
    if status == "no_data" or (row.get("estimate") is None and status == "ok"):
        return "no data"
    bounds = interval(row.get("ci_low"), row.get("ci_high")) or "(descriptive, no interval)"
    text = f"{number(row.get('estimate'))} {bounds}"
    if status == "insufficient":
        return f"insufficient data (point {text})"
    return text


def cell_class(row: Mapping[str, Any]) -> str:
    """CSS class for a metric cell, so 'insufficient' and 'not supported' read differently from a result."""
    return {"insufficient": "insufficient", "not_supported": "unsupported", "no_data": "unsupported"}.get(
        row.get("status") or "", "")
