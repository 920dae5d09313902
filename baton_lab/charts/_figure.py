"""`Figure`: one chart with the sentence-title and caption a report prints around it."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

import altair as alt


@dataclass(frozen=True)
class Figure:
    key: str                  # stable slug, e.g. "L4-caught-regressions"; safe as a file name
    codes: tuple[str, ...]    # catalogue codes shown
    family: str               # loops | followups | patterns | decisions | flow | spiral
    title: str                # a sentence stating what the chart shows
    caption: str              # how to read it, with n and the interval method
    chart: Any = field(compare=False, repr=False)   # an Altair chart (its spec carries the title too)
    namespace: str = "(pooled)"   # whose numbers it shows; a figure of another namespace looks alike

    def _repr_html_(self) -> str:
        from ._export import to_svg

        # The HTML heading carries the title, so the SVG drops its own copy.
        untitled = self.chart.copy(deep=False)
        untitled.title = alt.Undefined
        return (f'<figure class="baton-lab-figure" id="{html.escape(self.key)}" style="margin:1em 0">'
                f'<div style="font-weight:600;margin-bottom:4px">{html.escape(self.title)}</div>'
                f"{to_svg(untitled)}"
                f'<figcaption style="color:#555;max-width:46em">{html.escape(" · ".join(self.codes))}, '
                f'{html.escape(self.namespace)}: '
                f"{html.escape(self.caption)}</figcaption></figure>")

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"text/html": self._repr_html_(), "text/plain": f"Figure {self.key} ({self.namespace}): {self.title}"}
