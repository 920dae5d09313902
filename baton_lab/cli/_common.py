"""What every command shares: the --db option, JSON output and turning library errors into one line."""

from __future__ import annotations

import json
import os
import sys
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Iterator, Optional

import typer
from rich.console import Console
from rich.text import Text

from ..errors import BatonLabError

DbOption = Annotated[
    Path | None,
    typer.Option("--db", help="Store file. Default: $BATON_LAB_DB, else ./baton_lab.duckdb.", show_default=False),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON (short for --output json).")]


class Output(str, Enum):
    """What a command prints: `--output` means the same on every command (`--format` names input formats)."""

    table = "table"
    csv = "csv"
    md = "md"
    json = "json"


OutputOption = Annotated[Optional[Output], typer.Option("--output", help="table, csv, md or json; each command "
                                                                         "says which it prints.", show_default=False)]


def choose_output(output: Output | None, json: bool, allowed: tuple[Output, ...]) -> Output:
    """The output kind from --output / --json; a kind this command cannot print is a one-line error."""
    if json and output not in (None, Output.json):
        raise BatonLabError(f"--json and --output {output.value} disagree", hint="--json is short for --output json")
    chosen = Output.json if json else (output or allowed[0])
    if chosen not in allowed:
        raise BatonLabError(f"--output {chosen.value} is not available for this command",
                            hint=f"it prints {', '.join(a.value for a in allowed)}")
    return chosen


def old_spelling(old: str, new: str) -> None:
    """A renamed option still works for one release, with a one-line hint."""
    err_console.print(Text(f"hint: {old} is now {new} (the old spelling goes away in the next release)"),
                      soft_wrap=True)

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


def Lab(*args: Any, **kwargs: Any) -> Any:  # noqa: N802 - stands in for the library's Lab
    """`baton_lab.lab.Lab`, imported when a command runs: `baton-lab --help` and `--version` stay light."""
    from ..lab import Lab as _Lab

    return _Lab(*args, **kwargs)


def print_error(message: str, hint: str | None = None) -> None:
    """`error: …` and `hint: …` on stderr, printed as plain text: a path like `a[/bold]b` is shown, never parsed."""
    err_console.print(Text.assemble(("error:", "bold red"), " ", message), soft_wrap=True)
    if hint:
        err_console.print(Text(f"hint: {hint}"), soft_wrap=True)


@contextmanager
def user_errors(writing: str | os.PathLike[str] | None = None) -> Iterator[None]:
    """Library errors, and DuckDB/OS faults it can explain (disk full, permission denied, a damaged store),
    become `error: ...` plus a hint and exit code 1; no traceback. `writing` names the output folder a
    command writes, for faults outside the store."""
    try:
        yield
    except BatonLabError as exc:
        print_error(str(exc), exc.hint)
        raise typer.Exit(1) from None
    except Exception as exc:  # noqa: BLE001 - only faults `explain` recognises are turned into errors
        from ..store.faults import explain

        explained = explain(exc, target=str(writing) if writing else "the output")
        if explained is None:
            raise
        print_error(str(explained), explained.hint)
        raise typer.Exit(1) from None


def markdown_table(header: list[str], rows: list[tuple[Any, ...]]) -> str:
    """A GitHub-flavoured Markdown table; `|` and newlines in cells are escaped so a cell stays one cell."""
    def cell(value: Any) -> str:
        return "" if value is None else str(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def announce_created(lab: Any) -> None:
    """Only import and capture create a store, and they say so (a mistyped --db shows up at once)."""
    if lab.created and lab.path.exists():
        err_console.print(Text(f"created the store {lab.path}"), soft_wrap=True)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
