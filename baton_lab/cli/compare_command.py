"""`baton-lab compare`: did the change help? Two arms over the metric catalogue (baton_lab.compare)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table

from . import app
from ._common import DbOption, JsonOption, Lab, console, print_json, user_errors


@app.command("compare")
def compare_command(
    a: Annotated[Optional[str], typer.Option("--a", help="Arm A: namespace(s), comma-separated (loop vs loop).")] = None,
    b: Annotated[Optional[str], typer.Option("--b", help="Arm B: namespace(s), comma-separated.")] = None,
    before: Annotated[Optional[str], typer.Option("--before", help="Arm A: sessions before this date (YYYY-MM-DD).")] = None,
    after: Annotated[Optional[str], typer.Option("--after", help="Arm B: sessions from this date on.")] = None,
    split: Annotated[Optional[str], typer.Option("--split", help="Split at the first snapshot of date:D, session:N, format:NAME, rule:NAME or event:NAME[=VALUE].")] = None,
    namespace: Annotated[Optional[list[str]], typer.Option("--namespace", "-n", help="Namespaces a before/after split applies to (default: all).")] = None,
    metric: Annotated[Optional[list[str]], typer.Option("--metric", "-m", help="Metric id or code; repeatable. Default: the whole catalogue (the FDR family).")] = None,
    its_window: Annotated[int, typer.Option("--its-window", min=1, help="Sessions per point of the interrupted time series.")] = 5,
    show_all: Annotated[bool, typer.Option("--all", help="Also list rows without a two-arm effect (trends, descriptive rows, unsupported).")] = False,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Compare arm B with arm A: every catalogue metric both arms support, the effect with its interval,
    Benjamini–Hochberg across the catalogue, and a pre-registered verdict per research question."""
    from ..compare.format import adjusted_text, arm_text, effect_text, p_text

    with user_errors():
        result = Lab(db, read_only=True).compare(a=a, b=b, split=split, before=before, after=after, namespaces=namespace,
                                 metrics=metric, its_window=its_window)
    if json:
        print_json(result.to_json())
        return
    console.print(f"[bold]A[/] = {escape(result.arm_a.name)} ({result.arm_a.sessions} sessions)   "
                  f"[bold]B[/] = {escape(result.arm_b.name)} ({result.arm_b.sessions} sessions)")
    for v in result.verdicts:
        console.print(f"[bold]{escape(v.title)}[/]\n  {v.verdict}: {escape(v.answer)}", soft_wrap=True)
    console.print(f"[dim]Pre-registered: {escape(result.rule)}[/]", soft_wrap=True)
    shown = result.effects if show_all else result.compared
    table = Table(title=f"B vs A: {result.n_tested} effects tested, {result.n_discoveries} discoveries "
                        f"(Benjamini–Hochberg, q = 0.05); adjusted intervals at {100 * result.fcr_confidence:.1f}%")
    for col in ("metric", "A", "B", "effect B vs A [95% CI]", "adjusted CI", "p", "BH p", "reading"):
        table.add_column(col, overflow="fold")
    import polars as pl  # here, not at the top: `baton-lab --help` must not pay for importing polars

    for r in shown.sort(pl.col("p_adjusted").fill_null(2.0), maintain_order=True).iter_rows(named=True):
        table.add_row(f"{r['code']} {r['metric_id']}:{r['variant']}", arm_text(r, "a"), arm_text(r, "b"),
                      effect_text(r), adjusted_text(r), p_text(r["p_value"]), p_text(r["p_adjusted"]), r["reading"])
    console.print(table)
    for its in result.its:
        if its.status == "ok":
            console.print(f"ITS {escape(its.label)}: level change {its.measure} {its.level_change.estimate:.3g} "
                          f"[{its.level_change.ci_low:.3g}, {its.level_change.ci_high:.3g}], slope change per window "
                          f"{its.slope_change.estimate:.3g} [{its.slope_change.ci_low:.3g}, {its.slope_change.ci_high:.3g}]",
                          soft_wrap=True, markup=False)
        else:
            console.print(f"ITS {its.label}: insufficient: {its.note}", soft_wrap=True, markup=False)
    if result.its_note:
        console.print(f"ITS: {result.its_note}", soft_wrap=True, markup=False)
