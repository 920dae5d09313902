"""`baton-lab report` on the demo data and on a simulated store of 100,000 sessions.

    python bench/report_bench.py [--sessions 100000] [--namespaces 100] [--repeat 3]

Uses the store metrics_bench.py builds and caches under bench/out/ (100 namespaces × 1,000 sessions).
Each run is a fresh process that times, in the same process, the baseline — `metrics.compute()` alone,
the floor any report must pay — and then the whole report (compute again, answers, charts, SVG + PNG
export, Parquet/CSV tables, index.html, report.md). The report/baseline ratio says what presenting the
numbers costs on top of computing them; the target is a report under 30 s at 100,000 sessions.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from metrics_bench import OUT, ROOT, build  # noqa: E402

RUN = """
import resource, sys, time
sys.path.insert(0, sys.argv[3])
import duckdb
from baton_lab import report
from baton_lab.metrics import compute
with duckdb.connect(sys.argv[1], read_only=True) as con:
    con.execute("SET enable_progress_bar = false")  # its bar would land in the output this script parses
    t = time.perf_counter(); compute(con); baseline = time.perf_counter() - t
steps = {}
last = [time.perf_counter(), None]
def step(label):
    now = time.perf_counter()
    if last[1]:
        steps[last[1]] = now - last[0]
    last[:] = [now, label]
t = time.perf_counter()
written = report.run_report(sys.argv[1], sys.argv[2], on_step=step, png=sys.argv[4] == "png")
wall = time.perf_counter() - t
step(None)
print(baseline, wall, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, len(written.report.figures),
      written.index.stat().st_size)
for label, seconds in steps.items():
    print(f"  {label}: {seconds:.2f} s", file=sys.stderr)
"""


def _run(db: Path, out: Path, png: bool) -> tuple[float, float, float, int, int, str]:
    proc = subprocess.run([sys.executable, "-c", RUN, str(db), str(out), str(ROOT), "png" if png else "svg"],
                          check=True, capture_output=True, text=True, cwd=ROOT)
    base, wall, rss, figures, size = proc.stdout.split()
    return float(base), float(wall), int(rss) / 1024, int(figures), int(size), proc.stderr


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sessions", type=int, default=100_000)
    ap.add_argument("--namespaces", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-png", action="store_true", help="figures as SVG only (`baton-lab report --no-png`)")
    ap.add_argument("--demo-only", action="store_true", help="only the demo store (skips building the 100,000-session one)")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    from baton_lab import demo

    stores = {"demo (5 namespaces, ~250 sessions)": Path(demo.run(Path(tempfile.mkdtemp()) / "demo.duckdb")["db"])}
    if not args.demo_only:
        db, meta = build(args.sessions, args.namespaces)
        stores[f"{meta['snapshots']:,} sessions, {args.namespaces} namespaces"] = db
    for name, path in stores.items():
        runs = []
        for i in range(args.repeat):
            runs.append(_run(path, Path(tempfile.mkdtemp()) / "report", not args.no_png))
            base, wall, rss, figures, size, steps = runs[-1]
            print(f"{name} run {i + 1}: compute() {base:.2f} s, report {wall:.2f} s, peak RSS {rss:.0f} MB, "
                  f"{figures} figures, index.html {size / 2**20:.1f} MB\n{steps.rstrip()}")
        base = statistics.median(r[0] for r in runs)
        wall = statistics.median(r[1] for r in runs)
        print(f"{name}: median report {wall:.2f} s vs compute() {base:.2f} s → ratio {wall / base:.2f}, "
              f"{wall - base:.2f} s beyond compute(); max peak RSS {max(r[2] for r in runs):.0f} MB\n")


if __name__ == "__main__":
    main()
