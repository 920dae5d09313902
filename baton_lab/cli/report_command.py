"""`baton-lab report` and `baton-lab export`: write the report / the write-up bundle of a store."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Iterator, Optional

import typer
from rich.markup import escape

from . import app
from ._common import DbOption, JsonOption, Output, OutputOption, choose_output, console, print_json, user_errors

if TYPE_CHECKING:
    from ..report import Step, Written

NamespaceOption = Annotated[Optional[str], typer.Option("--namespace", "-n", help="Report on one namespace (default: all, led by the pooled numbers).")]
WindowOption = Annotated[int, typer.Option("--window", "-w", min=1, help="Sessions per window.")]
DemoOption = Annotated[bool, typer.Option("--demo", help="Use the bundled demo data, imported into a fresh temporary store.")]


@contextmanager
def _progress() -> Iterator[Step | None]:
    """Steps on a spinner when a person is watching; nothing when output is piped or captured."""
    if not console.is_terminal:
        yield None
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn  # ~0.1 s: only when shown

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console,
                  transient=True) as progress:
        task = progress.add_task("starting", total=None)
        yield lambda label: progress.update(task, description=label)


def _print(written: Written, json: bool) -> None:
    from ..report import VERDICT_LABEL

    store = written.report.provenance["store"]
    if json:
        print_json({"out": str(written.out), "index": str(written.index) if written.index else None,
                    "store": store["path"], "temporary_store_removed": store["temporary"],
                    "files": [str(p) for p in written.files],
                    "answers": [q.to_json() for q in written.report.questions]})
        return
    for q in written.report.questions:
        console.print(f"[bold]{escape(q.title)}[/]\n  {VERDICT_LABEL[q.verdict]}: {escape(q.answer)}", highlight=False,
                      soft_wrap=True)
    figures = sum(1 for p in written.files if p.suffix == ".svg")
    kinds = "SVG + PNG" if any(p.suffix == ".png" for p in written.files) else "SVG"
    tables = sum(1 for p in written.files if p.suffix == ".parquet")
    console.print(f"\nwrote {written} ({figures} figures as {kinds}, {tables} tables as Parquet + CSV, "
                  f"{len(written.files)} files in {written.out})", markup=False, soft_wrap=True)
    if store["temporary"]:
        console.print("the temporary demo store was removed (pass --db FILE to keep one)", markup=False)


def _default_out(kind: str, db: Path | None, demo: bool) -> Path:
    name = "demo" if demo else (db.stem if db else "baton_lab")
    return Path("reports") / (name if kind == "report" else f"{name}-export")


@app.command("report")
def report_command(
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Folder to write (default: reports/<store name>).")] = None,
    demo: DemoOption = False,
    namespace: NamespaceOption = None,
    window: WindowOption = 10,
    compare: Annotated[Optional[str], typer.Option("--compare", help="Add a Comparisons section: \"NS1,NS2 vs NS3\" (loop vs loop) or a split: DATE, session:N, format:NAME, rule:NAME, event:NAME.")] = None,
    png: Annotated[bool, typer.Option("--png/--no-png", help="Also write each figure as PNG beside its SVG (default: "
                                                             "SVG only; PNG roughly doubles the figure-export time; "
                                                             "`baton-lab export` always writes both).")] = False,
    db: DbOption = None,
    output: OutputOption = None,
    json: JsonOption = False,
) -> None:
    """Write the report: a self-contained index.html (opens offline), report.md with SVG figures (--png adds
    PNG copies), tables/ as Parquet and CSV, and provenance.json."""
    out = out or _default_out("report", db, demo)
    with user_errors():
        json = choose_output(output, json, (Output.table, Output.json)) is Output.json
    with user_errors(writing=out), _progress() as step:
        from ..report import run_report

        written = run_report(db, out, demo=demo, namespace=namespace, window=window, on_step=step,
                             compare=compare, png=png)
    _print(written, json)


@app.command("export")
def export_command(
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Folder to write (default: reports/<store name>-export).")] = None,
    demo: DemoOption = False,
    namespace: NamespaceOption = None,
    window: WindowOption = 10,
    db: DbOption = None,
    output: OutputOption = None,
    json: JsonOption = False,
) -> None:
    """The bundle for a write-up: tables, figures as SVG and PNG, report.md, LaTeX and Markdown headline tables,
    provenance."""
    out = out or _default_out("export", db, demo)
    with user_errors():
        json = choose_output(output, json, (Output.table, Output.json)) is Output.json
    with user_errors(writing=out), _progress() as step:
        from ..report import run_export

        written = run_export(db, out, demo=demo, namespace=namespace, window=window, on_step=step)
    _print(written, json)
