"""`baton-lab metrics`: the metric catalogue over the store (metrics.md), or its reference with --list."""

from __future__ import annotations

import sys
from enum import Enum
from typing import Annotated, Optional

import polars as pl
import typer
from rich.table import Table

from ..lab import Lab
from ..metrics import REGISTRY, reference_markdown, resolve
from . import app
from ._common import DbOption, JsonOption, console, print_json, user_errors


class Format(str, Enum):
    table = "table"
    csv = "csv"
    md = "md"


_SHOWN = ["namespace", "code", "metric_id", "variant", "numerator", "denominator", "exposure", "estimate", "ci_low",
          "ci_high", "status"]


def _fmt(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


@app.command("metrics")
def metrics_command(
    namespace: Annotated[Optional[list[str]], typer.Option("--namespace", "-n", help="Namespace(s); default: all, plus the pool.")] = None,
    metric: Annotated[Optional[list[str]], typer.Option("--metric", "-m", help="Metric id or code (L4, caught_regressions); repeatable. Default: all.")] = None,
    window: Annotated[int, typer.Option("--window", "-w", min=1, help="Sessions per window.")] = 10,
    format: Annotated[Format, typer.Option("--format", help="table and md show the overall rows; csv and --json carry every window too.")] = Format.table,
    list_: Annotated[bool, typer.Option("--list", help="Print the generated metric reference (id, code, definition) and exit.")] = False,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Every catalogue metric with 95% intervals, per namespace and pooled, overall and per session window."""
    with user_errors():
        if list_:
            selected = resolve(metric)
            if json:
                print_json([{"id": m.id, "code": m.code, "family": m.family, "title": m.title, "unit": m.unit,
                             "direction": m.direction, "primary": m.primary, "definition": m.definition} for m in selected])
            elif metric:
                sys.stdout.write("\n\n".join(f"{m.code} {m.id} — {m.title}\n{m.definition}" for m in selected) + "\n")
            else:
                sys.stdout.write(reference_markdown() + "\n")
            return
        result = Lab(db).metrics(namespace=namespace, metric=metric, window=window)
    if json:
        print_json(result.to_json())
        return
    if format is Format.csv:
        sys.stdout.write(result.rows.with_columns(pl.col("computed_at").dt.to_string()).write_csv())
        return
    overall = result.rows.filter(pl.col("overall")).select(_SHOWN)
    counts = list(result.counts.items())
    if format is Format.md:
        keys = list(counts[0][1]) if counts else []
        lines = ["| namespace | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]
        lines += [f"| {ns} | " + " | ".join(str(c[k]) for k in keys) + " |" for ns, c in counts]
        lines += ["", "| " + " | ".join(_SHOWN) + " |", "|---" * len(_SHOWN) + "|"]
        lines += ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in overall.iter_rows()]
        sys.stdout.write("\n".join(lines) + "\n")
        return
    head = Table(title="headline counts", show_lines=False)
    for col in ["namespace", *(counts[0][1] if counts else [])]:
        head.add_column(col, overflow="fold")
    for ns, c in counts:
        head.add_row(ns, *(str(v) for v in c.values()))
    console.print(head)
    table = Table(title=f"metrics (overall rows; {result.rows.height:,} rows incl. {result.window}-session windows "
                        "in --format csv / --json)")
    for col in ("namespace", "metric", "estimate", "95% CI", "n", "status"):
        table.add_column(col, overflow="fold")
    for r in overall.iter_rows(named=True):
        ci = "" if r["ci_low"] is None else f"{_fmt(r['ci_low'])}–{_fmt(r['ci_high'])}"
        n = "/".join(_fmt(v) for v in (r["numerator"], r["denominator"] if r["denominator"] is not None else r["exposure"])
                     if v is not None)
        table.add_row(r["namespace"], f"{r['code']} {r['metric_id']}:{r['variant']}", _fmt(r["estimate"]), ci, n,
                      r["status"])
    console.print(table)


assert REGISTRY is not None  # registry import keeps `--list` working without a store
