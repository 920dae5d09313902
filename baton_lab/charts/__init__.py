"""Charts of the metric catalogue: one function per family, each returning titled, captioned Figures.

    from baton_lab import charts
    r = baton_lab.open().metrics()
    for fig in charts.figures(r):                 # all families in catalogue order
        open(f"{fig.key}.svg", "w").write(charts.to_svg(fig.chart))

Every chart is built from the MetricResult's pre-aggregated frames (never store rows), renders offline
through vl-convert, and uses the "baton_lab" Altair theme, enabled on import. A figure with nothing to
draw — a metric the batons cannot support, or no data — is still returned, as a text chart saying why
(its caption says the same), so a family always returns the same keys for a given namespace; only the
pooled view adds one figure, SI-by-namespace. For "(pooled)", time-to-event curves and whole-range bars
show each namespace beside the pool (up to eight namespaces), windowed series show the pooled counts.
"""

from __future__ import annotations

from typing import Any

from . import _compare, _decisions, _flow, _followups, _loops, _org, _patterns, _spiral
from ._data import POOLED
from ._export import enable_notebook_renderer, svg_to_png, to_png, to_svg, vl_version
from ._figure import Figure
from ._theme import THEME

__all__ = ["THEME", "Figure", "decisions", "enable_notebook_renderer", "figures", "flow", "followups", "loops",
           "org", "patterns", "spiral", "svg_to_png", "to_png", "to_svg", "vl_version"]
__all__ += ["comparison"]


def _run(builders: tuple, result: Any, namespace: str) -> list[Figure]:
    return [build(result, namespace) for build in builders]


def loops(result: Any, namespace: str = POOLED) -> list[Figure]:
    """Open loops, L1–L9."""
    return _run(_loops.BUILDERS, result, namespace)


def followups(result: Any, namespace: str = POOLED) -> list[Figure]:
    """Follow-ups, F1–F4."""
    return _run(_followups.BUILDERS, result, namespace)


def patterns(result: Any, namespace: str = POOLED) -> list[Figure]:
    """Patterns → rules, P1–P9."""
    return _run(_patterns.BUILDERS, result, namespace)


def decisions(result: Any, namespace: str = POOLED) -> list[Figure]:
    """Decisions, D1–D4."""
    return _run(_decisions.BUILDERS, result, namespace)


def flow(result: Any, namespace: str = POOLED) -> list[Figure]:
    """Baton-level flow, B1–B7."""
    return _run(_flow.BUILDERS, result, namespace)


def spiral(result: Any, namespace: str = POOLED) -> list[Figure]:
    """The spiral index: its component vote and headline (and, for the pool, the vote per namespace)."""
    return _run(_spiral.builders(namespace), result, namespace)


def org(result: Any, repo: str) -> list[Figure]:
    """Loops across a repository (an `OrgResult` of baton_lab.metrics.org): undone shares, the loop-by-loop
    conflict matrix, the files where loops fight, the weekly timeline and line survival."""
    return _run(_org.BUILDERS, result, repo)


def figures(result: Any, namespace: str = POOLED) -> list[Figure]:
    """Every family in catalogue order: loops, follow-ups, patterns, decisions, flow, spiral."""
    return [fig for family in (loops, followups, patterns, decisions, flow, spiral) for fig in family(result, namespace)]


def comparison(result: Any) -> list[Figure]:
    """A comparison (baton_lab.compare): the forest plot of effects, and the ITS chart per endpoint of a split."""
    return _compare.figures(result)
