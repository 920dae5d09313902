"""Assemble a Report from the store: metrics, the three answers, a section per tier, quality and provenance.

Everything the renderers show is decided here, so the HTML, the Markdown and the export cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable

import polars as pl

from ..metrics import REGISTRY, MetricResult, compute
from ..metrics.schema import POOLED
from . import _org, _store_facts
from ._questions import Question, answer_all

if TYPE_CHECKING:
    from ..charts import Figure
    from ..lab import Lab

Step = Callable[[str], None]

# One section per tier (concepts.md), then the baton as a whole; the spiral index gets its own section.
TIERS = (
    ("loops", "Open loops", "Did the work verified last session still hold? Verification coverage, time to verify, "
     "caught regressions and silent drops (L1–L9)."),
    ("followups", "Follow-ups", "Do deferred items get done, or only deferred again? (F1–F4)"),
    ("patterns", "Patterns", "From recurring mistake to rule: recurrence, the graduation funnel, gate latency, "
     "rule effectiveness against a regression-to-the-mean control, and the Anti-Ouroboros gate (P1–P9)."),
    ("decisions", "Decisions", "How long decisions last, how often they are reversed, and whether they cite "
     "evidence (D1–D4)."),
    ("flow", "Baton flow", "Is the baton read and acted on? Read receipts, touch rate, carry-over, closure ratio, "
     "size pressure and rework (B1–B7)."),
)
TOP_PATTERNS = 15


@dataclass
class Section:
    key: str
    title: str
    intro: str
    rows: list[dict[str, Any]]                   # overall MetricRows rows of the namespace, with the metric title
    figures: list["Figure"] = field(default_factory=list)
    table_title: str = ""
    table: pl.DataFrame | None = None            # an extra per-item table (patterns: the most recurring ones)


@dataclass
class Report:
    title: str
    namespace: str                               # the namespace the report is about, or "(pooled)"
    namespaces: list[str]
    window: int
    generated_at: datetime
    result: MetricResult
    questions: list[Question]
    comparison: pl.DataFrame                     # primary endpoints: one row per evidence item, one column per namespace
    sections: list[Section]
    spiral: Section
    quality: _store_facts.Quality
    sources: pl.DataFrame
    provenance: dict[str, Any]
    org: _org.OrgSection | None = None           # "Loops across the repository", when a repository is imported
    comparisons: Section | None = None           # `--compare`: forest, ITS charts and the effects table
    compared: Any = None                         # the baton_lab.compare.Comparison behind it
    prose: pl.DataFrame | None = None            # prose formats: items matched across versions, metrics supported

    @property
    def figures(self) -> list["Figure"]:
        extra = (self.comparisons,) if self.comparisons is not None else ()
        return ([f for s in (*self.sections, self.spiral, *extra) for f in s.figures]
                + (self.org.figures if self.org else []))

    def write(self, out, *, html: bool = True, latex: bool = False, png: bool = False,  # noqa: ANN001, ANN201
              on_step: Step | None = None):
        """index.html, report.md, figures/ (SVG; `png=True` adds PNG), tables/ and provenance.json in `out`."""
        from ._write import write

        return write(self, out, html=html, latex=latex, png=png, on_step=on_step)

    def _repr_html_(self) -> str:
        from ._html import render_summary

        return render_summary(self)


def _section_rows(result: MetricResult, namespace: str, family: str) -> list[dict[str, Any]]:
    ids = [m.id for m in REGISTRY.values() if m.family == family]
    rows = (result.rows.filter(pl.col("overall") & (pl.col("namespace") == namespace) & pl.col("metric_id").is_in(ids))
            .with_columns(order=pl.col("metric_id").replace_strict({i: n for n, i in enumerate(ids)}, default=99)))
    out = rows.sort("order", "variant", maintain_order=True).drop("order").to_dicts()
    for row in out:
        row["title"] = REGISTRY[row["metric_id"]].title
    return out


def _comparison(result: MetricResult, questions: list[Question]) -> pl.DataFrame:
    namespaces = sorted(set(result.counts)) + [POOLED]
    records = []
    for q in questions:
        for e in q.primary:
            rows = result.rows.filter(pl.col("overall") & (pl.col("metric_id") == e.metric_id)
                                      & (pl.col("variant") == e.variant))
            by_ns = {r["namespace"]: r for r in rows.iter_rows(named=True)}
            records.append({"question": q.key, "label": e.label, "code": e.code, "metric_id": e.metric_id,
                            "variant": e.variant, **{ns: by_ns.get(ns) for ns in namespaces}})
    return pl.DataFrame(records, schema_overrides={ns: pl.Object for ns in namespaces}) if records else pl.DataFrame()


def _top_patterns(result: MetricResult, texts: pl.DataFrame, namespace: str) -> pl.DataFrame | None:
    per_pattern = result.items.get("pattern_recurrence_rate")
    if per_pattern is None or not per_pattern.height:
        return None
    if namespace != POOLED:
        per_pattern = per_pattern.filter(pl.col("namespace") == namespace)
    return (per_pattern.join(texts, on=["namespace", "pattern_id"], how="left")
            .sort(["k", "e"], descending=[True, False], nulls_last=True).head(TOP_PATTERNS)
            .select("namespace", "pattern_id", "text", "k", "e", "rate", "ci_low", "ci_high"))


def _prose_confidence(con: Any, namespaces: list[str] | None) -> pl.DataFrame | None:
    """How far a prose namespace's items can be followed across versions, and which metric families its format
    supports (the rest are `not_supported`, and a question resting on them says it cannot be answered)."""
    from ..store.prose_identity import identity_confidence
    from ..support import support_matrix

    frame = identity_confidence(con, namespaces)
    if frame.height == 0:
        return None
    families = {row["name"]: ", ".join(f"{family} ({len(ids)})" for family, ids in row["metrics"].items())
                for row in support_matrix() if row["kind"] == "document"}
    return frame.with_columns(metrics_supported=pl.col("format").replace_strict(families, default=None))


def _comparison_section(lab: "Lab", spec: str, namespace: str | None) -> tuple[Section, Any]:
    """The "Comparisons" section of `--compare SPEC` (baton_lab.compare.parse_spec)."""
    from .. import charts
    from ..compare import parse_spec, section_table

    arms = parse_spec(spec)
    result = lab.compare(**arms, namespaces=[namespace] if namespace and "split" in arms else None)
    intro = (f"Arm A: {result.arm_a.name} ({result.arm_a.sessions} sessions); arm B: {result.arm_b.name} "
             f"({result.arm_b.sessions} sessions). Every catalogue metric both arms support, the effect of B against A "
             f"with its 95% interval, and Benjamini–Hochberg across the {result.n_tested} effects tested "
             f"({result.n_discoveries} discoveries); adjusted intervals at {100 * result.fcr_confidence:.1f}%.")
    section = Section("comparisons", "Comparisons", intro, [], charts.comparison(result),
                      "Effects, B against A (rows with data in both arms)", section_table(result))
    return section, result


def build(lab: "Lab", *, namespace: str | None = None, window: int = 10, title: str | None = None,
          on_step: Step | None = None, compare: str | None = None) -> Report:
    """Compute everything a report shows. `namespace` restricts the report to one namespace; by default it
    covers every namespace and leads with the pooled numbers."""
    from .. import charts

    step = on_step or (lambda _label: None)
    generated_at = datetime.now(timezone.utc)
    with lab.connect(read_only=True) as con:
        step("computing metrics")
        result = compute(con, namespace, None, window)
        focus = namespace or POOLED
        namespaces = sorted(result.counts)
        step("reading data quality and provenance")
        quality = _store_facts.quality(con, [namespace] if namespace else None)
        src = _store_facts.sources(con, [namespace] if namespace else None)
        texts = _store_facts.pattern_texts(con)
        provenance = _store_facts.provenance(con, None if getattr(lab, "temporary", False) else str(lab.path), src, namespaces=namespaces, window=window,
                                             generated_at=generated_at)
        prose = _prose_confidence(con, [namespace] if namespace else None)
        step("loops across the repository")
        org = _org.section(con)
        if org is not None:
            provenance["repositories"] = _org.repositories(con)
    step("answering the three questions")
    questions = answer_all(result, focus)
    step("drawing charts")
    family_figures = {"loops": charts.loops, "followups": charts.followups, "patterns": charts.patterns,
                      "decisions": charts.decisions, "flow": charts.flow}
    sections = []
    for family, heading, intro in TIERS:
        section = Section(family, heading, intro, _section_rows(result, focus, family),
                          family_figures[family](result, focus))
        if family == "patterns":
            section.table = _top_patterns(result, texts, focus)
            section.table_title = f"The {TOP_PATTERNS} patterns with the most recurrences (k in e sessions at risk)"
        sections.append(section)
    spiral = Section("spiral", "Spiral index", "A pre-registered sign-consistency vote over twelve directional "
                     "components (metrics.md §4.6). Read the component table, never the index alone.",
                     _section_rows(result, focus, "spiral"), charts.spiral(result, focus))
    components = result.items.get("spiral_index")
    if components is not None:
        spiral.table = components.filter(pl.col("namespace") == focus).drop("namespace")
        spiral.table_title = "Components of the spiral index"
    comparisons, compared = (None, None)
    if compare:
        step("comparing the arms")
        comparisons, compared = _comparison_section(lab, compare, namespace)
    return Report(title or ("baton_lab report" + (f": {namespace}" if namespace else "")), focus, namespaces, window,
                  generated_at, result, questions, _comparison(result, questions), sections, spiral, quality, src,
                   provenance, org, comparisons, compared, prose)
