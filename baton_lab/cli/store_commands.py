"""Store commands: import, info, validate, schema, formats, demo. Each parses options, makes one library call
and formats the result."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from .. import demo as demo_data
from ..importers import list_formats
from ..lab import Lab
from ..store.info import describe_schema
from . import app
from ._common import DbOption, JsonOption, console, print_json, user_errors


@app.command("import")
def import_command(
    paths: Annotated[Optional[list[Path]], typer.Argument(help="Files, directories, NDJSON files or session transcripts to import.",
                                                          show_default=False)] = None,
    format: Annotated[Optional[str], typer.Option("--format", "-f", help="Force a format (see `baton-lab formats`), e.g. "
                                                                         "baton-v1 or claude-code-transcript.")] = None,
    namespace: Annotated[Optional[str], typer.Option("--namespace", "-n", help="Namespace for every document (wins over the document's own).")] = None,
    git: Annotated[Optional[Path], typer.Option("--git", help="Replay the git history of --path in this repository.")] = None,
    path: Annotated[Optional[str], typer.Option("--path", help="With --git: the baton file (renames followed) or directory, "
                                                               "relative to the repository root.")] = None,
    repo: Annotated[Optional[Path], typer.Option("--repo", help="Import a whole git repository for the org view: every "
                                                                 "commit, its loop, conflicts and rework chains.")] = None,
    mapping: Annotated[Optional[Path], typer.Option("--mapping", help="With --repo: a TOML file of [[loops]] rules for "
                                                                      "commits the built-in rules cannot place.")] = None,
    ref: Annotated[Optional[str], typer.Option("--ref", help="With --repo: the branch or commit to read (default HEAD).")] = None,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Import baton documents, transcripts or a file's git history into the store (transactional, idempotent)."""
    if repo is not None:
        if paths or git is not None:
            raise typer.BadParameter("--repo imports a whole repository; give it without PATH... or --git")
        with user_errors():
            result = Lab(db).import_repo(repo, mapping=mapping, ref=ref)
        print_json(result.to_dict()) if json else console.print(str(result), markup=False, soft_wrap=True)
        return
    if (git is None) != (path is None) or (git is None and not paths) or (git is not None and paths):
        raise typer.BadParameter("give PATH... to import files, or --git REPO --path FILE to replay a git history")
    with user_errors():
        lab = Lab(db)

        def run(on_source=None):
            if git is not None:
                return lab.import_git(git, path or "", format=format, namespace=namespace, on_source=on_source)
            return lab.import_(paths or [], format=format, namespace=namespace, on_source=on_source)

        if json or not sys.stderr.isatty():
            summary = run()
        else:
            with Progress(TextColumn("importing"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"),
                          TimeElapsedColumn(), console=console, transient=True) as progress:
                task = progress.add_task("", total=None)
                summary = run(lambda uri: progress.update(task, advance=1, description=Path(uri).name))
    if json:
        print_json(summary.to_dict())
    else:
        console.print(str(summary), markup=False)


@app.command("info")
def info_command(db: DbOption = None, json: JsonOption = False) -> None:
    """Rows per table and namespaces with snapshot counts and date ranges."""
    with user_errors():
        info = Lab(db).info()
    if json:
        print_json(info)
        return
    console.print(f"store {info['db']} (schema version {info['schema_version']})", markup=False)
    tables = Table("table", "rows", box=None)
    for name, count in info["tables"].items():
        tables.add_row(name, f"{count:,}")
    console.print(tables)
    if not info["namespaces"]:
        console.print("no snapshots yet: `baton-lab import PATH` adds some", markup=False)
        return
    spaces = Table("namespace", "snapshots", "from", "to", "schema", box=None)
    spaces.columns[0].no_wrap = True
    for ns in info["namespaces"]:
        first = ns["first_observed"] or ns["first_written"]
        last = ns["last_observed"] or ns["last_written"]
        spaces.add_row(ns["namespace"], f"{ns['snapshots']:,}", str(first or "")[:16], str(last or "")[:16],
                       ns["schema_versions"] or "")
    console.print(spaces)
    for ns in info["namespaces"]:
        console.print(f"order of {ns['namespace']}: {ns['order_rule']}", markup=False, soft_wrap=True)


@app.command("validate")
def validate_command(db: DbOption = None, json: JsonOption = False) -> None:
    """List the quarantine: input that could not be stored as data, with where and why."""
    with user_errors():
        rows = Lab(db).quarantine_report()
    if json:
        print_json(rows.to_dicts())
        return
    if rows.height == 0:
        console.print("quarantine is empty: everything read was stored", markup=False)
        return
    table = Table("kind", "location", "reason", box=None)
    for row in rows.iter_rows(named=True):
        table.add_row(row["kind"], row["location"], row["reason"])
    console.print(table)
    console.print(f"{rows.height} findings", markup=False)


@app.command("schema")
def schema_command(json: JsonOption = False) -> None:
    """Print every table's columns, types and allowed values (from the pandera models)."""
    tables = describe_schema()
    if json:
        print_json(tables)
        return
    for spec in tables:
        console.print(f"[bold]{spec['table']}[/] — {spec['description']}")
        table = Table("column", "type", "null", "allowed / checks", "meaning", box=None)
        for col in spec["columns"]:
            rule = ", ".join(col["allowed_values"]) if col["allowed_values"] else ", ".join(col["checks"])
            table.add_row(col["name"], col["type"], "yes" if col["nullable"] else "no", rule, col["description"])
        console.print(table)


@app.command("formats")
def formats_command(json: JsonOption = False) -> None:
    """List the supported formats: how each is detected and its version."""
    rows = list_formats()
    if json:
        print_json(rows)
        return
    table = Table("format", "kind", "version", "detected when", box=None)
    for row in rows:
        table.add_row(row["name"], row["kind"], row["version"], row["detection"])
    console.print(table)


@app.command("demo")
def demo_command(
    db: Annotated[Optional[Path], typer.Option("--db", help="Store for the demo (default: a fresh temporary file).")] = None,
    json: JsonOption = False,
) -> None:
    """Import the bundled demo history into a store and print the store summary."""
    with user_errors():
        result = demo_data.run(db)
    if json:
        print_json(result)
        return
    for line in result["imports"]:
        console.print(line, markup=False)
    console.print()
    info_command(db=Path(result["db"]), json=False)
