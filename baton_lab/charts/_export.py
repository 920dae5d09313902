"""Offline rendering through vl-convert: SVG, PNG, and a Jupyter renderer that needs no CDN."""

from __future__ import annotations

from typing import Any

import altair as alt
import vl_convert as vlc

from .. import vega

RENDERER = "baton_lab_svg"


def vl_version() -> str | None:
    """The Vega-Lite version to render with: the one Altair wrote its specs for; None = vl-convert's newest."""
    major, minor = alt.SCHEMA_VERSION.lstrip("v").split(".")[:2]
    wanted = f"{major}.{minor}"
    return wanted if wanted in vlc.get_vegalite_versions() else None


def _spec(chart: Any) -> dict:
    return chart if isinstance(chart, dict) else chart.to_dict()


def to_svg(chart: Any) -> str:
    """The chart (an Altair chart or a Vega-Lite dict) as an SVG document; text stays text, escaped."""
    return vega.to_svg(_spec(chart), vl_version())


def to_png(chart: Any, scale: float = 2) -> bytes:
    """The chart as PNG bytes at `scale` × its CSS pixel size, with the CJK font registered first."""
    return vega.to_png(_spec(chart), vl_version(), scale=scale)


def svg_to_png(svg: str, scale: float = 2) -> bytes:
    """An SVG from `to_svg` as PNG: the same pixels as `to_png` of its chart, without laying it out again."""
    return vega.svg_to_png(svg, scale=scale)


def _render(spec: dict, **_metadata: Any) -> dict[str, str]:
    return {"image/svg+xml": to_svg(spec), "text/plain": "<baton_lab chart>"}


def enable_notebook_renderer() -> None:
    """Show Altair charts in Jupyter as inline SVG rendered in-process by vl-convert.

    Nothing is fetched from a CDN and no JavaScript runs, so charts survive `nbconvert --to html`,
    untrusted notebooks and offline machines. (Altair's own "svg" renderer is offline too, but renders
    with a different Vega-Lite version default and without registering the CJK font.)"""
    if RENDERER not in alt.renderers.names():
        alt.renderers.register(RENDERER, _render)
    alt.renderers.enable(RENDERER)
