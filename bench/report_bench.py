"""`baton-lab report` on the demo data and on a simulated store of 100,000 sessions.

    python bench/report_bench.py [--sessions 100000] [--namespaces 100] [--repeat 3]

    python bench/report_bench.py --demo-only [--formats svg|png|both]

Uses the store metrics_bench.py builds and caches under bench/out/ (100 namespaces × 1,000 sessions).
Each run is a fresh process that times, in the same process, the baseline — `metrics.compute()` alone,
the floor any report must pay — and then the whole report (compute again, answers, charts, SVG export —
plus PNG for `baton-lab report --png` runs —, Parquet/CSV tables, index.html, report.md). The
report/baseline ratio and the time beyond compute() say what presenting the numbers costs on top of
computing them. Targets: a report under 30 s at 100,000 sessions; the demo report (SVG, the default)
≤ 3 s beyond compute() on an idle machine (issue 13). The load average is printed before and after, as
the figures depend on it.
"""

from __future__ import annotations

import argparse
import os
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
    c = time.process_time(); t = time.perf_counter(); compute(con)
    baseline = time.perf_counter() - t; baseline_cpu = time.process_time() - c
steps = {}
last = [time.perf_counter(), None]
def step(label):
    now = time.perf_counter()
    if last[1]:
        steps[last[1]] = now - last[0]
    last[:] = [now, label]
def cpu():
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime
c = cpu(); t = time.perf_counter()
written = report.run_report(sys.argv[1], sys.argv[2], on_step=step, png=sys.argv[4] == "png")
wall = time.perf_counter() - t; cpu_s = cpu() - c
step(None)
print(baseline, wall, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, len(written.report.figures),
      written.index.stat().st_size, baseline_cpu, cpu_s)
for label, seconds in steps.items():
    print(f"  {label}: {seconds:.2f} s", file=sys.stderr)
"""


def _run(db: Path, out: Path, png: bool) -> tuple[float, float, float, int, int, str, float, float]:
    proc = subprocess.run([sys.executable, "-c", RUN, str(db), str(out), str(ROOT), "png" if png else "svg"],
                          check=True, capture_output=True, text=True, cwd=ROOT)
    base, wall, rss, figures, size, base_cpu, cpu = proc.stdout.split()
    return float(base), float(wall), int(rss) / 1024, int(figures), int(size), proc.stderr, float(base_cpu), float(cpu)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sessions", type=int, default=100_000)
    ap.add_argument("--namespaces", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--formats", choices=("svg", "png", "both"), default="both",
                    help="svg: `baton-lab report` (the default); png: `report --png`; both: each, in turn")
    ap.add_argument("--demo-only", action="store_true", help="only the demo store (skips building the 100,000-session one)")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    from baton_lab import demo

    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} cores)")
    stores = {"demo (5 namespaces, ~250 sessions)": Path(demo.run(Path(tempfile.mkdtemp()) / "demo.duckdb")["db"])}
    if not args.demo_only:
        db, meta = build(args.sessions, args.namespaces)
        stores[f"{meta['snapshots']:,} sessions, {args.namespaces} namespaces"] = db
    modes = {"svg": [False], "png": [True], "both": [False, True]}[args.formats]
    summary = []
    for name, path in stores.items():
        for png in modes:
            label = f"{name}, {'SVG + PNG (--png)' if png else 'SVG'}"
            runs = []
            for i in range(args.repeat):
                runs.append(_run(path, Path(tempfile.mkdtemp()) / "report", png))
                base, wall, rss, figures, size, steps, base_cpu, cpu = runs[-1]
                print(f"{label} run {i + 1}: compute() {base:.2f} s, report {wall:.2f} s (CPU {base_cpu:.2f} s / "
                      f"{cpu:.2f} s with the renderers'), peak RSS {rss:.0f} MB, "
                      f"{figures} figures, index.html {size / 2**20:.1f} MB\n{steps.rstrip()}")
            base = statistics.median(r[0] for r in runs)
            wall = statistics.median(r[1] for r in runs)
            beyond = statistics.median(r[1] - r[0] for r in runs)
            cpu_beyond = statistics.median(r[7] - r[6] for r in runs)
            # the least loaded run is the nearest to an idle machine on a shared one
            least = min(r[1] - r[0] for r in runs)
            summary.append(f"{label}: median report {wall:.2f} s vs compute() {base:.2f} s → ratio {wall / base:.2f}, "
                           f"{beyond:.2f} s beyond compute() (median of per-run differences, min {least:.2f} s; CPU "
                           f"beyond compute(), renderers included: {cpu_beyond:.2f} s); max peak RSS "
                           f"{max(r[2] for r in runs):.0f} MB")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("\n".join(summary))


if __name__ == "__main__":
    main()
