"""Offline Vega-Lite rendering through vl-convert: SVG and PNG from a spec dict, and figure export spread
over worker processes.

Deliberately light — it imports vl-convert and nothing of altair, polars or the rest of baton_lab — so a
worker process that only renders starts in a fraction of a second. `charts` turns Altair charts into specs
and picks the Vega-Lite version; this package only renders them.
"""

from __future__ import annotations

import re
from typing import Any

import vl_convert as vlc

from ._export import Renderers, export, workers_for
from ._fonts import ensure_registered

# Characters vl-convert cannot lay out:
# - what XML 1.0 cannot hold: text becomes SVG, and a NUL in a label (a namespace named by a hostile document)
#   made its Rust side panic and abort the process (issue 17's 100,000-input run, batch 0);
# - characters beyond the Basic Multilingual Plane (emoji, CJK extension B): Vega shortens a long label by
#   UTF-16 code units, can cut such a character's surrogate pair in half, and vl-convert's text measuring
#   then fails on the lone half ("Failed to deserialize text info", seed 7 of the fuzz run).
_NOT_RENDERABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff\U00010000-\U0010ffff]")


def renderable(value: Any) -> Any:
    """The spec with every string (keys too, so fields still match their encodings) holding U+FFFD where a
    character vl-convert cannot lay out stood; a spec without any is returned as it is. Figures only: tables
    and the page keep the text as it is."""
    if isinstance(value, str):
        return _NOT_RENDERABLE.sub("\ufffd", value) if _NOT_RENDERABLE.search(value) else value
    if isinstance(value, list):
        return [renderable(v) for v in value]
    if isinstance(value, dict):
        return {(renderable(k) if isinstance(k, str) else k): renderable(v) for k, v in value.items()}
    return value


def to_svg(spec: dict, vl_version: str | None = None) -> str:
    """The Vega-Lite spec as an SVG document; text stays text, escaped. `vl_version` None = vl-convert's newest."""
    ensure_registered()
    return vlc.vegalite_to_svg(renderable(spec), vl_version=vl_version)


def to_png(spec: dict, vl_version: str | None = None, scale: float = 2) -> bytes:
    """The spec as PNG bytes at `scale` × its CSS pixel size, with the CJK font registered first."""
    ensure_registered()
    return vlc.vegalite_to_png(renderable(spec), vl_version=vl_version, scale=scale)


def svg_to_png(svg: str, scale: float = 2) -> bytes:
    """An SVG from `to_svg` as PNG: the same pixels as `to_png` of its spec, without laying it out again."""
    ensure_registered()
    return vlc.svg_to_png(svg, scale=scale)


__all__ = ["Renderers", "ensure_registered", "export", "workers_for", "svg_to_png", "to_png", "to_svg", "renderable"]
