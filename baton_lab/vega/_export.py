"""Figures to SVG + PNG, spread over processes: vl-convert renders one chart at a time per process.

Workers are plain `python -m baton_lab.vega._export JOBS FOLDER` subprocesses rather than a
multiprocessing pool: a pool would re-import the caller's __main__ (an unguarded script would run again)
or fork a process whose vl-convert runtime threads did not survive the fork. Every chunk runs in a
worker, none in the caller: vl-convert's native side aborts the whole process on input it cannot lay out
(a NUL in a label did, issue 17), and a report of a hostile store must end in an error, not take the
caller — a notebook kernel, a long fuzz run — down with it. A worker imports only this package (not
altair or the rest of baton_lab), so isolating costs a process start, not an import of the library.
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
OS_ERROR = 3   # a worker's exit code for "could not write": its stderr's last line is [errno, strerror, filename]


def export_chunk(jobs: list[tuple[str, dict]], folder: Path, png: bool, vl_version: str | None) -> list[Path]:
    from . import svg_to_png, to_svg

    written = []
    for key, spec in jobs:
        svg = folder / f"{key}.svg"
        text = to_svg(spec, vl_version)
        svg.write_text(text, encoding="utf-8")
        written.append(svg)
        if png:
            (folder / f"{key}.png").write_bytes(svg_to_png(text))
            written.append(folder / f"{key}.png")
    return written


def export(jobs: list[tuple[str, dict]], folder: Path, *, png: bool = True, vl_version: str | None = None) -> list[Path]:
    """Write `key.svg` (and `key.png`) into `folder` for each (key, Vega-Lite spec); the paths written.
    A renderer that fails or aborts is a BatonLabError; the caller's process is never at risk."""
    folder.mkdir(parents=True, exist_ok=True)
    workers = min(os.cpu_count() or 1, 4, max(1, len(jobs) // FIGURES_PER_WORKER))
    chunks = [chunk for chunk in (jobs[i::workers] for i in range(workers)) if chunk]
    with tempfile.TemporaryDirectory(prefix="baton-lab-figures-") as scratch:
        procs = []
        for n, chunk in enumerate(chunks):
            job_file = Path(scratch, f"jobs-{n}.json")
            job_file.write_text(json.dumps({"jobs": chunk, "vl_version": vl_version}), encoding="utf-8")
            procs.append(subprocess.Popen([sys.executable, "-m", __name__, str(job_file), str(folder), str(int(png))],
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        written: list[Path] = []
        try:
            for proc in procs:
                out, err = proc.communicate()
                if proc.returncode == OS_ERROR:
                    # the worker could not write (disk full, permissions): the same OSError as had the caller
                    # written the file itself, so the CLI maps it to its disk-full / permission message
                    raise OSError(*json.loads(err.strip().splitlines()[-1]))
                if proc.returncode:
                    # a negative code is a signal: the renderer aborted (SIGABRT) rather than raised
                    last = (err.strip().splitlines() or [f"the renderer process ended with code {proc.returncode}"])[-1]
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
    task = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    try:
        paths = export_chunk(task["jobs"], Path(sys.argv[2]), sys.argv[3] == "1", task["vl_version"])
    except OSError as exc:
        sys.stderr.write(json.dumps([exc.errno, exc.strerror, exc.filename]) + "\n")
        sys.exit(OS_ERROR)
    sys.stdout.write("".join(f"{p}\n" for p in paths))
