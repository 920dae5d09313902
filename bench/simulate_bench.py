"""Scale mode: simulate many sessions across many namespaces and write them; print wall time and rates.

    .venv/bin/python bench/simulate_bench.py                      # 100 namespaces x 1000 sessions, v1 + ndjson
    .venv/bin/python bench/simulate_bench.py --sessions 20000 --namespaces 20 --format ndjson --workers 1
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from baton_lab.simulate import generate  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--namespaces", type=int, default=100)
    parser.add_argument("--format", action="append", dest="formats")
    parser.add_argument("--preset", default="default")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, help="keep the output here (default: a temporary directory, removed)")
    args = parser.parse_args()
    formats = args.formats or ["v1", "ndjson"]
    out = args.out or Path(tempfile.mkdtemp(prefix="baton-sim-bench-"))
    try:
        started = time.perf_counter()
        report = generate(out, args.preset, seed=args.seed, sessions=args.sessions, namespaces=args.namespaces,
                          formats=formats, overwrite=True, workers=args.workers)
        seconds = time.perf_counter() - started
        files = sum(n for fmt, n in report.files.items() if fmt != "truth")
        size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
        print(f"sessions={report.sessions} namespaces={args.namespaces} formats={','.join(formats)} workers={args.workers}")
        print(f"wall={seconds:.1f}s sessions/s={report.sessions / seconds:,.0f} files={files} files/s={files / seconds:,.0f} "
              f"bytes={size / 1e6:,.0f}MB")
    finally:
        if args.out is None:
            shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
