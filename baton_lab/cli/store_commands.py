"""Store commands: import, info, validate, schema, formats, demo. Each parses options, makes one library call
and formats the result."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..errors import BatonLabError
from . import app
from ._common import (DbOption, JsonOption, Lab, Output, OutputOption, announce_created, choose_output, console,
                      markdown_table, print_json, user_errors)


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
                                                                      "commits the built-in rules cannot place. With files "
                                                                      "or --git: a TOML heading-to-tier mapping for prose "
                                                                      "handoffs ([[tier]] tables).")] = None,
    ref: Annotated[Optional[str], typer.Option("--ref", help="With --repo: the branch or commit to read (default HEAD).")] = None,
    db: DbOption = None,
    output: OutputOption = None,
    json: JsonOption = False,
) -> None:
    """Import baton documents, transcripts or a file's git history into the store (transactional, idempotent)."""
    with user_errors():
        json = choose_output(output, json, (Output.table, Output.json)) is Output.json
    if repo is not None:
        if paths or git is not None:
            raise typer.BadParameter("--repo imports a whole repository; give it without PATH... or --git")
        if format is not None or namespace is not None:
            raise typer.BadParameter("--repo places every commit in its loop by its own rules; --format and "
                                     "--namespace apply to PATH... and --git (use --mapping for --repo's rules)")
        with user_errors():
            result = Lab(db).import_repo(repo, mapping=mapping, ref=ref)
        print_json(result.to_dict()) if json else console.print(str(result), markup=False, soft_wrap=True)
        return
    if ref is not None:
        raise typer.BadParameter("--ref picks the commit --repo reads; --git replays every commit of --path, and "
                                 "PATH... are read as they are on disk")
    if (git is None) != (path is None) or (git is None and not paths) or (git is not None and paths):
        raise typer.BadParameter("give PATH... to import files, or --git REPO --path FILE to replay a git history")
    if format is not None and not format.strip():
        raise typer.BadParameter("--format needs a format name (see `baton-lab formats`)")
    with user_errors():
        lab = Lab(db)

        def run(on_source=None):
            if git is not None:
                return lab.import_git(git, path or "", format=format, namespace=namespace, on_source=on_source,
                                      mapping=mapping)
            return lab.import_(paths or [], format=format, namespace=namespace, on_source=on_source, mapping=mapping)

        if json or not sys.stderr.isatty():
            summary = run()
        else:
            # imported here: rich.progress costs ~0.1 s, paid only when a person watches an import
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            with Progress(TextColumn("importing"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"),
                          TimeElapsedColumn(), console=console, transient=True) as progress:
                task = progress.add_task("", total=None)
                summary = run(lambda uri: progress.update(task, advance=1, description=Path(uri).name))
    if json:
        print_json(summary.to_dict())
    else:
        console.print(str(summary), markup=False)
    announce_created(lab)


@app.command("info")
def info_command(db: DbOption = None, output: OutputOption = None, json: JsonOption = False) -> None:
    """Rows per table and namespaces with snapshot counts and date ranges (--output table or json)."""
    with user_errors():
        shown = choose_output(output, json, (Output.table, Output.json))
        info = Lab(db, read_only=True).info()
    if shown is Output.json:
        print_json(info)
        return
    _print_info(info)


def _print_info(info: dict) -> None:
    console.print(f"store {info['db'] or '(temporary)'} (schema version {info['schema_version']})", markup=False)
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


_FINDING_COLUMNS = ("kind", "location", "reason")


@app.command("validate")
def validate_command(db: DbOption = None, output: OutputOption = None, json: JsonOption = False) -> None:
    """List the quarantine: input that could not be stored as data, with where and why
    (--output table, csv, md or json; piped output keeps every location whole)."""
    with user_errors():
        shown = choose_output(output, json, (Output.table, Output.csv, Output.md, Output.json))
        rows = Lab(db, read_only=True).quarantine_report()
    if shown is Output.json:
        print_json(rows.to_dicts())
        return
    if shown is Output.csv:
        sys.stdout.write(rows.select(_FINDING_COLUMNS).write_csv())
        return
    if shown is Output.md:
        sys.stdout.write(markdown_table(list(_FINDING_COLUMNS), rows.select(_FINDING_COLUMNS).rows()))
        return
    if rows.height == 0:
        console.print("quarantine is empty: everything read was stored", markup=False)
        return
    table = Table(*_FINDING_COLUMNS, box=None)
    for row in rows.iter_rows(named=True):
        table.add_row(*(Text(str(row[c] or "")) for c in _FINDING_COLUMNS))
    if console.is_terminal:
        console.print(table)
    else:  # piped: no terminal width to fit, so nothing is cut (the location is what the reader needs)
        Console(highlight=False, width=1_000_000, no_color=True).print(table, crop=False)
    console.print(f"{rows.height} findings", markup=False)


@app.command("schema")
def schema_command(output: OutputOption = None, json: JsonOption = False) -> None:
    """Print every table's columns, types and allowed values (from the pandera models)."""
    with user_errors():
        shown = choose_output(output, json, (Output.table, Output.json))
    from ..store.info import describe_schema

    tables = describe_schema()
    if shown is Output.json:
        print_json(tables)
        return
    for spec in tables:
        console.print(Text.assemble((spec["table"], "bold"), f" — {spec['description']}"))
        table = Table("column", "type", "null", "allowed / checks", "meaning", box=None)
        for col in spec["columns"]:
            rule = ", ".join(col["allowed_values"]) if col["allowed_values"] else ", ".join(col["checks"])
            table.add_row(col["name"], col["type"], "yes" if col["nullable"] else "no", rule, col["description"])
        console.print(table)


@app.command("formats")
def formats_command(output: OutputOption = None, json: JsonOption = False) -> None:
    """The support matrix: every format and source, how it is detected, the tiers it fills, what an item's absence
    means, its capabilities and the metric families it supports."""
    with user_errors():
        json = choose_output(output, json, (Output.table, Output.json)) is Output.json
    from ..support import support_matrix

    rows = support_matrix()
    if json:
        print_json(rows)
        return
    for row in (r for r in rows if r["kind"] == "document"):
        console.print(f"[bold]{row['name']}[/] {row['version']} — {row['description']}", soft_wrap=True)
        facts = {
            "detected": row["detection"],
            "tiers": ", ".join(f"{table} ← {what}" for table, what in row["tiers"].items()) or "none",
            "absence": "; ".join(f"{tier}: {rule}" for tier, rule in row["absence"].items()) or "—",
            "capabilities": ", ".join(row["capabilities"]) or "—",
            "metrics": ", ".join(f"{family} ({len(ids)})" for family, ids in row["metrics"].items()),
        }
        for label, text in facts.items():
            console.print(f"  {label}: {text}", markup=False, soft_wrap=True)
    sources = Table("source", "kind", "version", "detected when", box=None)
    for row in (r for r in rows if r["kind"] != "document"):
        sources.add_row(row["name"], row["kind"], row["version"], row["detection"])
    console.print(sources)


@app.command("demo")
def demo_command(
    db: Annotated[Optional[Path], typer.Option("--db", help="Keep the demo store in this new file (default: a temporary "
                                                             "store, removed afterwards).")] = None,
    output: OutputOption = None,
    json: JsonOption = False,
) -> None:
    """Import the bundled demo history into a store and print the store summary."""
    from .. import demo as demo_data

    with user_errors():
        shown = choose_output(output, json, (Output.table, Output.json))
        if db is None:
            with demo_data.temporary_store() as (_, result):
                result["db"] = result["info"]["db"] = None  # removed: nothing may point at it
        else:
            if db.exists():
                raise BatonLabError(f"the demo imports into a new store, and {db} already exists",
                                    hint="name a file that does not exist yet, or drop --db for a temporary store")
            result = demo_data.run(db)
    if shown is Output.json:
        print_json(result)
        return
    for line in result["imports"]:
        console.print(line, markup=False)
    console.print()
    _print_info(result["info"])
    if result["db"] is None:
        console.print("the temporary demo store was removed (pass --db FILE to keep it)", markup=False)
    else:
        console.print(f"kept the demo store at {result['db']}", markup=False)
