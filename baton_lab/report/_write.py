"""Write a Report to a folder: index.html, report.md, figures/ (SVG, and PNG on request), tables/ (Parquet + CSV),
provenance.json and, for the export bundle, LaTeX and Markdown tables of the headline metrics."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import polars as pl

from .. import vega
from ..charts import vl_version
from . import _latex
from ._html import render
from ._questions import questions_frame
from ._templates import render_markdown

if TYPE_CHECKING:
    from ..charts import Figure
    from ._build import Report

Step = Callable[[str], None]


@dataclass
class Written:
    """What was written where; `index` is the page to open (None for an export bundle)."""

    out: Path
    index: Path | None
    report: "Report"
    files: list[Path] = field(default_factory=list)

    def __str__(self) -> str:
        return str(self.index or self.out)


def _frame_file(frame: pl.DataFrame, folder: Path, name: str) -> list[Path]:
    # CSV holds no nested values: list/struct columns are written as JSON text there, kept as-is in Parquet
    flat = frame.with_columns(pl.col(c).map_elements(json.dumps, return_dtype=pl.String)
                              for c, t in frame.schema.items() if t.is_nested())
    parquet, csv = folder / f"{name}.parquet", folder / f"{name}.csv"
    frame.write_parquet(parquet)
    flat.write_csv(csv)
    return [parquet, csv]


def write_tables(report: "Report", folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    result = report.result
    written = _frame_file(result.rows, folder, "metrics")
    counts = pl.DataFrame([{"namespace": ns, **c} for ns, c in result.counts.items()]) if result.counts else pl.DataFrame()
    written += _frame_file(counts, folder, "headline_counts")
    for metric_id, curve in result.curves.items():
        written += _frame_file(curve, folder, f"curve_{metric_id}")
    for metric_id, items in result.items.items():
        written += _frame_file(items, folder, f"items_{metric_id}")
    if report.org is not None and report.org.result is not None:
        org = report.org.result
        for name, frame in (("org_metrics", org.rows), ("org_loops", org.loops), ("org_pairs", org.pairs),
                            ("org_files", org.files), ("org_timeline", org.timeline)):
            written += _frame_file(frame, folder, name)
    written += _frame_file(report.quality.quarantine, folder, "quarantine")
    written += _frame_file(report.sources, folder, "sources")
    written += _frame_file(questions_frame(report.questions, report.namespace), folder, "questions")
    if report.compared is not None:
        written += _frame_file(report.compared.effects, folder, "comparison_effects")
    if report.prose is not None:
        written += _frame_file(report.prose, folder, "prose_identity")
    return written


def figure_specs(figures: list["Figure"]) -> Iterator[tuple[str, dict]]:
    """Each figure's Vega-Lite spec with its key, one at a time (the writer sends each to a renderer before
    making the next). Not validated here: altair's jsonschema validation was half the time of turning the charts
    into specs (~1 s of the demo report) and checks code, not data — the tests validate every demo figure's spec
    against the Vega-Lite schema (test_report.py)."""
    for f in figures:
        yield f.key, f.chart.to_dict(validate=False)


def write(report: "Report", out: str | os.PathLike[str], *, html: bool = True, latex: bool = False, png: bool = False,
          on_step: Step | None = None) -> Written:
    """Write the report files into `out` (created if needed; figures/ and tables/ of an earlier run are replaced).
    Figures are SVG; `png=True` adds a PNG copy of each (for LaTeX and slides; it doubles the export time). Each
    figure goes to a renderer as soon as its spec is made, so rendering overlaps the remaining specs, the tables and
    the pages. (Starting the renderers before the metrics are computed was tried: on a 2-core machine it did not
    pay — each vl-convert worker uses ~1.4 cores and slowed the chart drawing it overlapped; see the README.)"""
    step = on_step or (lambda _label: None)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    folder = out / "figures"
    for ours in (folder, out / "tables"):   # a stale curve or figure of an earlier run must not pass for this one
        shutil.rmtree(ours, ignore_errors=True)
    folder.mkdir()
    with vega.Renderers(png=png, vl_version=vl_version(), workers=vega.workers_for(len(report.figures))) as renderers:
        step("sending figures to the renderers")
        specs: dict[str, dict] = {}
        for key, spec in figure_specs(report.figures):
            specs[key] = spec
            renderers.submit(spec, folder / key)
        files = _write_files(report, out, specs, html=html, latex=latex, png=png, step=step)
        step("exporting figures (SVG, PNG)" if png else "exporting figures (SVG)")
        files += renderers.finish()
    index = out / "index.html" if html else None
    return Written(out, index, report, files)


def _write_files(report: "Report", out: Path, specs: dict[str, dict], *, html: bool, latex: bool, png: bool,
                 step: Step) -> list[Path]:
    step("writing tables")
    files = write_tables(report, out / "tables")
    step("writing report.md")
    (out / "report.md").write_text(render_markdown(report, png=png), encoding="utf-8")
    files.append(out / "report.md")
    (out / "provenance.json").write_text(json.dumps(report.provenance, indent=2, ensure_ascii=False, default=str),
                                         encoding="utf-8")
    files.append(out / "provenance.json")
    if latex:
        step("writing headline tables (LaTeX, Markdown)")
        files += _latex.write_headline_tables(report, out)
    if html:
        step("writing index.html")
        (out / "index.html").write_text(render(report, specs), encoding="utf-8")
        files.append(out / "index.html")
    return files
