"""Beads replay: a long git history of a large `.beads/issues.jsonl` replayed by baton_lab against DuckDB's own
read_json over the same versions written as files, in the same run.

    python bench/beads_bench.py [--versions 1600] [--issues 1000] [--repeat 1]

Generates a git repository (through `git fast-import`) whose `.beads/issues.jsonl` has --versions versions of
--issues+ issues (~1.5 KB each, so ~1.5 MB per version at 1,000 issues; each version closes, defers, reopens and
sometimes adds one), and writes the same versions as files. Then, each in a fresh subprocess so peak memory is
its own, times:
  raw:       CREATE TABLE AS SELECT * FROM read_json('<dir>/*.jsonl')  (every line of every version)
  baton_lab: Lab.import_git(repo, '.beads/issues.jsonl') — git cat-file, whole-file detection, line parsing,
             normalisation, validation, bulk insert, graph order, events — in one transaction.
Prints versions/s, MB/s, peak RSS and the throughput ratio (target >= 1/3, peak memory < 2 GB).
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import tempfile
import time
from pathlib import Path

from import_bench import compare, raw_read_json  # shared by the import benchmarks (bench/ is the script's path)

RAW = raw_read_json("*.jsonl", ", format='newline_delimited', filename=true")

BATON_LAB = """
import resource, sys, time
import baton_lab as bl
t = time.perf_counter()
summary = bl.open(sys.argv[2]).import_git(sys.argv[1], ".beads/issues.jsonl", namespace="bench")
print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, summary.stored, summary.items)
"""

WORDS = ("refactor the storage layer so that lessons are appended atomically and the index is rebuilt lazily; "
         "add property tests for the parser, document the CLI flags, and measure the cold start on CI runners. ")


def _issue(rng: random.Random, n: int, stamp: str) -> dict:
    return {"id": f"bench-{n:05d}", "title": f"Issue {n}: {WORDS[: rng.randint(30, 70)]}",
            "description": WORDS * 4, "status": "open", "priority": rng.randint(0, 4),
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
        compare([("raw read_json", RAW, root / "files"), ("baton_lab replay", BATON_LAB, root / "repo")],
                 root, args.repeat, args.versions, "versions", size, "target >= 0.33; peak RSS < 2048 MB")

if __name__ == "__main__":
    main()
