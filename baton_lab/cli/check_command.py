"""`baton-lab check`: verify a store (opens, schema version, tables, readable data, row accounting)."""

from __future__ import annotations

import typer
from rich.text import Text

from . import app
from ._common import DbOption, JsonOption, Output, OutputOption, choose_output, console, print_json, user_errors


@app.command("check")
def check_command(db: DbOption = None, output: OutputOption = None, json: JsonOption = False) -> None:
    """Verify a store without changing it and say what is wrong; exit code 1 when something is."""
    from ..store.check import check_store

    with user_errors():
        shown = choose_output(output, json, (Output.table, Output.json))
        result = check_store(db)
    if shown is Output.json:
        print_json(result.to_dict())
    else:
        for finding in result.findings:
            mark = ("ok  ", "green") if finding.ok else ("FAIL", "bold red")
            console.print(Text.assemble(mark, f" {finding.check}: {finding.detail}"), soft_wrap=True)
        console.print(Text("the store is sound" if result.ok else
                           f"{sum(not f.ok for f in result.findings)} problem(s) found in {result.path}"))
    if not result.ok:
        raise typer.Exit(1)
