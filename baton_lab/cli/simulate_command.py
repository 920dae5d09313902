"""`baton-lab simulate`: write a simulated baton history with its ground truth."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from . import app
from ._common import JsonOption, Output, OutputOption, choose_output, console, old_spelling, print_json, user_errors


@app.command("simulate")
def simulate_command(
    out: Annotated[Path, typer.Option("--out", help="Output directory (one subdirectory per format, plus truth/).")],
    seed: Annotated[int, typer.Option("--seed", help="Random seed; the same seed gives byte-identical files.")] = 0,
    sessions: Annotated[int, typer.Option("--sessions", help="Sessions in total, split evenly over namespaces.")] = 300,
    namespaces: Annotated[int, typer.Option("--namespaces", help="Number of loops (baton namespaces).")] = 1,
    formats: Annotated[
        list[str] | None,
        typer.Option(
            "--write",
            help="What to write, repeatable: v1, v2, ndjson, sqlite, cache, git, git-bundle, transcript. "
            "Default: v1 v2 sqlite git transcript.",
            show_default=False,
        ),
    ] = None,
    old_formats: Annotated[list[str] | None, typer.Option("--format", hidden=True, help="Old spelling of --write.")] = None,
    preset: Annotated[
        str,
        typer.Option("--preset", help="default, healthy-loop, log-nobody-reads, rules-dont-stick, or the mix demo."),
    ] = "default",
    practice: Annotated[
        str | None,
        typer.Option("--practice", help="Switch a practice on mid-history (next-session-verification, lessons-file): "
                                        "a regime change at --practice-at, for `baton-lab compare`."),
    ] = None,
    practice_at: Annotated[int, typer.Option("--practice-at", help="Session index the practice starts at.")] = 0,
    workers: Annotated[int, typer.Option("--workers", help="Processes writing namespaces in parallel.")] = 1,
    force: Annotated[bool, typer.Option("--force", help="Replace existing output directories.")] = False,
    output: OutputOption = None,
    json_out: JsonOption = False,
) -> None:
    """Simulate baton-driven loops with known parameters and write them in the real formats.

    Ground truth (parameters and what really happened to every item) goes to OUT/truth/.
    """
    from ..simulate import DEFAULT_FORMATS, generate

    if old_formats:
        old_spelling("--format", "--write (`--format` names input formats)")
        formats = [*(formats or []), *old_formats]
    with user_errors():
        json_out = choose_output(output, json_out, (Output.table, Output.json)) is Output.json
        chosen = preset
        if practice is None and practice_at:
            from ..simulate.params import SimulationError

            raise SimulationError("--practice-at needs --practice: it says when the practice switches on",
                                  hint="add --practice next-session-verification or --practice lessons-file")
        if practice is not None:
            from ..simulate.params import PRESETS, SimulationError, with_practice

            if preset not in PRESETS:
                raise SimulationError(f"--practice needs a single preset, not {preset!r}")
            chosen = with_practice(PRESETS[preset], practice, at=practice_at or sessions // (2 * namespaces) + 1)
    with user_errors(writing=out):
        report = generate(
            out,
            chosen,
            seed=seed,
            sessions=sessions,
            namespaces=namespaces,
            formats=formats or DEFAULT_FORMATS,
            overwrite=force,
            workers=workers,
        )
    if json_out:
        print_json(report.to_json())
        return
    console.print(Text.assemble("Simulated ", (str(report.sessions), "bold"),
                                f" sessions in {len(report.headline)} namespace(s) ({preset}, seed {seed}) in "
                                f"{report.seconds:.1f} s → {report.out_dir}"))
    files = Table("format", "files", box=None, pad_edge=False)
    for fmt, count in report.files.items():
        files.add_row(fmt, str(count))
    console.print(files)
    columns = {"sessions": "sessions", "loops_created": "loops", "caught_regressions": "failed",
               "silent_drops": "dropped", "graduations": "graduated", "anti_ouroboros_violations": "violations",
               "followups_escalated": "fu≥5", "unseen_revisions": "unseen rev"}
    counts = Table("namespace", *columns.values(), box=None, pad_edge=False)
    shown = list(report.headline.items())
    for namespace, headline in shown[:10]:
        counts.add_row(namespace, *(str(headline[k]) for k in columns))
    if len(shown) > 10:
        counts.add_row(f"(all {len(shown)})", *(str(sum(h[k] for _, h in shown)) for k in columns))
    console.print(counts)
    console.print(f"Ground truth: {report.truth_dir} (params.json, summary.json, *.parquet)", markup=False)
