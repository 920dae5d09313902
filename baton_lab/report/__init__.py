"""`baton-lab report` and `baton-lab export`: the store's metrics as a self-contained HTML page, Markdown with
SVG/PNG figures, Parquet/CSV tables and provenance; the export bundle adds LaTeX/Markdown headline tables.

    import baton_lab as bl
    report = bl.report.build(bl.open())          # Report: answers, sections, figures (shows in Jupyter)
    report.write("reports/mine")                 # index.html, report.md, figures/, tables/, provenance.json
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ._build import Report, Section, build
from ._questions import GATE_LATENCY_TARGET, SILENT_DROP_LOW, Question, answer_all as answer_questions
from ._write import Step, Written, write

__all__ = ["GATE_LATENCY_TARGET", "SILENT_DROP_LOW", "Question", "Report", "Section", "Step", "Written",
           "answer_questions", "build", "run_export", "run_report", "write"]


def _lab(db: str | os.PathLike[str] | None, demo: bool, on_step: Step | None):  # noqa: ANN202 - Lab
    from .. import demo as demo_data
    from ..lab import Lab

    if not demo:
        return Lab(db)
    if on_step:
        on_step("importing the bundled demo data")
    target = db or Path(tempfile.mkdtemp(prefix="baton-lab-demo-")) / "demo.duckdb"
    return Lab(demo_data.run(target)["db"])


def run_report(db: str | os.PathLike[str] | None, out: str | os.PathLike[str], *, demo: bool = False,
               namespace: str | None = None, window: int = 10, on_step: Step | None = None) -> Written:
    """Build and write the report of a store (or, with `demo`, of the bundled demo data in a new store)."""
    lab = _lab(db, demo, on_step)
    report = build(lab, namespace=namespace, window=window, on_step=on_step,
                   title="baton_lab report: bundled demo data" if demo else None)
    return write(report, out, on_step=on_step)


def run_export(db: str | os.PathLike[str] | None, out: str | os.PathLike[str], *, demo: bool = False,
               namespace: str | None = None, window: int = 10, on_step: Step | None = None) -> Written:
    """The bundle for a write-up: tables, figures, report.md, LaTeX/Markdown headline tables, provenance."""
    lab = _lab(db, demo, on_step)
    report = build(lab, namespace=namespace, window=window, on_step=on_step)
    return write(report, out, html=False, latex=True, on_step=on_step)
