"""`baton-lab report` / `export`: files, escaping, the three answers, the CLI, and the page in a real browser."""

from __future__ import annotations

import json
import re
from pathlib import Path

import polars as pl
import pytest
from browser import ARTIFACTS, external, require_chromium, visit
from conftest import XSS
from typer.testing import CliRunner

import baton_lab as bl
from baton_lab.cli import app
from baton_lab.report import SILENT_DROP_LOW, build
from baton_lab.report._latex import latex_text

runner = CliRunner()


def test_report_writes_every_part(demo_report):
    report, written = demo_report
    out = written.out
    for name in ("index.html", "report.md", "provenance.json", "tables/metrics.parquet", "tables/metrics.csv",
                 "tables/headline_counts.csv", "tables/sources.parquet", "tables/quarantine.csv"):
        assert (out / name).is_file(), name
    keys = [f.key for f in report.figures]
    assert len(keys) == len(set(keys)) and len(keys) >= 15
    md = (out / "report.md").read_text(encoding="utf-8")
    for key in keys:
        assert (out / "figures" / f"{key}.svg").read_text(encoding="utf-8").lstrip().startswith("<svg")
        assert (out / "figures" / f"{key}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"(figures/{key}.svg)" in md and f"(figures/{key}.png)" in md   # report.md links what exists
    # the tables are the metric rows themselves, not a summary of them
    stored = pl.read_parquet(out / "tables" / "metrics.parquet")
    assert stored.height == report.result.rows.height
    assert stored.equals(report.result.rows)
    assert pl.read_csv(out / "tables" / "metrics.csv").height == report.result.rows.height
    for metric_id, curve in report.result.curves.items():
        assert pl.read_parquet(out / "tables" / f"curve_{metric_id}.parquet").height == curve.height
    counts = pl.read_csv(out / "tables" / "headline_counts.csv")
    assert dict(zip(counts["namespace"], counts["sessions"])) == {ns: c["sessions"] for ns, c in report.result.counts.items()}


def test_every_figure_spec_written_is_valid_vega_lite(demo_report):
    """The report writes specs unvalidated (for speed): the schema check lives here, on the exact specs written."""
    import copy

    import jsonschema
    from altair import Root   # the Vega-Lite schema altair writes its specs for

    from baton_lab.report._write import figure_specs

    report, _ = demo_report
    specs = dict(figure_specs(report.figures))
    assert len(specs) == len(report.figures) >= 15
    for spec in specs.values():
        Root.validate(spec)   # raises jsonschema.ValidationError naming the offending part
    # the check can fail: a mark type Vega-Lite does not know is refused
    broken = copy.deepcopy(next(s for s in specs.values() if "mark" in s))
    broken["mark"] = {"type": "pointy"} if isinstance(broken["mark"], dict) else "pointy"
    with pytest.raises(jsonschema.ValidationError):
        Root.validate(broken)


def test_provenance_names_sources_hashes_and_versions(demo_report):
    report, written = demo_report
    prov = json.loads((written.out / "provenance.json").read_text(encoding="utf-8"))
    assert prov["sources"]["count"] == report.sources.height == len(prov["sources"]["list"]) > 0
    assert all(re.fullmatch(r"[0-9a-f]{64}", s["sha256"]) for s in prov["sources"]["list"])
    assert re.fullmatch(r"[0-9a-f]{64}", prov["sources"]["sha256_of_sorted_hashes"])
    assert prov["libraries"]["duckdb"] and prov["libraries"]["vl-convert-python"] and prov["baton_lab"] == bl.__version__
    assert set(prov["namespaces"]) == set(report.result.counts)


def test_index_html_is_one_self_contained_file(demo_report):
    _, written = demo_report
    html = written.index.read_text(encoding="utf-8")
    # nothing is fetched: no external scripts, styles, images or frames (markup outside the inlined scripts)
    markup = re.sub(r"(<script\b[^>]*>).*?</script>", r"\1</script>", html, flags=re.S | re.I)
    assert not re.findall(r"<(?:script|link|img|iframe|source|embed)\b[^>]*\b(?:src|href)\s*=", markup, re.I)
    assert "@import" not in html and "cdn.jsdelivr" not in html
    assert "vegaEmbed" in html and len(html) > 500_000          # the Vega bundle is inlined
    assert html.count('type="application/json"') == len(demo_report[0].figures)


def test_baton_text_is_escaped_everywhere(demo_report):
    _, written = demo_report
    html = written.index.read_text(encoding="utf-8")
    assert XSS not in html and "<b>ns</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html        # shown, as text
    assert "xss-&lt;b&gt;ns&lt;/b&gt;" in html
    md = (written.out / "report.md").read_text(encoding="utf-8")
    assert XSS not in md and r"&lt;script&gt;alert\(1\)&lt;/script&gt;" in md
    for svg in (written.out / "figures").glob("*.svg"):
        assert "<script" not in svg.read_text(encoding="utf-8"), svg.name


def test_markdown_links_every_figure_and_states_intervals(demo_report):
    report, written = demo_report
    md = (written.out / "report.md").read_text(encoding="utf-8")
    linked = set(re.findall(r"\]\((figures/[^)]+\.svg)\)", md))
    assert linked == {f"figures/{f.key}.svg" for f in report.figures}
    assert all((written.out / p).is_file() for p in linked)
    assert "## The three questions" in md and "## Data quality" in md and "## Provenance" in md
    assert "insufficient data" in md                    # the demo has small samples, and says so
    assert md.count("|---") >= 10                       # real tables, not prose dumps


def test_answers_follow_the_preregistered_rules(demo_report):
    report, _ = demo_report
    lab = bl.open(report.provenance["store"]["path"])
    careless = build(lab, namespace="log-nobody-reads-002")
    spiral, graduation, regressions = careless.questions
    silent = next(c for c in spiral.criteria if c.text.startswith("L6"))
    assert silent.holds is False                        # 33 of 67 loops vanished silently
    assert spiral.verdict == "no" and "log" in spiral.answer
    assert graduation.verdict == "no" and "P7 > 0" in graduation.answer   # two graduations skipped the gate
    healthy = build(lab, namespace="healthy-loop-001")
    assert next(c for c in healthy.questions[0].criteria if c.text.startswith("L6")).holds is True
    assert healthy.questions[1].criteria[1].holds is True                  # P7 = 0
    row = healthy.questions[0].primary[1].row
    assert row["ci_high"] < SILENT_DROP_LOW and row["numerator"] == 1
    k = healthy.result.counts["healthy-loop-001"]["caught_regressions"]
    assert healthy.questions[2].answer.startswith(f"{k:,} caught regression")
    # the demo's loops archive a failure at once: no re-checks, so flakes are bounded, and the answer says so
    assert "only bounded" in healthy.questions[2].answer
    real = next(c for c in healthy.questions[2].criteria if c.key == "L4_real_positive")
    assert real.evidence.variant == "real_count" and real.ci_low is not None
    assert healthy.questions[2].verdict == ("yes" if real.ci_low > 0 else "inconclusive")
    # the spiral index is shown beside the answer but is not a criterion (too few windows at these sizes)
    assert not any(c.text.startswith("SI") for c in healthy.questions[0].criteria)
    assert any(e.code == "SI" for e in healthy.questions[0].secondary)
    assert [c.key for c in healthy.questions[0].criteria] == ["B2_acted_high", "B2_acted_stable", "L6_low", "P6_works"]


def test_answers_are_machine_readable(demo_report):
    report, written = demo_report
    table = pl.read_parquet(written.out / "tables" / "questions.parquet")
    assert set(table["question"]) == {"spiral", "graduation", "regressions"}
    assert table.filter(pl.col("question") == "spiral")["criterion"].to_list() == [
        "B2_acted_high", "B2_acted_stable", "L6_low", "P6_works"]
    for q in report.questions:
        sub = table.filter(pl.col("question") == q.key)
        assert sub["verdict"].unique().to_list() == [q.verdict]
        assert sub["holds"].to_list() == [c.holds for c in q.criteria]
        # each criterion carries the numbers of the row it reads
        for c, row in zip(q.criteria, sub.iter_rows(named=True)):
            assert (row["estimate"], row["ci_low"], row["ci_high"]) == (c.estimate, c.ci_low, c.ci_high)
    assert pl.read_csv(written.out / "tables" / "questions.csv").height == table.height
    assert report.questions[0].to_json()["criteria"][0]["key"] == "B2_acted_high"


def test_latex_escaping():
    assert latex_text("a_b & 50% {x} #1 $") == r"a\_b \& 50\% \{x\} \#1 \$"


def test_cli_report_and_export(tmp_path: Path):
    store = tmp_path / "s.duckdb"
    res = runner.invoke(app, ["report", "--demo", "--db", str(store), "--out", str(tmp_path / "r"), "--json"])
    assert res.exit_code == 0, res.output
    # SVG only unless --png is given, and report.md links no PNG that is not there
    assert list((tmp_path / "r" / "figures").glob("*.svg")) and not list((tmp_path / "r" / "figures").glob("*.png"))
    assert ".png" not in (tmp_path / "r" / "report.md").read_text(encoding="utf-8")
    payload = json.loads(res.stdout)
    assert [a["question"] for a in payload["answers"]] == ["spiral", "graduation", "regressions"]
    crit = payload["answers"][0]["criteria"][0]      # each criterion: its rule, holds, estimate and interval
    assert crit["key"] == "B2_acted_high" and {"holds", "estimate", "ci_low", "ci_high"} <= set(crit)
    assert Path(payload["index"]).is_file()
    res = runner.invoke(app, ["export", "--db", str(store), "--out", str(tmp_path / "x"), "-n", "healthy-loop-001"])
    assert res.exit_code == 0, res.output
    # the write-up bundle keeps PNG (LaTeX includes PNG, not SVG), linked from its report.md
    svgs, pngs = (sorted(p.stem for p in (tmp_path / "x" / "figures").glob(f"*.{ext}")) for ext in ("svg", "png"))
    assert svgs and pngs == svgs
    assert f"(figures/{pngs[0]}.png)" in (tmp_path / "x" / "report.md").read_text(encoding="utf-8")
    assert "wrote" in res.stdout and "figures as SVG + PNG" in res.stdout
    tex = (tmp_path / "x" / "headline_metrics.tex").read_text(encoding="utf-8")
    assert r"\toprule" in tex and "healthy-loop-001" in tex and "∞" not in tex
    assert (tmp_path / "x" / "headline.md").is_file() and not (tmp_path / "x" / "index.html").exists()
    assert pl.read_parquet(tmp_path / "x" / "tables" / "metrics.parquet")["namespace"].unique().to_list() in (
        ["healthy-loop-001", "(pooled)"], ["(pooled)", "healthy-loop-001"])


@pytest.mark.parametrize(("flags", "png"), [([], False), (["--png"], True), (["--no-png"], False)])
def test_cli_report_png_is_opt_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, flags: list[str], png: bool):
    import baton_lab.report

    seen = {}

    def run_report(*_args, **kwargs):
        seen.update(kwargs)
        raise bl.BatonLabError("stop here")    # the flag's value is all this test is about

    monkeypatch.setattr(baton_lab.report, "run_report", run_report)
    res = runner.invoke(app, ["report", "--db", str(tmp_path / "s.duckdb"), "--out", str(tmp_path / "r"), *flags])
    assert "stop here" in res.output and seen["png"] is png


def test_vega_bundle_is_built_once_per_version_and_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import vl_convert

    from baton_lab.report import _html

    built: list[str] = []

    def bundle(vl_version: str) -> str:
        built.append(vl_version)
        return f"/* vega {vl_version} */ let s = '</script>';"

    monkeypatch.setattr(vl_convert, "javascript_bundle", bundle)
    monkeypatch.setenv("BATON_LAB_CACHE_DIR", str(tmp_path / "cache"))
    try:
        for _ in range(2):   # a second process (the in-memory cache cleared) reads the file
            _html.vega_bundle.cache_clear()
            assert _html.vega_bundle().endswith("let s = '<\\/script>';")
        assert len(built) == 1 and len(list((tmp_path / "cache" / "vega-bundle").glob("*.js"))) == 1
        (tmp_path / "not-a-folder").write_text("x")
        monkeypatch.setenv("BATON_LAB_CACHE_DIR", str(tmp_path / "not-a-folder"))   # unwritable: built, not cached
        _html.vega_bundle.cache_clear()
        assert "vega" in _html.vega_bundle() and len(built) == 2
    finally:
        _html.vega_bundle.cache_clear()


def test_cli_report_unknown_namespace_is_one_line(tmp_path: Path):
    res = runner.invoke(app, ["report", "--db", str(tmp_path / "empty.duckdb"), "-n", "nope", "--out", str(tmp_path / "r")])
    assert res.exit_code == 1
    assert "error: no store at" in res.output and "hint:" in res.output     # a mistyped --db, not a new store
    assert isinstance(res.exception, SystemExit)
    bl.open(tmp_path / "empty.duckdb")
    res = runner.invoke(app, ["report", "--db", str(tmp_path / "empty.duckdb"), "-n", "nope", "--out", str(tmp_path / "r")])
    assert res.exit_code == 1 and "error: unknown namespace 'nope'" in res.output
    assert isinstance(res.exception, SystemExit)


@pytest.mark.parametrize("mistake", ["out_is_a_file", "demo_into_existing_store"])
def test_cli_report_user_mistakes_are_one_line_errors(tmp_path: Path, mistake: str):
    store = tmp_path / "s.duckdb"
    bl.open(store)
    if mistake == "out_is_a_file":
        (tmp_path / "f").write_text("x")
        args = ["report", "--db", str(store), "--out", str(tmp_path / "f")]
        expected = "is a file"
    else:
        args = ["report", "--demo", "--db", str(store), "--out", str(tmp_path / "r")]
        expected = "already exists"
    res = runner.invoke(app, args)
    assert res.exit_code == 1 and expected in res.output and "hint:" in res.output
    assert isinstance(res.exception, SystemExit) and len(res.output.strip().splitlines()) == 2


def test_report_of_an_empty_store(tmp_path: Path):
    import warnings

    lab = bl.open(tmp_path / "s.duckdb")
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # a chart failing on no data would warn
        report = build(lab)
    assert [q.verdict for q in report.questions] == ["insufficient"] * 3
    written = report.write(tmp_path / "r", png=False)
    html = written.index.read_text(encoding="utf-8")
    assert "Nothing was quarantined." in html
    assert not [f.key for f in report.figures if "could not be drawn" in f.caption]
    assert not list((tmp_path / "r" / "figures").glob("*.png"))
    assert len(list((tmp_path / "r" / "figures").glob("*.svg"))) == len(report.figures)


def test_markdown_and_html_carry_the_same_sections(demo_report):
    import html as html_lib

    _, written = demo_report
    page = re.sub(r"(<script\b[^>]*>).*?</script>", r"\1</script>", written.index.read_text(encoding="utf-8"),
                  flags=re.S)
    md = (written.out / "report.md").read_text(encoding="utf-8")
    in_html = [html_lib.unescape(re.sub(r"<[^>]+>", "", h)).strip()
               for h in re.findall(r"<h[23][^>]*>(.*?)</h[23]>", page, re.S)]
    in_md = [re.sub(r"\\(.)", r"\1", h).strip() for h in re.findall(r"^#{2,3} (.+)$", md, re.M)]
    assert in_html == in_md and len(in_html) > 15, [(h, m) for h, m in zip(in_html, in_md) if h != m][:3]


@pytest.mark.slow
def test_report_in_headless_chromium(demo_report):
    require_chromium()
    report, written = demo_report
    shot = ARTIFACTS / "report.png"
    seen = visit(written.index, shot)
    assert external(seen.requests, written.index) == [], "the report fetched something beyond itself"
    assert seen.failed == [] and seen.console_errors == [] and seen.page_errors == []
    assert seen.dialogs == [], "baton text ran as script"
    assert len(seen.charts) == len(report.figures)
    blank = [c["id"] for c in seen.charts if not (c["svg"] and c["marks"] > 3 and c["width"] > 50)]
    assert blank == [], f"charts without drawn content: {blank}"
    assert XSS in seen.text                              # visible as text
    assert "The three questions" in seen.text and "insufficient data" in seen.text
    assert shot.stat().st_size > 20_000


def _with_overall(result, metric_id: str, variant: str, **values):
    """The same MetricResult with one pooled overall row changed, to drive a verdict rule into a branch."""
    from dataclasses import replace

    hit = (pl.col("overall") & (pl.col("namespace") == "(pooled)") & (pl.col("metric_id") == metric_id)
           & (pl.col("variant") == variant))
    rows = result.rows.with_columns(pl.when(hit).then(pl.lit(v)).otherwise(pl.col(k)).alias(k) for k, v in values.items())
    return replace(result, rows=rows)


def test_graduation_verdict_branches(demo_report):
    from baton_lab.report import answer_questions

    result = demo_report[0].result
    ok = dict(status="ok", estimate=0.7, ci_low=0.5, ci_high=0.8)
    practical = _with_overall(result, "graduation_funnel", "graduated_share", **ok)
    practical = _with_overall(practical, "gate_latency", "gate_median", status="ok", estimate=3.0, ci_low=2.0, ci_high=7.0)
    practical = _with_overall(practical, "anti_ouroboros_violations", "any", numerator=0.0)
    works = _with_overall(practical, "rule_effectiveness", "rr_graduated", status="ok", estimate=0.3, ci_low=0.1,
                          ci_high=0.7)
    assert answer_questions(works)[1].verdict == "yes"
    unclear = _with_overall(practical, "rule_effectiveness", "rr_graduated", status="ok", estimate=0.8, ci_low=0.4,
                            ci_high=1.6)
    assert answer_questions(unclear)[1].verdict == "inconclusive"
    worse = _with_overall(practical, "rule_effectiveness", "rr_graduated", status="ok", estimate=2.0, ci_low=1.2,
                          ci_high=3.0)
    assert answer_questions(worse)[1].verdict == "no"
    slow = _with_overall(works, "gate_latency", "gate_median", estimate=25.0, ci_low=20.0, ci_high=30.0)
    assert "wait too long" in answer_questions(slow)[1].answer
    thin = _with_overall(works, "graduation_funnel", "graduated_share", status="insufficient")
    assert answer_questions(thin)[1].verdict == "insufficient"        # never "no" for want of data
    skipped = _with_overall(works, "anti_ouroboros_violations", "any", numerator=1.0)
    assert answer_questions(skipped)[1].verdict == "no"                # a skipped gate outweighs everything
