"""Figures to SVG + PNG, spread over processes: vl-convert renders one chart at a time per process.

Workers are plain `python -m baton_lab.report._figure_export JOBS FOLDER` subprocesses rather than a
multiprocessing pool: a pool would re-import the caller's __main__ (an unguarded script would run again)
or fork a process whose vl-convert runtime threads did not survive the fork.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from ..errors import BatonLabError

# below this many figures per extra process, starting the process costs more than it saves
FIGURES_PER_WORKER = 12


def export_chunk(jobs: list[tuple[str, dict]], folder: Path, png: bool = True) -> list[Path]:
    from .. import charts

    written = []
    for key, spec in jobs:
        svg = folder / f"{key}.svg"
        text = charts.to_svg(spec)
        svg.write_text(text, encoding="utf-8")
        written.append(svg)
        if png:
            (folder / f"{key}.png").write_bytes(charts.svg_to_png(text))
            written.append(folder / f"{key}.png")
    return written


def export(jobs: list[tuple[str, dict]], folder: Path, *, png: bool = True) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    workers = min(os.cpu_count() or 1, 4, max(1, len(jobs) // FIGURES_PER_WORKER))
    chunks = [jobs[i::workers] for i in range(workers)]
    with tempfile.TemporaryDirectory(prefix="baton-lab-figures-") as scratch:
        procs = []
        for n, chunk in enumerate(chunks[1:]):
            job_file = Path(scratch, f"jobs-{n}.json")
            job_file.write_text(json.dumps(chunk), encoding="utf-8")
            procs.append(subprocess.Popen([sys.executable, "-m", __name__, str(job_file), str(folder), str(int(png))],
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        try:
            written = export_chunk(chunks[0], folder, png)   # this process takes the first share itself
            for proc in procs:
                out, err = proc.communicate()
                if proc.returncode:
                    last = (err.strip().splitlines() or ["no message"])[-1]
                    raise BatonLabError(f"a figure could not be exported: {last}",
                                        hint="report it with the store's `baton-lab info`; `png=False` skips PNG")
                written += [Path(line) for line in out.splitlines() if line]
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
    return written


if __name__ == "__main__":
    paths = export_chunk(json.loads(Path(sys.argv[1]).read_text(encoding="utf-8")), Path(sys.argv[2]), sys.argv[3] == "1")
    sys.stdout.write("".join(f"{p}\n" for p in paths))
