"""Numbers and sentences for titles, captions and labels."""

from __future__ import annotations

import textwrap
from typing import Any

from ._data import is_number

TITLE_WIDTH = 78   # characters per title line at the theme's title size and chart width


def title_lines(title: str) -> list[str]:
    return textwrap.wrap(title, TITLE_WIDTH) or [title]


def pct(v: Any, digits: int = 1) -> str:
    if not is_number(v):
        return "–"
    return f"{100 * v:.{0 if abs(v) >= 0.995 or v == 0 else digits}f}%"


def num(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, float) and v == float("inf"):
        return "∞"
    if not is_number(v):
        return "–"
    if float(v).is_integer() and abs(v) < 1e6:
        return f"{int(v):,}"
    return f"{v:.3g}"


def interval(row: dict | None, fmt: Any = num) -> str:
    """'0.63 [0.58, 0.68]' from a metric row, with ∞ / – for open or missing bounds."""
    if row is None or row.get("estimate") is None:
        return "not estimable"
    lo, hi = row.get("ci_low"), row.get("ci_high")
    bounds = f" [{fmt(lo)}, {fmt(hi) if hi != float('inf') else '∞'}]" if lo is not None or hi is not None else ""
    return f"{fmt(row['estimate'])}{bounds}"


def method(row: dict | None) -> str:
    m = (row or {}).get("ci_method")
    return f"95% {m} interval" if m else "no interval"


def share_sentence(row: dict | None, what: str) -> str:
    """'Over all sessions: 62.7% [57.6%, 67.6%] of 357 loops (95% wilson interval).'"""
    if row is None:
        return ""
    if row.get("estimate") is None:
        return f"Over all sessions: not estimable ({num(row.get('denominator'))} {what})."
    return (f"Over all sessions: {interval(row, pct)} of {num(row.get('denominator'))} {what} "
            f"({method(row)}).")


def rate_sentence(row: dict | None, unit: str) -> str:
    if row is None:
        return ""
    if row.get("estimate") is None:
        return "Over all sessions: not estimable."
    n = f"; {num(row.get('numerator'))} events over {num(row.get('exposure'))}" if row.get("exposure") else ""
    return f"Over all sessions: {interval(row)} {unit}{n} ({method(row)})."


THIN_NOTE = "Hollow points and faded bars: insufficient data (below the pre-registered minimum n)."
