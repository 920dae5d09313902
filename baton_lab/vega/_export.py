"""Figures to SVG + PNG, spread over processes: vl-convert renders one chart at a time per process.

Workers are plain `python -m baton_lab.vega JOBS FOLDER PNG` subprocesses rather than a multiprocessing
pool: a pool would re-import the caller's __main__ (an unguarded script would run again) or fork a process
whose vl-convert runtime threads did not survive the fork. Every chunk runs in a worker, none in the
caller: vl-convert's native side aborts the whole process on input it cannot lay out (a NUL in a label did,
issue 17), and a report of a hostile store must end in an error, not take the calling process — a script,
a long fuzz run — down with it. A worker imports only this package (not altair or the rest of baton_lab),
so isolating costs a process start, not an import of the library.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ..errors import BatonLabError

# below this many figures per extra process, starting the process costs more than it saves
FIGURES_PER_WORKER = 12
OS_ERROR = 3   # a worker's exit code for "could not write": its stderr's last line is [errno, strerror, filename]
# A renderer that hangs must not hang the report: 48 figures take ~5 s, 100,000-session reports the same.
TIMEOUT_S = 600
_ERROR_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit)\b")


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


def _failure(proc: subprocess.Popen, err: str) -> Exception:
    if proc.returncode == OS_ERROR:
        # the worker could not write (disk full, permissions): the same OSError as had the caller written the
        # file itself, so the CLI maps it to its disk-full / permission message
        return OSError(*json.loads(err.strip().splitlines()[-1]))
    # a negative code is a signal: the renderer aborted (SIGABRT) or was killed rather than raised. A raised
    # error ends with Python's "SomeError: message" line, after vl-convert's JavaScript stack frames.
    lines = err.strip().splitlines()
    last = next((line for line in reversed(lines) if _ERROR_LINE.match(line)), lines[-1] if lines else "no message")
    return BatonLabError(f"a figure could not be exported (renderer exit code {proc.returncode}): {last}",
                         hint="report it with the store's `baton-lab info`")


def export(jobs: list[tuple[str, dict]], folder: Path, *, png: bool = True, vl_version: str | None = None) -> list[Path]:
    """Write `key.svg` (and `key.png`) into `folder` for each (key, Vega-Lite spec); the paths written.
    A renderer that fails, aborts or hangs is a BatonLabError; the caller's process is never at risk."""
    folder.mkdir(parents=True, exist_ok=True)
    workers = min(os.cpu_count() or 1, 4, max(1, len(jobs) // FIGURES_PER_WORKER))
    chunks = [chunk for chunk in (jobs[i::workers] for i in range(workers)) if chunk]
    procs: list[subprocess.Popen] = []
    with tempfile.TemporaryDirectory(prefix="baton-lab-figures-") as scratch:
        try:
            for n, chunk in enumerate(chunks):
                job_file = Path(scratch, f"jobs-{n}.json")
                job_file.write_text(json.dumps({"jobs": chunk, "vl_version": vl_version}), encoding="utf-8")
                procs.append(subprocess.Popen([sys.executable, "-m", "baton_lab.vega", str(job_file), str(folder),
                                               str(int(png))], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                              encoding="utf-8", errors="replace"))
            deadline = time.monotonic() + TIMEOUT_S
            for proc in procs:
                try:
                    _, err = proc.communicate(timeout=max(1.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    raise BatonLabError(f"a figure could not be exported: the renderer did not finish in {TIMEOUT_S} s",
                                        hint="report it with the store's `baton-lab info`") from None
                if proc.returncode:
                    raise _failure(proc, err)
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.communicate()   # reap it and close its pipe
    # the caller names the files itself: nothing passes back through a worker's (locale-encoded) stdout
    return [folder / f"{key}.{ext}" for chunk in chunks for key, _ in chunk for ext in (("svg", "png") if png else ("svg",))]


def main(argv: list[str]) -> None:
    """The worker: render one chunk; an OSError leaves as exit code OS_ERROR with its parts on stderr."""
    task = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    try:
        export_chunk(task["jobs"], Path(argv[1]), argv[2] == "1", task["vl_version"])
    except OSError as exc:
        sys.stderr.write(json.dumps([exc.errno, exc.strerror, exc.filename]) + "\n")
        sys.exit(OS_ERROR)
