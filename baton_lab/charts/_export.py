"""Offline rendering through vl-convert: SVG, PNG, and a Jupyter renderer that needs no CDN."""

from __future__ import annotations

import re
from typing import Any

import altair as alt
import vl_convert as vlc

from ._fonts import ensure_registered

RENDERER = "baton_lab_svg"


def _vl_version() -> str | None:
    # Render with the Vega-Lite that Altair wrote the spec for; None = vl-convert's newest.
    major, minor = alt.SCHEMA_VERSION.lstrip("v").split(".")[:2]
    wanted = f"{major}.{minor}"
    return wanted if wanted in vlc.get_vegalite_versions() else None


# Characters XML 1.0 cannot hold: vl-convert lays text out as SVG, and a NUL in a label (a namespace named by a
# hostile document) made its Rust side panic and abort the process (issue 17's 100,000-input run, batch 0).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_safe(value: Any) -> Any:
    """The spec with every string (keys too, so fields still match their encodings) holding U+FFFD where a
    character XML cannot hold stood; a spec without any is returned as it is."""
    if isinstance(value, str):
        return _NOT_XML.sub("\ufffd", value) if _NOT_XML.search(value) else value
    if isinstance(value, list):
        return [_xml_safe(v) for v in value]
    if isinstance(value, dict):
        return {(_xml_safe(k) if isinstance(k, str) else k): _xml_safe(v) for k, v in value.items()}
    return value


def _spec(chart: Any) -> dict:
    spec = chart if isinstance(chart, dict) else chart.to_dict()
    return _xml_safe(spec)


def to_svg(chart: Any) -> str:
    """The chart (an Altair chart or a Vega-Lite dict) as an SVG document; text stays text, escaped."""
    ensure_registered()
    return vlc.vegalite_to_svg(_spec(chart), vl_version=_vl_version())


def to_png(chart: Any, scale: float = 2) -> bytes:
    """The chart as PNG bytes at `scale` × its CSS pixel size, with the CJK font registered first."""
    ensure_registered()
    return vlc.vegalite_to_png(_spec(chart), vl_version=_vl_version(), scale=scale)


def svg_to_png(svg: str, scale: float = 2) -> bytes:
    """An SVG from `to_svg` as PNG: the same pixels as `to_png` of its chart, without laying it out again."""
    ensure_registered()
    return vlc.svg_to_png(svg, scale=scale)


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
