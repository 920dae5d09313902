"""Numbers as a reader sees them, in one place for every output (HTML, Markdown, LaTeX, the CLI and notebooks):
every estimate with its n and interval, or the honest reason it has none."""

from __future__ import annotations

import math
from typing import Any, Mapping

_CI_LABEL = {
    "wilson": "Wilson", "exact": "exact", "garwood": "Garwood", "exact-conditional": "exact conditional",
    "km-log-log": "KM log-log", "aalen-johansen": "Aalen–Johansen", "theil-sen": "Theil–Sen",
}


def number(value: float | None, digits: int = 3, *, pct: bool = False, fixed: bool = False) -> str:
    """`digits` significant digits (whole numbers with thousands separators), or `digits` decimals when `fixed`;
    `pct` shows a share as a percentage. Missing is '–', infinite '∞'."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float) and math.isinf(value):
        return "∞" if value > 0 else "−∞"
    shown = 100 * value if pct else value
    if fixed:
        text = f"{shown:.{digits}f}"
    elif float(shown).is_integer() and abs(shown) < 1e9:
        text = f"{int(shown):,}"
    else:
        text = f"{shown:.{digits}g}"
    return f"{text}%" if pct else text


def interval(low: float | None, high: float | None, digits: int = 3, *, pct: bool = False, fixed: bool = False) -> str:
    """'[low, high]'; an open upper end (e.g. a Kaplan–Meier bound the curve never reached) is '[low, ∞)'."""
    if low is None and high is None:
        return ""
    lo = number(low, digits, pct=pct, fixed=fixed)
    if high is None:
        return f"[{lo}, ∞)"
    return f"[{lo}, {number(high, digits, pct=pct, fixed=fixed)}]"


def with_ci(row: Mapping[str, Any], digits: int = 3, *, pct: bool = False, fixed: bool = False) -> str:
    """'estimate [low, high]' from a MetricRows row."""
    bounds = interval(row.get("ci_low"), row.get("ci_high"), digits, pct=pct, fixed=fixed)
    return f"{number(row.get('estimate'), digits, pct=pct, fixed=fixed)} {bounds}".rstrip()


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
