"""`baton-lab report` and `baton-lab export`: the store's metrics as a self-contained HTML page, Markdown with
SVG/PNG figures, Parquet/CSV tables and provenance; the export bundle adds LaTeX/Markdown headline tables.

    import baton_lab as bl
    report = bl.report.build(bl.open())          # Report: answers, sections, figures (shows in Jupyter)
    report.write("reports/mine")                 # index.html, report.md, figures/ (SVG), tables/, provenance.json
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import BatonLabError
from ..lab import Lab
from ._build import Report, Section, build
from ._questions import (ACTED_ON_FALL, ACTED_ON_HIGH, GATE_LATENCY_TARGET, SILENT_DROP_LOW, Criterion, Question,
                         answer_all as answer_questions, questions_frame)
from ._templates import VERDICT_LABEL
from ._write import Step, Written, write

__all__ = ["ACTED_ON_FALL", "ACTED_ON_HIGH", "GATE_LATENCY_TARGET", "SILENT_DROP_LOW", "VERDICT_LABEL", "Criterion",
           "Question", "Report", "Section", "Step", "Written", "answer_questions", "build", "questions_frame",
           "run_export", "run_report", "write"]


@contextmanager
def _lab(db: str | os.PathLike[str] | None, demo: bool, on_step: Step | None) -> Iterator[Lab]:
    """The store to report on, opened read-only. With `demo`: the bundled demo data in a temporary store that is
    removed afterwards, or, when `db` names a new file, in that file, kept."""
    from .. import demo as demo_data
    from ..store.connection import resolve_path

    if not demo:
        yield Lab(resolve_path(db), read_only=True)  # a mistyped --db is an error, never a new empty store
        return
    if on_step:
        on_step("importing the bundled demo data")
    if db is None:
        with demo_data.temporary_store() as (lab, _):
            yield lab
        return
    path = resolve_path(db)
    if path.exists():
        raise BatonLabError(f"--demo imports into a new store, and {path} already exists",
                            hint="drop --db (a temporary store is used) or name a file that does not exist yet")
    yield Lab(demo_data.run(path)["db"], read_only=True)


def _writable(out: str | os.PathLike[str]) -> Path:
    """The output folder, created now, so a bad --out fails before minutes of work, with a hint."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise BatonLabError(f"--out {out} is a file", hint="--out names a folder (created if needed)")
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".baton-lab-write-test"
        probe.touch()
        probe.unlink()
    except OSError as exc:
        raise BatonLabError(f"cannot write to {out}: {exc.strerror or exc}",
                            hint="--out must be a folder you can write") from None
    return out


def run_report(db: str | os.PathLike[str] | None, out: str | os.PathLike[str], *, demo: bool = False,
               namespace: str | None = None, window: int = 10, on_step: Step | None = None,
               compare: str | None = None, png: bool = False) -> Written:
    """Build and write the report of a store (or, with `demo`, of the bundled demo data in a new store);
    `compare` adds a "Comparisons" section (baton_lab.compare.parse_spec: "ns1 vs ns2", or a split); `png=True`
    adds a PNG copy of each figure beside its SVG."""
    out = _writable(out)
    with _lab(db, demo, on_step) as lab:
        report = build(lab, namespace=namespace, window=window, on_step=on_step,
                       title="baton_lab report: bundled demo data" if demo else None, compare=compare)
        return write(report, out, png=png, on_step=on_step)


def run_export(db: str | os.PathLike[str] | None, out: str | os.PathLike[str], *, demo: bool = False,
               namespace: str | None = None, window: int = 10, on_step: Step | None = None) -> Written:
    """The bundle for a write-up: tables, figures (SVG and PNG: LaTeX takes PNG, not SVG), report.md,
    LaTeX/Markdown headline tables, provenance."""
    out = _writable(out)
    with _lab(db, demo, on_step) as lab:
        report = build(lab, namespace=namespace, window=window, on_step=on_step)
        return write(report, out, html=False, latex=True, png=True, on_step=on_step)
