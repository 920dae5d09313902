"""`baton-lab metrics`: the metric catalogue over the store (metrics.md), or its reference with --list."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.table import Table

from ..formatting import interval, number, sample
from . import app
from ._common import (DbOption, JsonOption, Lab, Output, OutputOption, choose_output, console, markdown_table, old_spelling,
                      print_json, user_errors)


if TYPE_CHECKING:
    import polars as pl

_SHOWN = ["namespace", "code", "metric_id", "variant", "numerator", "denominator", "exposure", "estimate", "ci_low",
          "ci_high", "status"]


def _in_window_order(rows: pl.DataFrame) -> pl.DataFrame:
    """Each (namespace, metric, variant) keeps its place; within it the overall row, then windows by start."""
    import polars as pl

    return (rows.with_row_index("_at")
            .with_columns(pl.col("_at").min().over("namespace", "metric_id", "variant").alias("_group"))
            .sort("_group", pl.col("overall").not_(), "window_start_s", nulls_last=True, maintain_order=True)
            .drop("_at", "_group"))


def _cell(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return number(v, 4)
    return str(v)


@app.command("metrics")
def metrics_command(
    namespace: Annotated[Optional[list[str]], typer.Option("--namespace", "-n", help="Namespace(s); default: all, plus the pool.")] = None,
    metric: Annotated[Optional[list[str]], typer.Option("--metric", "-m", help="Metric id or code (L4, caught_regressions); repeatable. Default: all.")] = None,
    window: Annotated[int, typer.Option("--window", "-w", min=1, help="Sessions per window.")] = 10,
    output: OutputOption = None,
    old_format: Annotated[Optional[Output], typer.Option("--format", hidden=True, help="Old spelling of --output.")] = None,
    list_: Annotated[bool, typer.Option("--list", help="Print the generated metric reference (id, code, definition) and exit.")] = False,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Every catalogue metric with 95% intervals, per namespace and pooled, overall and per session window.
    --output table and md show the overall rows; csv and json carry every window too, in window order."""
    import polars as pl

    from ..metrics import reference_markdown, resolve

    if old_format is not None:
        old_spelling(f"--format {old_format.value}", f"--output {old_format.value}")
    with user_errors():
        shown = choose_output(output or old_format, json, (Output.table, Output.csv, Output.md, Output.json))
        json = shown is Output.json
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
        if metric:
            resolve(metric)  # an unknown metric is a usage mistake, reported before the store is looked at
        result = Lab(db, read_only=True).metrics(namespace=namespace, metric=metric, window=window)
    if json:
        print_json(result.to_json())
        return
    if shown is Output.csv:
        sys.stdout.write(_in_window_order(result.rows).with_columns(pl.col("computed_at").dt.to_string()).write_csv())
        return
    overall = result.rows.filter(pl.col("overall")).select(_SHOWN)
    counts = list(result.counts.items())
    if shown is Output.md:
        keys = list(counts[0][1]) if counts else []
        sys.stdout.write(markdown_table(["namespace", *keys], [(ns, *(c[k] for k in keys)) for ns, c in counts]) + "\n"
                         + markdown_table(_SHOWN, [tuple(_cell(v) for v in row) for row in overall.iter_rows()]))
        return
    head = Table(title="headline counts", show_lines=False)
    for col in ["namespace", *(counts[0][1] if counts else [])]:
        head.add_column(col, overflow="fold")
    for ns, c in counts:
        head.add_row(ns, *(str(v) for v in c.values()))
    console.print(head)
    table = Table(title=f"metrics (overall rows; {result.rows.height:,} rows incl. {result.window}-session windows "
                        "in --output csv / json)")
    for col in ("namespace", "metric", "estimate", "95% CI", "n", "status"):
        table.add_column(col, overflow="fold")
    for r in overall.iter_rows(named=True):
        table.add_row(r["namespace"], f"{r['code']} {r['metric_id']}:{r['variant']}", _cell(r["estimate"]),
                      interval(r["ci_low"], r["ci_high"], 4), sample(r), r["status"])
    console.print(table)

