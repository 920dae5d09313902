"""The research notebooks in notebooks/: committed clean, run top to bottom on the demo data, draw their
charts offline, print the store's own numbers, and export to an HTML page a browser renders with no network."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Callable

import nbformat
import polars as pl
import pytest
from nbclient import NotebookClient
from nbconvert import HTMLExporter

import baton_lab as bl
from browser import ARTIFACTS, external, require_chromium, visit

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
NAMES = ("01_tour", "02_spiral", "03_graduation", "04_caught_regressions", "05_loops_across_a_repository")
NAMES += ("06_did_it_help",)   # issue 16: the dogfooding comparison
CELL_TIMEOUT = 300        # seconds per cell
POOLED = "(pooled)"

# nbconvert's lab template, minus everything it would fetch: require.js, MathJax and mermaid come from CDNs,
# the widget manager too. SVG outputs are inlined as markup (the default is an <img> with a data: URI, and
# `skip_svg_encoding` escapes the markup instead), so the browser sees the charts as drawn SVG.
OFFLINE_TEMPLATE = {
    "conf.json": '{"base_template": "lab", "mimetypes": {"text/html": true}}',
    "index.html.j2": """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{% block data_svg scoped -%}
<div class="jp-RenderedSVG jp-OutputArea-output {{ extra_class }}" data-mime-type="image/svg+xml">
{{ output.data['image/svg+xml'] }}
</div>
{%- endblock data_svg %}
""",
}
# an element that loads a remote resource, and CSS that does
EXTERNAL_RESOURCE = re.compile(
    r"""<(?:script|link|img|iframe|source|embed|object)\b[^>]*?\b(?:src|href|data)\s*=\s*["']?\s*(?:https?:)?//""",
    re.IGNORECASE)
CSS_IMPORT = re.compile(r"""@import\s+(?:url\()?\s*["']?\s*(?:https?:)?//|url\(\s*["']?\s*(?:https?:)?//""",
                        re.IGNORECASE)
CDNS = ("cdnjs.cloudflare.com", "cdn.jsdelivr.net", "unpkg.com")


# -- executing -------------------------------------------------------------------------------------
class Executed:
    def __init__(self, nb: nbformat.NotebookNode, seconds: float) -> None:
        self.nb, self.seconds = nb, seconds

    def outputs(self) -> list[dict]:
        return [out for cell in self.nb.cells if cell.cell_type == "code" for out in cell.outputs]

    def text(self) -> str:
        """Everything a reader sees, as text: streams, Markdown, plain and HTML representations."""
        parts = []
        for out in self.outputs():
            if out.output_type == "stream":
                parts.append(out.text)
            for mime in ("text/markdown", "text/plain", "text/html"):
                if mime in out.get("data", {}):
                    parts.append(out["data"][mime])
        return "\n".join(parts)

    def charts(self) -> list[str]:
        """SVG charts among the outputs: image/svg+xml (Altair through the offline renderer) or a Figure's HTML."""
        found = []
        for out in self.outputs():
            data = out.get("data", {})
            if "image/svg+xml" in data:
                found.append(data["image/svg+xml"])
            elif "<svg" in data.get("text/html", ""):
                found.append(data["text/html"])
        return found


@pytest.fixture(scope="session")
def run_notebook(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Executed]:
    """Execute a notebook once per test session (kernel python3, a temporary working directory)."""
    done: dict[str, Executed] = {}

    def run(name: str) -> Executed:
        if name not in done:
            nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
            cwd = tmp_path_factory.mktemp(f"nb-{name}")
            client = NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3",
                                    resources={"metadata": {"path": str(cwd)}})
            start = time.perf_counter()
            client.execute()          # raises CellExecutionError, with the cell and traceback, on the first error
            done[name] = Executed(nb, time.perf_counter() - start)
        return done[name]

    return run


@pytest.fixture(scope="session")
def demo_lab(tmp_path_factory: pytest.TempPathFactory) -> bl.Lab:
    """The same store the notebooks build, computed independently in the test process."""
    from baton_lab import demo

    return bl.open(demo.run(tmp_path_factory.mktemp("nb-demo") / "demo.duckdb")["db"])


@pytest.fixture(scope="session")
def demo_result(demo_lab: bl.Lab):
    return demo_lab.metrics(window=10)


def overall_row(result, metric_id: str, variant: str, namespace: str) -> dict:
    rows = result.rows.filter(pl.col("overall") & (pl.col("metric_id") == metric_id) & (pl.col("variant") == variant)
                              & (pl.col("namespace") == namespace))
    assert rows.height == 1, (metric_id, variant, namespace)
    return rows.row(0, named=True)


def namespace_of(result, preset_prefix: str) -> str:
    return next(ns for ns in sorted(result.counts) if ns.startswith(preset_prefix))


# -- committed state (fast) --------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_notebook_is_committed_without_outputs(name: str):
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, "a notebook without code"
    assert all(c.outputs == [] and c.execution_count is None for c in code), "commit notebooks with outputs cleared"
    source = "\n".join(c.source for c in nb.cells)
    assert "charts.enable_notebook_renderer()" in code[0].source, "the first cell must enable the offline renderer"
    assert "http://" not in source and "https://" not in source, "notebooks must not reference the network"


# -- execution ---------------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs_offline_with_charts(name: str, run_notebook):
    ran = run_notebook(name)
    errors = [o for o in ran.outputs() if o.output_type == "error"]
    assert errors == []
    assert ran.charts(), f"{name} drew no chart"
    assert all("<svg" in c for c in ran.charts())
    # no wall-clock bound here (the machines are shared and loaded); the time is reported for the reader
    print(f"{name} ran in {ran.seconds:.1f} s")


@pytest.mark.slow
def test_tour_shows_the_store_counts(run_notebook, demo_lab: bl.Lab, demo_result):
    text = run_notebook("01_tour").text()
    counts = demo_lab.counts()
    for ns, c in counts.items():
        line = f"{ns}: " + ", ".join(f"{k}={v}" for k, v in c.items())
        assert line in text, f"the tour's counts for {ns} differ from lab.counts()"
    assert f"{demo_result.rows.height} rows; columns:" in text
    assert "lab.metric('caught_regressions') agrees with result.metric('L4'): True" in text
    for table, n in demo_lab.info()["tables"].items():
        if n:
            assert f"'{table}': {n}" in text
    for q in demo_lab.report().questions:       # the report's answers, as the tour tabulates them
        assert q.answer[:60] in text, q.key


@pytest.mark.slow
def test_spiral_reads_silent_drops_from_the_metrics(run_notebook, demo_result):
    text = run_notebook("02_spiral").text()
    healthy, log = namespace_of(demo_result, "healthy-loop"), namespace_of(demo_result, "log-nobody-reads")
    h, g = (overall_row(demo_result, "silent_drop_rate", "share", ns) for ns in (healthy, log))
    assert f"In **{healthy}**, {h['numerator']:.0f} of {h['denominator']:.0f} new loops vanished silently" in text
    assert f"in **{log}**, {g['numerator']:.0f} of {g['denominator']:.0f} (" in text
    touch = overall_row(demo_result, "touch_rate", "open_loop", healthy)
    assert f"{100 * touch['estimate']:.1f}% [{100 * touch['ci_low']:.1f}%, {100 * touch['ci_high']:.1f}%]" in text
    si = overall_row(demo_result, "spiral_index", "si", healthy)
    assert f"**{healthy}**: SI = {si['estimate']:.2f}" in text


@pytest.mark.slow
def test_graduation_reads_the_funnel_and_violations(run_notebook, demo_result):
    text = run_notebook("03_graduation").text()
    cand = overall_row(demo_result, "graduation_funnel", "candidate_share", POOLED)
    grad = overall_row(demo_result, "graduation_funnel", "graduated_share", POOLED)
    assert (f"{cand['numerator']:.0f} of {cand['denominator']:.0f} patterns became candidates and "
            f"{grad['numerator']:.0f} graduated") in text
    healthy = namespace_of(demo_result, "healthy-loop")
    rr = overall_row(demo_result, "rule_effectiveness", "rr_graduated", healthy)
    assert f"pooled RR {rr['estimate']:.2f} [{rr['ci_low']:.2f}, {rr['ci_high']:.2f}]" in text
    log = namespace_of(demo_result, "log-nobody-reads")
    hard = overall_row(demo_result, "anti_ouroboros_violations", "hard", log)
    assert f"{log} {hard['numerator']:.0f} of {hard['denominator']:.0f} graduations" in text


@pytest.mark.slow
def test_caught_regressions_reads_l4(run_notebook, demo_result):
    text = run_notebook("04_caught_regressions").text()
    count = overall_row(demo_result, "caught_regressions", "count", POOLED)
    rate = overall_row(demo_result, "caught_regressions", "rate_per_session", POOLED)
    assert f"caught **{count['estimate']:.0f} regressions**" in text
    assert f"**{rate['estimate']:.3f} per session** [{rate['ci_low']:.3f}, {rate['ci_high']:.3f}]" in text
    assert "L9 status: not_supported" in text


@pytest.mark.slow
def test_loops_across_a_repository_reads_the_org_tables(run_notebook, tmp_path: Path):
    from baton_lab.simulate.multiloop import simulate_repository

    text = run_notebook("05_loops_across_a_repository").text()
    truth = simulate_repository(tmp_path / "team-repo", seed=5, commits=240)   # the notebook's repository, rebuilt
    unassigned = sum(c.loop == "unassigned" for c in truth.commits)
    assert f"**{len(truth.commits)} changes**" in text and f"**{unassigned} unassigned**" in text
    assert f"**{len(truth.chains)} rework chains**" in text
    for kind, pairs in truth.pairs.items():
        assert f"{kind}: precision 1.000, recall 1.000 ({len(pairs)} found of {len(pairs)})" in text
    assert "Share of each loop's changes undone by another loop" in text and "[" in text


# -- HTML export -------------------------------------------------------------------------------------
def export_html(nb: nbformat.NotebookNode, out: Path) -> Path:
    templates = out.parent / "templates" / "offline"
    templates.mkdir(parents=True, exist_ok=True)
    for file, content in OFFLINE_TEMPLATE.items():
        (templates / file).write_text(content, encoding="utf-8")
    exporter = HTMLExporter(template_name="offline", extra_template_basedirs=[str(templates.parent)], embed_images=True)
    body, _ = exporter.from_notebook_node(nb)
    out.write_text(body, encoding="utf-8")
    return out


@pytest.mark.slow
def test_exported_tour_is_offline_and_renders_in_chromium(run_notebook, tmp_path: Path):
    ran = run_notebook("01_tour")
    page = export_html(ran.nb, tmp_path / "01_tour.html")
    html = page.read_text(encoding="utf-8")
    assert EXTERNAL_RESOURCE.findall(html) == [], "the export links a remote script, style, image or frame"
    assert CSS_IMPORT.findall(html) == [], "the export's CSS fetches a remote resource"
    assert not any(cdn in html for cdn in CDNS), "the export references a CDN"
    n_charts = len(ran.charts())
    assert html.count("<svg") >= n_charts

    require_chromium()
    shot = ARTIFACTS / "notebook-01_tour.png"
    seen = visit(page, shot, chart_selector="figure.baton-lab-figure, .jp-RenderedSVG")
    assert external(seen.requests) == [], "the exported notebook fetched something from the network"
    assert seen.failed == [] and seen.console_errors == [] and seen.page_errors == [] and seen.dialogs == []
    assert len(seen.charts) == n_charts
    blank = [c["id"] for c in seen.charts if not (c["svg"] and c["marks"] > 3 and c["width"] > 50)]
    assert blank == [], f"charts without drawn content: {blank}"
    assert "baton_lab" in seen.text and "Headline counts" in seen.text


@pytest.mark.slow
def test_did_it_help_states_its_comparisons_first_and_reads_compare(run_notebook, demo_lab: bl.Lab):
    ran = run_notebook("06_did_it_help")
    text = ran.text()
    # the pre-registration is printed before any number of a comparison
    assert text.index("Decision rule for every question") < text.index("A = before session:40")
    split = demo_lab.compare(split="session:40", namespaces=["healthy-loop-001"], its=False)
    assert (f"Across the catalogue {split.n_tested} effects had enough data in both arms; "
            f"{split.n_discoveries} survive the Benjamini–Hochberg adjustment.") in text
    for v in split.verdicts:
        assert f"{v.verdict}: {v.answer}" in text
    loops = demo_lab.compare(a="healthy-loop-001", b="log-nobody-reads-002", its=False)
    drop = loops.effects.filter((pl.col("metric_id") == "silent_drop_rate") & (pl.col("variant") == "share")).row(0, named=True)
    assert (f"Silently dropped loops: {drop['a_numerator']:.0f} of {drop['a_denominator']:.0f} in A, "
            f"{drop['b_numerator']:.0f} of {drop['b_denominator']:.0f} in B") in text

