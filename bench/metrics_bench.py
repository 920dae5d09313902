"""The full metric suite over a simulated store of 100,000 sessions (100 namespaces × 1,000 sessions).

    python bench/metrics_bench.py [--sessions 100000] [--namespaces 100] [--repeat 3]

Builds (once, cached under bench/out/) the simulator's scale-mode NDJSON
(`baton-lab simulate --write ndjson`: one v1 baton per line, one file per namespace) and imports it
with `Lab.import_(file, namespace=<file stem>)`, timing the import. Then times only
`baton_lab.metrics.compute()` — every metric, every namespace and the pool, overall and per 10-session
window, with validation — in a fresh subprocess per run (median of `--repeat`), and reports each run's
peak RSS (resource.getrusage, the subprocess's own maximum resident set).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"

COMPUTE = """
import resource, sys, time
sys.path.insert(0, sys.argv[2])
import duckdb
from baton_lab.metrics import compute
con = duckdb.connect(sys.argv[1], read_only=True)
con.execute("SET enable_progress_bar = false")  # its bar would land in the output this script parses
t = time.perf_counter()
result = compute(con)
wall = time.perf_counter() - t
print(wall, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, result.rows.height,
      sum(c["sessions"] for c in result.counts.values()))
"""

IMPORT = """
import resource, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[3])
import baton_lab as bl
lab = bl.open(sys.argv[2])
t = time.perf_counter()
stored = 0
for path in sorted(Path(sys.argv[1]).glob("*.ndjson")):
    stored += lab.import_(path, namespace=path.stem).stored
print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, stored)
"""


def build(sessions: int, namespaces: int) -> tuple[Path, dict]:
    tag = f"metrics_{sessions}x{namespaces}"
    db, meta_path = OUT / f"{tag}.duckdb", OUT / f"{tag}.json"
    if db.exists() and meta_path.exists():
        return db, json.loads(meta_path.read_text())
    sim_dir = OUT / f"{tag}_sim"
    t = time.perf_counter()
    if not (sim_dir / "ndjson").is_dir():
        subprocess.run([str(Path(sys.executable).parent / "baton-lab"), "simulate", "--out", str(sim_dir), "--sessions",
                        str(sessions), "--namespaces", str(namespaces), "--write", "ndjson", "--workers", "2", "--force",
                        "--json"], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    sim_s = time.perf_counter() - t
    db.unlink(missing_ok=True)
    out = subprocess.run([sys.executable, "-c", IMPORT, str(sim_dir / "ndjson"), str(db), str(ROOT)],
                         check=True, capture_output=True, text=True, cwd=ROOT).stdout.split()
    meta = {"simulate_s": sim_s, "import_s": float(out[0]), "import_peak_rss_mb": int(out[1]) / 1024,
            "snapshots": int(out[2]), "db_mb": db.stat().st_size / 2**20}
    meta_path.write_text(json.dumps(meta, indent=2))
    return db, meta


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sessions", type=int, default=100_000)
    ap.add_argument("--namespaces", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    db, meta = build(args.sessions, args.namespaces)
    print(f"store: {meta['snapshots']:,} snapshots, {meta['db_mb']:.0f} MB; simulate {meta['simulate_s']:.1f} s, "
          f"import {meta['import_s']:.1f} s (peak RSS {meta['import_peak_rss_mb']:.0f} MB)")
    runs = []
    for _ in range(args.repeat):
        out = subprocess.run([sys.executable, "-c", COMPUTE, str(db), str(ROOT)], check=True, capture_output=True,
                             text=True, cwd=ROOT).stdout.split()
        runs.append((float(out[0]), int(out[1]) / 1024, int(out[2])))
        print(f"compute(): {runs[-1][0]:.2f} s, peak RSS {runs[-1][1]:.0f} MB, {runs[-1][2]:,} rows")
    wall = statistics.median(r[0] for r in runs)
    rss = max(r[1] for r in runs)
    print(f"median compute() {wall:.2f} s, max peak RSS {rss:.0f} MB "
          f"(targets < 10 s, < 2048 MB: {'met' if wall < 10 and rss < 2048 else 'NOT met'})")


if __name__ == "__main__":
    main()
