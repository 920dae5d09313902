"""baton_lab.charts: one chart function per metric family over a MetricResult (the bundled demo).

Checks the contract other code relies on (stable keys, sentence titles, valid small specs, offline
SVG/PNG export, escaping of user text, CJK rendering) and the chart shapes the catalogue names
(forest on a log axis with a rule at RR = 1, step survival curves, one SI bar per component).
"""

from __future__ import annotations

import hashlib
import html
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import altair as alt
import polars as pl
import pytest

import baton_lab
from baton_lab import charts, demo
from baton_lab.charts import _theme
from baton_lab.vega import _fonts

FAMILIES = ["loops", "followups", "patterns", "decisions", "flow", "spiral"]
CODE_PREFIX = {"loops": "L", "followups": "F", "patterns": "P", "decisions": "D", "flow": "B", "spiral": "SI"}
NAMESPACE = "healthy-loop-001"       # a v1 namespace of the demo
V2_NAMESPACE = "v2-default-004"
CJK = "修复测试 テスト 테스트"
HOSTILE = "<script>alert(1)</script>"
STEP_KEYS = ["L3-time-to-verify", "L5-detection-latency", "F2-followup-resolution", "P2-gap-survival",
             "P2-mean-cumulative", "P5-time-to-candidate", "P5-time-to-graduation", "P5-gate-latency",
             "D1-decision-lifetime"]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    return demo.run(tmp_path_factory.mktemp("charts") / "demo.duckdb")["db"]


@pytest.fixture(scope="module")
def result(store: str) -> Any:
    return baton_lab.open(store).metrics()


@pytest.fixture(scope="module")
def pooled(result: Any) -> list[charts.Figure]:
    return charts.figures(result)


def _walk(node: Any) -> Iterator[dict]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _data_rows(spec: dict) -> list[int]:
    sizes = [len(rows) for rows in spec.get("datasets", {}).values()]
    sizes += [len(d["values"]) for d in _walk(spec) if isinstance(d.get("values"), list) and "data" not in d
              and all(isinstance(v, dict) for v in d["values"])]
    return sizes


def _marks(spec: dict) -> list[dict]:
    return [d for d in _walk(spec) if "mark" in d]


def _mark_type(unit: dict) -> str:
    mark = unit["mark"]
    return mark if isinstance(mark, str) else mark["type"]


def _figure(figs: list[charts.Figure], key: str) -> charts.Figure:
    return next(f for f in figs if f.key == key)


def _with_pattern_id(result: Any, new_id: str) -> Any:
    """The result with one pattern (in both per-pattern tables) renamed: user text that reaches labels."""
    items = dict(result.items)
    for metric in ("rule_effectiveness", "pattern_recurrence_rate"):
        frame = items[metric].with_row_index("_i")
        items[metric] = frame.with_columns(
            pattern_id=pl.when(pl.col("_i") == 1).then(pl.lit(new_id)).otherwise(pl.col("pattern_id"))).drop("_i")
    return type(result)(result.rows, result.curves, items, result.counts, result.window)


@pytest.mark.parametrize("family", FAMILIES)
def test_family_figures_have_stable_keys_sentence_titles_and_small_valid_specs(result: Any, family: str) -> None:
    build = getattr(charts, family)
    figs = build(result)
    keys = [f.key for f in figs]
    assert figs and len(set(keys)) == len(keys)
    assert keys == [f.key for f in build(result)]                      # stable between calls
    assert keys[: len(build(result, NAMESPACE))] == [f.key for f in build(result, NAMESPACE)]
    for fig in figs:
        assert re.fullmatch(r"[A-Z]{1,2}\d?-[a-z0-9-]+", fig.key), fig.key   # safe as a file name
        assert fig.family == family and fig.codes and all(c.startswith(CODE_PREFIX[family]) for c in fig.codes)
        assert fig.key.split("-")[0] in fig.codes
        assert len(fig.title.split()) >= 4 and "_" not in fig.title.split(",")[0], fig.title
        assert fig.caption.strip() and "could not be drawn" not in fig.caption, (fig.key, fig.caption)
        spec = fig.chart.to_dict()                                         # validates against the schema
        assert " ".join(spec["title"]["text"]) == fig.title
        assert all(n < 5000 for n in _data_rows(spec)), fig.key


def test_figures_is_every_family_in_catalogue_order(result: Any, pooled: list[charts.Figure]) -> None:
    families = [f.family for f in pooled]
    assert sorted(set(families), key=families.index) == FAMILIES
    assert families == sorted(families, key=FAMILIES.index)


def test_charts_take_polars_frames_directly(pooled: list[charts.Figure]) -> None:
    chart = _figure(pooled, "L6-silent-drop-rate").chart
    frames = [c.data for c in (chart, *chart.layer) if isinstance(c.data, pl.DataFrame)]
    assert frames and all(f.height < 5000 for f in frames)


def test_figures_export_to_svg_with_their_title(pooled: list[charts.Figure]) -> None:
    # Two per family: exporting all ~50 takes ~10 s (vl-convert); the other tests export more of them.
    sample = [f for family in FAMILIES for f in [g for g in pooled if g.family == family][:2]]
    for fig in sample:
        svg = charts.to_svg(fig.chart)
        assert svg.lstrip().startswith("<svg"), fig.key
        for line in fig.chart.to_dict()["title"]["text"]:
            assert html.escape(line, quote=False) in svg, (fig.key, line)


def test_forest_plot_has_log_axis_a_rule_at_one_and_a_pooled_diamond(pooled: list[charts.Figure]) -> None:
    spec = _figure(pooled, "P6-rule-effectiveness").chart.to_dict()
    units = _marks(spec)
    assert any(d.get("scale", {}).get("type") == "log" for d in _walk(spec))
    assert any(_mark_type(u) == "rule" and u.get("encoding", {}).get("x", {}).get("datum") == 1 for u in units)
    assert any(isinstance(u["mark"], dict) and u["mark"].get("shape") == "diamond" for u in units)


@pytest.mark.parametrize("key", STEP_KEYS)
def test_survival_curves_are_steps_with_bands(pooled: list[charts.Figure], key: str) -> None:
    units = _marks(_figure(pooled, key).chart.to_dict())
    steps = {_mark_type(u) for u in units if isinstance(u["mark"], dict) and u["mark"].get("interpolate") == "step-after"}
    assert steps == {"line", "area"}, key


def test_spiral_chart_has_one_bar_per_component(result: Any, pooled: list[charts.Figure]) -> None:
    components = result.items["spiral_index"].filter(pl.col("namespace") == "(pooled)")
    chart = _figure(pooled, "SI-spiral-index").chart
    bars = [layer for layer in chart.layer if _mark_type(layer.to_dict()) == "bar"]
    assert len(bars) == 1 and bars[0].data.height == components.height
    assert (bars[0].data["x0"] != bars[0].data["x1"]).all()           # inconclusive votes stay visible
    svg = charts.to_svg(chart)
    si = result.metric("spiral_index").filter((pl.col("namespace") == "(pooled)") & (pl.col("variant") == "si"))
    assert f"SI = {si['estimate'][0]:+.2f}" in svg


def test_unsupported_metrics_explain_why_instead_of_failing(store: str) -> None:
    lab = baton_lab.open(store)
    v1 = lab.metrics(namespace=NAMESPACE, metric=["B7", "L9"])      # v1-only selection, and a partial result
    flow = {f.key: f for f in charts.flow(v1, NAMESPACE)}
    assert flow["B7-reverify-regressions"].caption.startswith("Not supported by v1 batons: needs v2 infra_state")
    assert _figure(charts.loops(v1, NAMESPACE), "L9-verify-flip-rate").caption.startswith("Not supported")
    assert "Not supported" in charts.to_svg(flow["B7-reverify-regressions"].chart)
    v2 = lab.metrics(namespace=V2_NAMESPACE, metric=["D1", "D2", "D3", "D4"])
    for fig in charts.decisions(v2, V2_NAMESPACE):
        assert fig.caption.startswith("Not supported by v2 batons: needs decisions"), fig.key


def test_unknown_namespace_gives_text_charts_with_the_same_keys(result: Any, pooled: list[charts.Figure]) -> None:
    figs = charts.figures(result, "no-such-namespace")
    assert [f.key for f in figs] == [f.key for f in charts.figures(result, NAMESPACE)]
    assert all(f.caption.startswith(("No data", "Not supported")) for f in figs)


def test_user_text_in_labels_stays_text(result: Any) -> None:
    figs = charts.patterns(_with_pattern_id(result, HOSTILE), NAMESPACE)
    for key in ("P6-rule-effectiveness", "P1-recurrence-by-pattern"):
        fig = _figure(figs, key)
        svg = charts.to_svg(fig.chart)
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in svg and "<script" not in svg, key
        assert "<script" not in fig._repr_html_()


def test_cjk_pattern_ids_render_in_png_with_the_registered_font(result: Any) -> None:
    fig = _figure(charts.patterns(_with_pattern_id(result, CJK), NAMESPACE), "P1-recurrence-by-pattern")
    assert CJK in charts.to_svg(fig.chart)
    png = charts.to_png(fig.chart, scale=1)
    assert png.startswith(b"\x89PNG") and len(png) > 10_000
    folder = _fonts.ensure_registered()
    assert folder is not None and (folder / _fonts.FONT_FILE).resolve() == _fonts.font_path().resolve()
    assert os.listdir(folder) == [_fonts.FONT_FILE]                 # only the one face, not mplfonts' 100 MB
    # Tofu boxes are the same for every missing character: distinct images mean real glyphs.
    assert len({hashlib.sha1(_glyph_png(ch)).hexdigest() for ch in "修テ테"}) == 3


def _glyph_png(ch: str) -> bytes:
    chart = alt.Chart(pl.DataFrame({"t": [ch]})).mark_text(fontSize=40, font=_theme.CJK_FONT).encode(text="t:N")
    return charts.to_png(chart.properties(width=60, height=60), scale=1)


GLYPH_PROBE = """
import hashlib, importlib.util, sys, vl_convert as vlc
spec = importlib.util.spec_from_file_location("fonts", sys.argv[1]); fonts = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fonts)
if sys.argv[2] == "register":
    fonts.ensure_registered()
def png(ch):
    return vlc.vegalite_to_png({"data": {"values": [{"t": ch}]}, "mark": {"type": "text", "fontSize": 40,
        "font": "Noto Sans CJK SC"}, "encoding": {"text": {"field": "t"}}, "width": 60, "height": 60})
print(len({hashlib.sha1(png(c)).hexdigest() for c in "修テ테"}))
"""


def test_cjk_glyphs_come_from_the_registered_font_when_the_system_has_none(tmp_path: Path) -> None:
    """Hide the system fonts in a private mount namespace: without registration CJK is tofu, with it glyphs."""
    empty = tmp_path / "no-fonts"
    empty.mkdir()
    probe = tmp_path / "probe.py"
    probe.write_text(GLYPH_PROBE)
    module = importlib.util.find_spec("baton_lab.vega._fonts").origin

    def distinct(mode: str) -> str:
        script = f'mount --bind "{empty}" /usr/share/fonts && exec "{sys.executable}" "{probe}" "{module}" {mode}'
        run = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, timeout=60)
        if run.returncode != 0:
            pytest.skip(f"cannot hide system fonts here (needs unshare and mount): {run.stderr.strip()[:120]}")
        return run.stdout.strip()

    if not Path("/usr/share/fonts").is_dir():
        pytest.skip("no /usr/share/fonts to hide")
    assert distinct("plain") == "1"
    assert distinct("register") == "3"


def test_figure_repr_shows_title_svg_and_caption(pooled: list[charts.Figure]) -> None:
    fig = _figure(pooled, "L4-caught-regressions")
    page = fig._repr_html_()
    assert html.escape(fig.title) in page and "<svg" in page and html.escape(fig.caption) in page
    bundle = fig._repr_mimebundle_()
    assert set(bundle) == {"text/html", "text/plain"} and fig.key in bundle["text/plain"]


def test_notebook_renderer_is_offline_svg(pooled: list[charts.Figure]) -> None:
    before = alt.renderers.active
    try:
        charts.enable_notebook_renderer()
        assert alt.renderers.active == "baton_lab_svg"
        bundle = _figure(pooled, "L1-loop-open-rate").chart._repr_mimebundle_()
        bundle = bundle[0] if isinstance(bundle, tuple) else bundle
        assert bundle["image/svg+xml"].lstrip().startswith("<svg")
        assert not re.search(r"https?://(cdn|unpkg|jsdelivr)", str(bundle)) and "<script" not in str(bundle)
    finally:
        alt.renderers.enable(before)


def test_theme_is_registered_and_enabled() -> None:
    assert charts.THEME == "baton_lab" and alt.theme.active == charts.THEME
    config = alt.theme.get()()["config"]
    assert "Noto Sans CJK SC" in config["font"] and "Noto Sans CJK SC" in config["axis"]["labelFont"]["expr"]


def test_a_hundred_namespaces_and_thousands_of_patterns_stay_drawable(result: Any) -> None:
    """At scale (100k sessions: 100 namespaces, ~3,700 patterns) per-row charts keep to a readable, renderable
    subset and say where the rest is."""
    from dataclasses import replace

    copies = range(100)
    rows = pl.concat([result.rows.with_columns(namespace=pl.when(pl.col("namespace") == "(pooled)").then(
        pl.col("namespace")).otherwise(pl.col("namespace") + f"-{i}")) for i in copies]).unique(maintain_order=True)
    forest = result.items["rule_effectiveness"]
    many = pl.concat([forest.with_columns(pattern_id=pl.col("pattern_id") + f"-{i}") for i in copies])
    big = replace(result, rows=rows, items={**result.items, "rule_effectiveness": many})
    figs = {f.key: f for f in charts.patterns(big)}
    for key, most in (("P6-rule-effectiveness", 40 + 3), ("P1-recurrence-heatmap", 30 * 100)):
        spec = figs[key].chart.to_dict()
        assert max(_data_rows(spec)) <= most, key
        assert charts.to_svg(spec).lstrip().startswith("<svg"), key
    assert "more are in tables/items_rule_effectiveness" in figs["P6-rule-effectiveness"].caption
    assert "more are in tables/metrics" in figs["P1-recurrence-heatmap"].caption
