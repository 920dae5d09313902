"""Cold start of the CLI: what a user waits for before `baton-lab` does anything.

    python bench/cold_start_bench.py [--repeat 5]

Times, as fresh processes, medians of --repeat, wall and CPU (the child's user + system time):
  python -c pass          the floor any fresh Python process pays on this machine
  baton-lab --version     reads the version from the installed metadata
  baton-lab --help        builds every command's help (typer + rich)
and prints each as a ratio to the floor, so a loaded machine's figure still says something. Target (issue 13):
`--help` and `--version` <= 0.3 s cold on an idle machine. `-X importtime` of `baton_lab.cli` shows where the
rest goes (`python -X importtime -c "import baton_lab.cli" 2>&1 | sort -t'|' -k2 -n | tail`).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path


def _timed(argv: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of one fresh process."""
    start = time.perf_counter()
    pid = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).pid
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(argv)} failed")
    return wall, usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    cli = shutil.which("baton-lab", path=str(Path(sys.executable).parent)) or "baton-lab"
    cases = {"python -c pass": [sys.executable, "-c", "pass"],
             "baton-lab --version": [cli, "--version"],
             "baton-lab --help": [cli, "--help"]}
    _timed(cases["baton-lab --help"])  # warm the page cache: "cold" means a fresh process, not a cold disk
    rows = {}
    for _ in range(args.repeat):  # interleaved, so a burst of load hits every case alike
        for name, argv in cases.items():
            rows.setdefault(name, []).append(_timed(argv))
    print(f"load average {os.getloadavg()[0]:.1f}; medians of {args.repeat}")
    print(f"{'':22}{'wall s':>8}{'CPU s':>8}{'× floor (wall)':>16}")
    floor = statistics.median(w for w, _ in rows["python -c pass"])
    for name, times in rows.items():
        wall = statistics.median(w for w, _ in times)
        cpu = statistics.median(c for _, c in times)
        print(f"{name:22}{wall:8.3f}{cpu:8.3f}{wall / floor:16.1f}")


if __name__ == "__main__":
    main()
