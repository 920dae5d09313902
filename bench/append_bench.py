"""What one more session costs: a new snapshot into a namespace with a long history, against history length.

    python bench/append_bench.py [--history 250 1000 4000] [--repeat 5]

For each history length H, simulates one namespace of H + 3 x --repeat sessions (`baton-lab simulate --write
ndjson`: one v1 baton per line; their times moved back so that the history ends an hour ago), imports the first H
lines as one NDJSON file, then times, each a median of --repeat:
  one snapshot:   `Lab.import_(file)` of the next session's baton as its own file, in-process (the store open)
  capture:        `baton-lab capture --from <cache file> --namespace NS --db STORE` as a fresh process, beside a bare
                  `python -c pass` (the floor any fresh process pays)
  append line:    one more line appended to the H-line NDJSON history, and the file imported again, in-process
Each is printed as wall / CPU milliseconds (CPU: this process plus the children it waited for). Targets (issue 13): one snapshot <= 100 ms, capture <= 1 s, append <= 0.2 s, and all three flat in H.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import baton_lab as bl  # noqa: E402

BIN = Path(sys.executable).parent
# The CLI of the checkout this script sits in (what the `baton-lab` script runs), so an older checkout's copy of this
# bench measures that checkout's code.
CLI = [sys.executable, "-c", "import sys; from baton_lab.cli import main; sys.argv[0] = 'baton-lab'; sys.exit(main())"]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def _simulate(out: Path, sessions: int) -> list[str]:
    subprocess.run([str(BIN / "baton-lab"), "simulate", "--out", str(out), "--sessions", str(sessions), "--namespaces",
                    "1", "--write", "ndjson", "--force", "--json"], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    (path,) = sorted((out / "ndjson").glob("*.ndjson"))
    return _ending_before_now(path.read_text(encoding="utf-8").splitlines())


def _ending_before_now(lines: list[str]) -> list[str]:
    """The simulated sessions are ~10 hours apart from a fixed start, so a long history runs years past today, and
    a capture (observed now) would land in the middle of it and reorder everything after it. A real history ends
    before the capture that extends it: every session's `updated_at` is moved back by one offset so that the last
    one is an hour ago (order and spacing kept)."""
    docs = [json.loads(line) for line in lines]
    times = [datetime.fromisoformat(doc["updated_at"]) for doc in docs]
    shift = max(times) - (datetime.now(UTC) - timedelta(hours=1))
    for doc, time in zip(docs, times):
        doc["updated_at"] = (time - shift).isoformat()
    return [json.dumps(doc, ensure_ascii=False, separators=(",", ":")) for doc in docs]


def _timed(fn) -> tuple[float, float]:
    """Wall seconds and CPU seconds (this process and the children it waited for): on a shared, loaded machine
    the wall time is mostly waiting for a core, and the CPU time says what the work costs."""
    def cpu() -> float:
        own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime

    t, c = time.perf_counter(), cpu()
    fn()
    return time.perf_counter() - t, cpu() - c


def _median(runs: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def measure(history: int, repeat: int, root: Path) -> dict[str, float]:
    lines = _simulate(root / f"sim{history}", history + 3 * repeat)
    namespace = "bench"
    lab = bl.open(root / f"store{history}.duckdb")
    ndjson = root / f"history{history}.ndjson"
    ndjson.write_text("\n".join(lines[:history]) + "\n", encoding="utf-8")
    build = _timed(lambda: lab.import_(ndjson, namespace=namespace))[0]
    spare = iter(lines[history:])

    def one_snapshot() -> None:
        path = root / f"next{history}.json"
        path.write_text(next(spare), encoding="utf-8")
        assert lab.import_(path, namespace=namespace).stored == 1

    def append_line() -> None:
        with ndjson.open("a", encoding="utf-8") as handle:
            handle.write(next(spare) + "\n")
        assert lab.import_(ndjson, namespace=namespace).stored == 1

    snapshot = [_timed(one_snapshot) for _ in range(repeat)]
    append = [_timed(append_line) for _ in range(repeat)]
    db = lab.path
    del lab  # the CLI opens the store itself
    capture, floor = [], []
    for _ in range(repeat):
        cache = root / f"cache{history}" / "bench.json"
        cache.parent.mkdir(exist_ok=True)
        cache.write_text(next(spare), encoding="utf-8")
        capture.append(_timed(lambda: subprocess.run(
            [*CLI, "capture", "--from", str(cache), "--namespace", namespace, "--db", str(db)],
            check=True, stdout=subprocess.DEVNULL, env=ENV)))
        floor.append(_timed(lambda: subprocess.run([sys.executable, "-c", "pass"], check=True)))
    return {"build": build, "snapshot": _median(snapshot), "append": _median(append), "capture": _median(capture),
            "python": _median(floor)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--history", type=int, nargs="+", default=[250, 1000, 4000])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="baton-lab-append-bench-") as tmp:
        print("medians, wall ms / CPU ms")
        print(f"{'history':>8}  {'build':>8}  {'one snapshot':>13}  {'append line':>13}  {'capture CLI':>13}  "
              f"{'python -c pass':>14}")
        rows = []
        for history in args.history:
            r = measure(history, args.repeat, Path(tmp))
            rows.append(r)
            cells = "  ".join(f"{r[k][0] * 1000:6.0f}/{r[k][1] * 1000:<6.0f}" for k in ("snapshot", "append", "capture"))
            print(f"{history:8d}  {r['build']:7.2f}s  {cells}  {r['python'][0] * 1000:6.0f}/{r['python'][1] * 1000:<6.0f}",
                  flush=True)
        if len(rows) > 1:
            # flat in history: CPU time at the longest history over CPU time at the shortest (1.0 = flat)
            growth = "  ".join(f"{k} x{rows[-1][k][1] / max(rows[0][k][1], 1e-9):.2f}" for k in ("snapshot", "append", "capture"))
            print(f"CPU at {args.history[-1]} / at {args.history[0]} sessions: {growth}")
        print("targets: one snapshot <= 100 ms, append line <= 200 ms, capture CLI <= 1000 ms; flat in history")
    shutil.rmtree(Path(tmp), ignore_errors=True)


if __name__ == "__main__":
    main()
