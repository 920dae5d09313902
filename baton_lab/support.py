"""The support matrix: every format with what it fills and which metrics it can support (`baton-lab formats`).

Formats declare capabilities (`importers.contract`); metrics declare the capability they need
(`metrics.registry`). The matrix joins the two declarations, so it cannot drift from what the import and the
metrics actually do.
"""

from __future__ import annotations

from typing import Any

from .importers import list_formats
from .metrics.registry import resolve


def support_matrix() -> list[dict[str, Any]]:
    """`list_formats()` rows; document formats gain `metrics` (family -> ids supported) and `unsupported`
    (metric id -> why)."""
    metrics = resolve(None)
    rows = list_formats()
    for row in rows:
        if row["kind"] != "document":
            continue
        provided = set(row["capabilities"])
        supported: dict[str, list[str]] = {}
        unsupported: dict[str, str] = {}
        for m in metrics:
            need = m.requirement
            if need is None or need[0] in provided:
                supported.setdefault(m.family, []).append(m.id)
            else:
                unsupported[m.id] = need[1]
        row["metrics"] = supported
        row["unsupported"] = unsupported
    return rows


def matrix_markdown() -> str:
    """The matrix as the README's Markdown table (document formats only)."""
    lines = ["| format | detected by | tiers filled | absence | capabilities | metric families |",
             "|---|---|---|---|---|---|"]
    for row in support_matrix():
        if row["kind"] != "document":
            continue
        tiers = ", ".join(row["tiers"])
        absence = "; ".join(f"{tier}: {rule}" for tier, rule in row["absence"].items()) or "—"
        families = ", ".join(f"{family} ({len(ids)})" for family, ids in row["metrics"].items())
        lines.append(f"| `{row['name']}` {row['version']} | {row['detection']} | {tiers or '—'} | {absence} | "
                     f"{', '.join(row['capabilities']) or '—'} | {families} |")
    return "\n".join(lines)
