"""`baton-lab simulate-repo`: the simulator's multi-loop mode, a git repository with known conflicts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from . import app
from ._common import JsonOption, console, print_json, user_errors


@app.command("simulate-repo")
def simulate_repo_command(
    out: Annotated[Path, typer.Option("--out", help="Directory for the repository (replaced if it exists); "
                                                    "the ground truth goes to OUT.truth.json beside it.")],
    seed: Annotated[int, typer.Option("--seed", help="Random seed; the same seed gives the same commit ids.")] = 0,
    commits: Annotated[int, typer.Option("--commits", help="Commits to write (at least).")] = 200,
    files: Annotated[int, typer.Option("--files", help="Files the loops share.")] = 8,
    json_out: JsonOption = False,
) -> None:
    """Write a git repository where several loops commit, with known explicit reverts, identity reverts,
    line-level undo and rework chains (import it with `baton-lab import --repo OUT`)."""
    from ..simulate.multiloop import simulate_repository

    with user_errors():
        truth = simulate_repository(out, seed=seed, commits=commits, files=files)
    counts = {kind: len(pairs) for kind, pairs in truth.pairs.items()} | {"rework_chains": len(truth.chains)}
    if json_out:
        print_json({"repo": str(truth.path), "truth": str(out.parent / f"{out.name}.truth.json"),
                    "commits": len(truth.commits), **counts})
        return
    console.print(f"wrote {len(truth.commits)} commits to {truth.path} (seed {seed}); ground truth in "
                  f"{out.parent / (out.name + '.truth.json')}", markup=False, soft_wrap=True)
    console.print(", ".join(f"{k.replace('_', ' ')} {v}" for k, v in counts.items()), markup=False)
