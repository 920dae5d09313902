"""Beads replay: a long git history of a large `.beads/issues.jsonl` replayed by baton_lab against DuckDB's own
read_json over the same versions written as files, in the same run.

    python bench/beads_bench.py [--versions 1600] [--issues 1000] [--repeat 1]

Generates a git repository (through `git fast-import`) whose `.beads/issues.jsonl` has --versions versions of
--issues+ issues (~1.5 KB each, so ~1.5 MB per version at 1,000 issues; each version closes, defers, reopens ~1% of
them and sometimes adds one), and writes the same versions as files. Then, each in a fresh subprocess so peak memory
is its own, times:
  raw:       CREATE TABLE AS SELECT * FROM read_json('<dir>/*.jsonl')  (every line of every version)
  baton_lab: Lab.import_git(repo, '.beads/issues.jsonl') — git cat-file, whole-file detection, line parsing,
             redaction, normalisation, validation, bulk insert (committed in chunks), graph order, events.
Module imports (DuckDB's; baton_lab's with pandera and polars, ~2 s) happen before the clock on both sides.
Prints wall seconds, versions/s, CPU seconds (user + system, the process and its `git` children) and peak RSS
(ru_maxrss of each side's own process), the wall and CPU throughput ratios (target >= 1/3, peak memory < 2 GB), and
the load average before and after: on a shared machine the wall ratio moves with the load (DuckDB's read_json runs on
every core, the replay mostly on one), the CPU ratio much less.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CLOCK = """
import os, resource, sys, time

def cpu():
    return sum(getattr(resource.getrusage(who), f) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
               for f in ("ru_utime", "ru_stime"))
"""

RAW = CLOCK + """
import duckdb
wall, used = time.perf_counter(), cpu()
con = duckdb.connect(sys.argv[2])
con.execute("SET enable_progress_bar = false")
pattern = (sys.argv[1] + "/*.jsonl").replace("'", "''")
con.execute(f"CREATE TABLE raw AS SELECT * FROM read_json('{pattern}', format='newline_delimited', filename=true)")
n = con.execute("SELECT count(*) FROM raw").fetchall()[0][0]
print(time.perf_counter() - wall, cpu() - used, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, n)
"""

BATON_LAB = CLOCK + """
import baton_lab as bl
import baton_lab.lab  # noqa: F401  (imported before the clock, as duckdb is on the other side)
wall, used = time.perf_counter(), cpu()
summary = bl.open(sys.argv[2]).import_git(sys.argv[1], ".beads/issues.jsonl", namespace="bench")
print(time.perf_counter() - wall, cpu() - used, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, summary.items)
"""

WORDS = ("refactor the storage layer so that lessons are appended atomically and the index is rebuilt lazily; "
         "add property tests for the parser, document the CLI flags, and measure the cold start on CI runners. ")


def _issue(rng: random.Random, n: int, stamp: str) -> dict:
    return {"id": f"bench-{n:05d}", "title": f"Issue {n}: {WORDS[: rng.randint(30, 70)]}",
            "description": WORDS * 5, "status": "open", "priority": rng.randint(0, 4),
            "issue_type": rng.choice(["task", "bug", "feature", "chore"]), "owner": "dev@example.org",
            "created_at": stamp, "created_by": "agent", "updated_at": stamp,
            "labels": ["bench", f"area-{n % 7}"],
            "dependencies": [{"issue_id": f"bench-{n:05d}", "depends_on_id": f"bench-{max(1, n - 1):05d}",
                              "type": "blocks", "created_at": stamp, "created_by": "agent"}]}


def generate(root: Path, versions: int, issues: int, seed: int = 1) -> int:
    """The repository (root/repo) and the same versions as files (root/files). Returns bytes per all versions."""
    rng = random.Random(seed)
    state = {n: _issue(rng, n, "2026-01-01T00:00:00Z") for n in range(1, issues + 1)}
    repo, files = root / "repo", root / "files"
    files.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    importer = subprocess.Popen(["git", "-C", str(repo), "fast-import", "--quiet"], stdin=subprocess.PIPE)
    assert importer.stdin
    total = 0
    for v in range(versions):
        stamp = f"2026-{1 + v // 400:02d}-{1 + (v // 15) % 28:02d}T{v % 24:02d}:{v % 60:02d}:00Z"
        for n in rng.sample(sorted(state), k=max(1, issues // 100)):
            issue = state[n]
            issue["status"] = rng.choice(["in_progress", "closed", "closed", "deferred", "open", "blocked"])
            issue["updated_at"] = stamp
            if issue["status"] == "deferred":
                issue["defer_until"] = stamp
        if rng.random() < 0.15:
            n = len(state) + 1
            state[n] = _issue(rng, n, stamp)
        data = "".join(json.dumps(i, ensure_ascii=False) + "\n" for i in state.values()).encode("utf-8")
        total += len(data)
        (files / f"{v:05d}.jsonl").write_bytes(data)
        when = 1767225600 + v * 60
        importer.stdin.write(f"commit refs/heads/main\ncommitter Bench <b@example.org> {when} +0000\n"
                             f"data {len(f'bd sync {v}')}\nbd sync {v}\n".encode())
        importer.stdin.write(f"M 100644 inline .beads/issues.jsonl\ndata {len(data)}\n".encode() + data + b"\n")
    importer.stdin.close()
    importer.wait()
    subprocess.run(["git", "-C", str(repo), "checkout", "-q", "main"], check=True)
    return total


def run(script: str, data: Path, db: Path) -> list[float]:
    out = subprocess.run([sys.executable, "-c", script, str(data), str(db)], capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"benchmark step failed:\n{out.stderr}")
    return [float(x) for x in out.stdout.split()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=int, default=1600)
    parser.add_argument("--issues", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="baton-lab-beads-bench-") as tmp:
        root = Path(tmp)
        t = time.perf_counter()
        size = generate(root, args.versions, args.issues)
        print(f"generated {args.versions} versions, {size / 1e6:.0f} MB ({size / args.versions / 1e6:.2f} MB each) "
              f"in {time.perf_counter() - t:.1f} s")
        print("load average before: " + " ".join(f"{x:.1f}" for x in os.getloadavg()))
        steps = [("raw read_json", RAW, root / "files"), ("baton_lab replay", BATON_LAB, root / "repo")]
        results: dict[str, list[list[float]]] = {name: [] for name, _, _ in steps}
        for i in range(args.repeat):
            for name, script, data in steps:
                db = root / f"{name.split()[0]}-{i}.duckdb"
                results[name].append(run(script, data, db))
                db.unlink()
        wall, cpu = {}, {}
        for name, runs in results.items():
            wall[name] = statistics.median(r[0] for r in runs)
            cpu[name] = statistics.median(r[1] for r in runs)
            rss = statistics.median(r[2] for r in runs) / 1024
            print(f"{name:18s} {wall[name]:8.1f} s wall  {args.versions / wall[name]:6.1f} versions/s  "
                  f"{size / 1e6 / wall[name]:6.1f} MB/s  {cpu[name]:8.1f} s CPU  peak RSS {rss:6.0f} MB  "
                  f"rows {int(runs[0][3])}  (wall per run: {', '.join(f'{r[0]:.1f}' for r in runs)})")
        print("load average after: " + " ".join(f"{x:.1f}" for x in os.getloadavg()))
        base, ours = (name for name, _, _ in steps)
        print(f"throughput ratio {ours} / {base}: wall {wall[base] / wall[ours]:.2f}, CPU {cpu[base] / cpu[ours]:.2f} "
              "(target >= 0.33; peak RSS < 2048 MB)")


if __name__ == "__main__":
    main()
