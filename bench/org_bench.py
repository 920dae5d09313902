"""The org view, measured: detection precision/recall on simulated multi-loop repositories, and import speed.

    .venv/bin/python bench/org_bench.py accuracy --seeds 50          # P/R per conflict class and rework chains
    .venv/bin/python bench/org_bench.py speed --commits 20000        # commits/s against `git log --numstat`

`accuracy` writes one repository per seed (baton_lab.simulate.multiloop: known explicit reverts, identity
reverts, line-level undo and rework chains) and scores the importer's rows against the ground truth
(targets: >= 0.95 for explicit and identity reverts, >= 0.85 for line-level undo). `speed` times
`git log --numstat` and the full import (two `git log` runs, parsing, detection, store write) on the same
generated repository in the same run and prints the ratio (target: within 3x).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import baton_lab as bl  # noqa: E402
from baton_lab.repos import analyse, import_repository, resolve  # noqa: E402
from baton_lab.simulate.multiloop import evaluate, simulate_repository  # noqa: E402

TARGETS = {"explicit": 0.95, "identity": 0.95, "line_undo": 0.85}


def accuracy(seeds: int, commits: int, root: Path) -> None:
    totals: dict[str, dict[str, int]] = {}
    started = time.perf_counter()
    for seed in range(seeds):
        truth = simulate_repository(root / f"seed-{seed}", seed=seed, commits=commits)
        result = analyse(resolve(truth.path))
        for key, counts in evaluate(truth, result.conflicts, result.rework, result.changes).items():
            for k, v in counts.items():
                totals.setdefault(key, {"tp": 0, "fp": 0, "fn": 0})[k] += v
        shutil.rmtree(truth.path)
    print(f"seeds={seeds} commits/seed={commits} wall={time.perf_counter() - started:.1f}s")
    print(f"{'class':<12} {'truth':>6} {'found':>6} {'precision':>9} {'recall':>7} target")
    for key, c in totals.items():
        precision = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else float("nan")
        recall = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else float("nan")
        target = TARGETS.get(key)
        verdict = "" if target is None else ("ok" if min(precision, recall) >= target else "BELOW") + f" (>= {target})"
        print(f"{key:<12} {c['tp'] + c['fn']:>6} {c['tp'] + c['fp']:>6} {precision:>9.3f} {recall:>7.3f} {verdict}")


def speed(commits: int, files: int, root: Path) -> None:
    started = time.perf_counter()
    truth = simulate_repository(root / "big", seed=1, commits=commits, files=files)
    print(f"generated {len(truth.commits):,} commits over {files} files in {time.perf_counter() - started:.1f}s")
    runs = []
    for _ in range(2):   # best of two: the machine is shared
        t = time.perf_counter()
        subprocess.run(["git", "-C", str(truth.path), "log", "--numstat", "main"], check=True, stdout=subprocess.DEVNULL)
        baseline = time.perf_counter() - t
        store = root / "bench.duckdb"
        store.unlink(missing_ok=True)
        lab = bl.open(store)
        t = time.perf_counter()
        with lab.connect() as con:
            summary = import_repository(con, truth.path)
        ours = time.perf_counter() - t
        runs.append((ours / baseline, baseline, ours, summary))
    ratio, baseline, ours, summary = min(runs, key=lambda r: r[0])
    n = summary.commits
    print(f"git log --numstat: {baseline:.2f}s ({n / baseline:,.0f} commits/s)")
    print(f"baton-lab import --repo: {ours:.2f}s ({n / ours:,.0f} commits/s); conflicts {summary.conflicts}, "
          f"rework chains {summary.rework_chains}")
    print(f"ratio import / git log --numstat = {ratio:.2f}x (target <= 3x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["accuracy", "speed"])
    parser.add_argument("--seeds", type=int, default=50)
    parser.add_argument("--commits", type=int, help="accuracy: per seed (default 200); speed: total (default 20000)")
    parser.add_argument("--files", type=int, default=400, help="speed: files in the generated repository")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="baton-org-bench-"))
    try:
        if args.mode == "accuracy":
            accuracy(args.seeds, args.commits or 200, root)
        else:
            speed(args.commits or 20_000, args.files, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
