"""What every command shares: the --db option, JSON output and turning library errors into one line."""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, Iterator

import typer
from rich.console import Console

from ..errors import BatonLabError

DbOption = Annotated[
    Path | None,
    typer.Option("--db", help="Store file. Default: $BATON_LAB_DB, else ./baton_lab.duckdb.", show_default=False),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


@contextmanager
def user_errors() -> Iterator[None]:
    """Library errors become `error: ...` plus a hint and exit code 1; no traceback."""
    try:
        yield
    except BatonLabError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", markup=True, soft_wrap=True)
        if exc.hint:
            err_console.print(f"hint: {exc.hint}", markup=False, soft_wrap=True)
        raise typer.Exit(1) from None


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
