"""Figures to SVG (+ PNG), spread over processes: vl-convert renders one chart at a time per process.

Workers are plain `python -m baton_lab.vega PNG VL_VERSION` subprocesses reading one JSON job a line on
stdin, rather than a multiprocessing pool: a pool would re-import the caller's __main__ (an unguarded script
would run again) or fork a process whose vl-convert runtime threads did not survive the fork. Every figure
renders in a worker, none in the caller: vl-convert's native side aborts the whole process on input it
cannot lay out (a NUL in a label did, issue 17), and a report of a hostile store must end in an error, not
take the calling process — a script, a long fuzz run — down with it. A worker imports only this package
(not altair or the rest of baton_lab), so isolating costs a process start, not an import of the library.

`Renderers` starts the workers before there is anything to render: each boots its JavaScript runtime and
loads Vega-Lite (~0.5–0.7 s) at once, with a warm-up render, and is sent each figure as soon as its spec
exists, so rendering overlaps making the remaining specs and writing the tables and pages; `export` is the
same for a list of figures known up front.
"""

from __future__ import annotations

import json
import os
import queue
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import IO, Any

from ..errors import BatonLabError

# below this many figures per extra process, starting the process costs more than it saves
FIGURES_PER_WORKER = 12
MAX_WORKERS = 4
OS_ERROR = 3   # a worker's exit code for "could not write": its stderr's last line is [errno, strerror, filename]
# A renderer that hangs must not hang the report: 48 figures take ~3 s, 100,000-session reports the same.
TIMEOUT_S = 600
_ERROR_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit)\b")
# rendered by each worker on start, so the runtime and this Vega-Lite version are loaded before the first figure
_WARM_UP = {"mark": "point"}


def _failure(returncode: int, err: str) -> Exception:
    if returncode == OS_ERROR:
        # the worker could not write (disk full, permissions): the same OSError as had the caller written the
        # file itself, so the CLI maps it to its disk-full / permission message
        return OSError(*json.loads(err.strip().splitlines()[-1]))
    # a negative code is a signal: the renderer aborted (SIGABRT) or was killed rather than raised. A raised
    # error ends with Python's "SomeError: message" line, after vl-convert's JavaScript stack frames.
    lines = err.strip().splitlines()
    last = next((line for line in reversed(lines) if _ERROR_LINE.match(line)), lines[-1] if lines else "no message")
    return BatonLabError(f"a figure could not be exported (renderer exit code {returncode}): {last}",
                         hint="report it with the store's `baton-lab info`")


class _Worker:
    """One worker process and the thread feeding it: a slow worker blocks its own feeder, never the caller."""

    def __init__(self, png: bool, vl_version: str | None) -> None:
        self.err: IO[bytes] = tempfile.TemporaryFile()   # a file, not a pipe: a chatty renderer cannot fill it and stall
        try:
            self.proc = subprocess.Popen([sys.executable, "-m", "baton_lab.vega", str(int(png)), vl_version or ""],
                                         stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self.err)
        except BaseException:
            self.err.close()
            raise
        self.jobs: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self.feeder = threading.Thread(target=self._feed, daemon=True)
        self.feeder.start()

    def _feed(self) -> None:
        stdin = self.proc.stdin
        assert stdin is not None
        try:
            while (line := self.jobs.get()) is not None:
                stdin.write(line)
                stdin.flush()
        except OSError:   # the worker died (BrokenPipe): its exit code says why, at finish()
            return
        finally:
            try:
                stdin.close()   # end of jobs: the worker finishes what it has and exits
            except OSError:
                pass

    def stderr(self) -> str:
        self.err.seek(0)
        return self.err.read().decode("utf-8", errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.jobs.put(None)
        self.err.close()


class Renderers:
    """Worker processes rendering Vega-Lite specs to files, started now and fed as figures come.

        with Renderers(png=False, vl_version="6.1") as pool:
            pool.submit({"mark": ...}, folder / "one")      # writes folder/one.svg (and one.png)
            written = pool.finish()                          # waits; the paths, in submission order

    A renderer that fails, aborts or hangs is a BatonLabError at `finish()`; a worker that cannot write is that
    OSError; leaving the block early (an error in the caller) kills the workers."""

    def __init__(self, *, png: bool = True, vl_version: str | None = None, workers: int | None = None) -> None:
        self.png = png
        n = workers or min(os.cpu_count() or 1, MAX_WORKERS)
        self._workers: list[_Worker] = []
        try:
            for _ in range(max(1, n)):
                self._workers.append(_Worker(png, vl_version))
        except BaseException:   # a worker that could not start (no processes or files left): stop those that did
            self.close()
            raise
        self._written: list[Path] = []
        self._next = 0

    def submit(self, spec: dict[str, Any], stem: Path) -> None:
        """Render `spec` to `stem`.svg (and `stem`.png); the folder must exist."""
        svg, png = stem.with_name(stem.name + ".svg"), stem.with_name(stem.name + ".png")
        job = {"spec": spec, "svg": str(svg), "png": str(png) if self.png else None}
        # round robin: figures of one report cost about the same, and order keeps each worker's share even
        self._workers[self._next % len(self._workers)].jobs.put((json.dumps(job) + "\n").encode("utf-8"))
        self._next += 1
        self._written += [svg, png] if self.png else [svg]

    def finish(self) -> list[Path]:
        """Wait for every figure submitted; the paths written."""
        for worker in self._workers:
            worker.jobs.put(None)
        deadline = time.monotonic() + TIMEOUT_S
        for worker in self._workers:
            try:
                worker.proc.wait(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                raise BatonLabError(f"a figure could not be exported: the renderer did not finish in {TIMEOUT_S} s",
                                    hint="report it with the store's `baton-lab info`") from None
            worker.feeder.join()
            if worker.proc.returncode:
                raise _failure(worker.proc.returncode, worker.stderr())
        return list(self._written)

    def close(self) -> None:
        for worker in self._workers:
            worker.stop()

    def __enter__(self) -> Renderers:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def workers_for(figures: int) -> int:
    return min(os.cpu_count() or 1, MAX_WORKERS, max(1, figures // FIGURES_PER_WORKER))


def export(jobs: list[tuple[str, dict]], folder: Path, *, png: bool = True, vl_version: str | None = None) -> list[Path]:
    """Write `key.svg` (and `key.png`) into `folder` for each (key, Vega-Lite spec); the paths written.
    A renderer that fails, aborts or hangs is a BatonLabError; the caller's process is never at risk."""
    folder.mkdir(parents=True, exist_ok=True)
    if not jobs:
        return []
    with Renderers(png=png, vl_version=vl_version, workers=workers_for(len(jobs))) as pool:
        for key, spec in jobs:
            pool.submit(spec, folder / key)
        return pool.finish()


def main(argv: list[str]) -> None:
    """The worker: warm up, then render each job line of stdin; an OSError leaves as exit code OS_ERROR with its
    parts on stderr, anything else as Python's traceback."""
    from . import svg_to_png, to_svg

    png, vl_version = argv[0] == "1", argv[1] or None
    to_svg(_WARM_UP, vl_version)
    try:
        for line in sys.stdin.buffer:
            job = json.loads(line)
            text = to_svg(job["spec"], vl_version)
            Path(job["svg"]).write_text(text, encoding="utf-8")
            if png:
                Path(job["png"]).write_bytes(svg_to_png(text))
    except OSError as exc:
        sys.stderr.write(json.dumps([exc.errno, exc.strerror, exc.filename]) + "\n")
        sys.exit(OS_ERROR)
