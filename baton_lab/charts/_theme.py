"""One look for every baton_lab chart, registered as an Altair theme and enabled on import."""

from __future__ import annotations

import altair as alt

THEME = "baton_lab"

# Latin text in Liberation Sans: vl-convert bundles it and it has Arial's metrics, so label widths measured
# at export match what browsers draw from the SVG with Arial. It is also ~2.5x faster to export than
# measuring every label with the 16 MB CJK face. Labels that contain CJK — namespace names and pattern
# ids are user text — switch to Noto Sans CJK (registered with vl-convert by vega._fonts), per label:
# leaving CJK to glyph fallback would draw a mixed label in whatever CJK face the system has first.
FONT = "'Liberation Sans', Arial, 'Noto Sans CJK SC', system-ui, sans-serif"
CJK_FONT = "'Noto Sans CJK SC', 'Noto Sans CJK JP', 'Noto Sans CJK KR', system-ui, sans-serif"
_CJK = r"[\u1100-\u11ff\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]"
LABEL_FONT = {"expr": f"test(/{_CJK}/, datum.label) ? \"{CJK_FONT}\" : \"{FONT}\""}

# Spiral-index vote colours: a component's CI entirely in the good direction, inconclusive, entirely bad.
GOOD, NEUTRAL, BAD = "#1b7837", "#a6a6a6", "#c0392b"
INK, MUTED, GRID = "#222222", "#6b6b6b", "#e6e6e6"
# Okabe-Ito: distinguishable with the common colour-vision deficiencies, in print and on screen.
CATEGORY = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]

WIDTH, HEIGHT = 520, 240
BAND_OPACITY = 0.18      # interval bands behind lines
THIN_OPACITY = 0.35      # bars and areas from rows below the minimum n


@alt.theme.register(THEME, enable=True)
def baton_lab_theme() -> alt.theme.ThemeConfig:
    return {
        "config": {
            "font": FONT,
            "background": "white",
            "padding": 8,
            "view": {"continuousWidth": WIDTH, "continuousHeight": HEIGHT, "stroke": None},
            "title": {"fontSize": 14, "fontWeight": 600, "anchor": "start", "color": INK, "offset": 10,
                      "subtitleColor": MUTED, "subtitleFontSize": 11},
            "axis": {"labelFontSize": 11, "titleFontSize": 12, "titleFontWeight": "normal", "titleColor": INK,
                     "labelColor": MUTED, "gridColor": GRID, "domainColor": MUTED, "tickColor": MUTED,
                     "labelFont": LABEL_FONT},
            "legend": {"labelFontSize": 11, "titleFontSize": 11, "titleFontWeight": "normal", "orient": "right",
                       "labelLimit": 260, "labelFont": LABEL_FONT},
            "header": {"labelFontSize": 11, "titleFontSize": 12},
            "text": {"fontSize": 11, "color": INK},
            "range": {"category": CATEGORY},
            "line": {"strokeWidth": 2},
            "point": {"size": 45, "strokeWidth": 1.5},
            "bar": {"color": CATEGORY[0]},
            "area": {"color": CATEGORY[0]},
        }
    }
