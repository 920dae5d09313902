"""The org metrics and the report section "Loops across the repository", on a simulated multi-loop repository
whose conflicts are known; the page is opened in headless Chromium."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest
from browser import ARTIFACTS, external, require_chromium, visit

import baton_lab as bl
from baton_lab.metrics import stats
from baton_lab.metrics.org import ORG_METRICS, org_metrics
from baton_lab.repos import analyse, resolve
from baton_lab.simulate.multiloop import evaluate, simulate_repository


@pytest.fixture(scope="module")
def org_store(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("org-report")
    truth = simulate_repository(root / "team-repo", seed=11, commits=220)
    lab = bl.open(root / "store.duckdb")
    lab.import_repo(truth.path)
    return lab, truth, root


def test_simulated_conflicts_are_found_exactly(org_store):
    _, truth, _ = org_store
    result = analyse(resolve(truth.path))
    scores = evaluate(truth, result.conflicts, result.rework, result.changes)
    for kind in ("explicit", "identity", "line_undo", "rework"):
        assert scores[kind]["tp"] > 0, kind
        assert scores[kind]["fp"] == 0 and scores[kind]["fn"] == 0, (kind, scores[kind])
    assert scores["attribution"]["fp"] == 0
    # every simulated chain's first fix reports "2/8 FAIL": the trigger says so
    assert set(result.rework["trigger"]) == {"failing_check"}


def test_org_metrics_carry_intervals_and_thin_loops_say_so(org_store):
    lab, truth, _ = org_store
    with lab.connect(read_only=True) as con:
        result = org_metrics(con)
    assert set(result.rows["metric_id"]) == set(ORG_METRICS)
    shares = result.rows.filter(pl.col("metric_id").is_in(["undone_by_other_loop", "rework_rate"]))
    assert shares["ci_method"].unique().to_list() == ["wilson"]
    assert (shares.filter(pl.col("denominator") < stats.MIN_PROPORTION_N)["status"] == "insufficient").all()
    assert (shares.filter(pl.col("denominator") >= stats.MIN_PROPORTION_N)["status"] == "ok").all()
    assert ((shares["ci_low"] <= shares["estimate"]) & (shares["estimate"] <= shares["ci_high"])).all()
    # the undone share's numerator, recounted from the conflicts table in SQL
    expected = dict(lab.sql("""
        SELECT undone_loop, count(DISTINCT undone_commit) FROM conflicts WHERE cross_loop GROUP BY 1""").iter_rows())
    got = shares.filter((pl.col("metric_id") == "undone_by_other_loop") & (pl.col("variant") == "any"))
    assert {r["loop"]: int(r["numerator"]) for r in got.iter_rows(named=True) if r["numerator"]} == expected
    changes = dict(lab.sql("SELECT loop, count(*) FROM changes WHERE NOT is_merge GROUP BY 1").iter_rows())
    assert {r["loop"]: int(r["denominator"]) for r in got.iter_rows(named=True)} == changes
    chains = result.rows.filter((pl.col("metric_id") == "rework_rate") & (pl.col("variant") == "any"))
    assert int(chains["numerator"].sum()) == len(truth.chains)
    assert result.pairs["conflicts"].sum() == lab.sql("SELECT count(*) AS n FROM conflicts WHERE cross_loop")["n"][0]


@pytest.fixture(scope="module")
def org_report(org_store):
    lab, _, root = org_store
    report = lab.report()
    return report, report.write(root / "report", png=False)


def test_report_has_the_section_with_its_figures_and_tables(org_store, org_report):
    report, written = org_report
    assert report.org is not None and [p.repo for p in report.org.repos] == ["team-repo"]
    keys = [f.key for f in report.org.figures]
    assert len(keys) == 5 and all(k.endswith("-team-repo") for k in keys)
    html = written.index.read_text(encoding="utf-8")
    md = (written.out / "report.md").read_text(encoding="utf-8")
    for text in (html, md):
        assert "Loops across the repository" in text and "team-repo" in text
    for key in keys:
        assert f'id="spec-{key}"' in html and f"figures/{key}.svg" in md
        assert (written.out / "figures" / f"{key}.svg").read_text(encoding="utf-8").lstrip().startswith("<svg")
    import json
    prov = json.loads((written.out / "provenance.json").read_text(encoding="utf-8"))
    assert [r["repo"] for r in prov["repositories"]] == ["team-repo"] and prov["repositories"][0]["tip"] == org_store[1].commits[-1].sha
    loops = pl.read_csv(written.out / "tables" / "org_loops.csv")
    assert set(loops["loop"]) == set(report.org.result.loops["loop"])
    part = report.org.repos[0]
    assert part.facts["commits"] == len(org_store[1].commits) and part.facts["explicit_reverts"] > 0
    assert part.facts["loops"] == 4 and part.facts["unassigned"] == sum(c.loop == "unassigned" for c in org_store[1].commits)
    assert "copilot:copilot" in part.loops["loop"].to_list()


def test_report_without_a_repository_has_no_org_section(tmp_path: Path):
    report = bl.open(tmp_path / "empty.duckdb").report()
    assert report.org is None
    written = report.write(tmp_path / "r", png=False)
    assert "Loops across the repository" not in written.index.read_text(encoding="utf-8")


@pytest.mark.slow
def test_org_section_in_headless_chromium(org_report):
    require_chromium()
    report, written = org_report
    shot = ARTIFACTS / "report-org.png"
    seen = visit(written.index, None)
    assert external(seen.requests, written.index) == []
    assert seen.failed == [] and seen.console_errors == [] and seen.page_errors == [] and seen.dialogs == []
    org_ids = {f"fig-{f.key}" for f in report.org.figures}
    drawn = [c for c in seen.charts if c["id"] in org_ids]
    assert len(drawn) == len(org_ids) == 5
    blank = [c["id"] for c in drawn if not (c["svg"] and c["marks"] > 3 and c["width"] > 50)]
    assert blank == [], f"org charts without drawn content: {blank}"
    assert "Loops across the repository" in seen.text and "copilot:copilot" in seen.text
    assert re.search(r"\d+ rework chains", seen.text)
    # a screenshot of the section itself, for the README
    from playwright.sync_api import sync_playwright

    from browser import CHROMIUM_ARGS
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=require_chromium(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(written.index.resolve().as_uri(), wait_until="load")
            page.wait_for_function("document.querySelector('#org .vega svg') !== null", timeout=20_000)
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.locator("#org").screenshot(path=str(shot))
        finally:
            browser.close()
    assert shot.stat().st_size > 20_000
