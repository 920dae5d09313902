"""`baton_lab.compare` on stores built from the bundled demo batons: arms measure what a store holding only
their sessions measures, effects and the FDR adjustment are recomputed independently (statsmodels), the
verdict rules, the interrupted time series, the figures, and the CLI (`--json`, one-line errors)."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest
import statsmodels.api as sm
from statsmodels.stats import proportion as sm_proportion, rates as sm_rates
from statsmodels.stats.multitest import multipletests
from typer.testing import CliRunner

import baton_lab as bl
from baton_lab import charts
from baton_lab.cli import app
from baton_lab.compare import ArmError, NothingToCompare, compare, effects as fx, its
from baton_lab.compare.comparison import QUESTIONS, _verdict
from baton_lab.demo import demo_dir

DEMO_DIR = demo_dir()
from baton_lab.metrics import compute

HEALTHY, LOG, RULES = "healthy-loop-001", "log-nobody-reads-002", "rules-dont-stick-003"
KEYS = ["metric_id", "variant"]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("compare")
    lab = bl.open(root / "demo.duckdb")
    for ns in (HEALTHY, LOG, RULES):
        lab.import_(DEMO_DIR / "v1" / ns, namespace=ns)
    # the same loop's first 25 sessions only: what arm A of a split at session 26 must measure
    first = root / "first25"
    first.mkdir()
    for path in sorted((DEMO_DIR / "v1" / HEALTHY).iterdir())[:25]:
        shutil.copy(path, first / path.name)
    bl.open(root / "first25.duckdb").import_(first, namespace=HEALTHY)
    return root


@pytest.fixture(scope="module")
def loops(store: Path):
    with duckdb.connect(str(store / "demo.duckdb"), read_only=True) as con:
        return compare(con, a=HEALTHY, b=LOG, its=False)


def _overall(con: duckdb.DuckDBPyConnection, ns: str) -> pl.DataFrame:
    rows = compute(con, ns, validate=False).rows
    return rows.filter(pl.col("overall") & (pl.col("namespace") == ns))


def _same_counts(arm: pl.DataFrame, prefix: str, reference: pl.DataFrame) -> None:
    joined = arm.join(reference, on=KEYS, how="inner")
    assert joined.height > 20
    for col in ("estimate", "numerator", "denominator", "exposure"):
        a, b = joined[f"{prefix}_{col}"].to_list(), joined[col].to_list()
        for x, y, key in zip(a, b, joined["metric_id"]):
            assert (x is None and y is None) or x == pytest.approx(y), (key, col, x, y)


def test_loop_arms_measure_what_the_metric_suite_measures_per_namespace(store: Path, loops) -> None:
    compared = loops.effects.filter(pl.col("kind").is_not_null())
    with duckdb.connect(str(store / "demo.duckdb"), read_only=True) as con:
        _same_counts(compared, "a", _overall(con, HEALTHY))
        _same_counts(compared, "b", _overall(con, LOG))


def test_split_arm_measures_what_a_store_of_only_those_sessions_measures(store: Path) -> None:
    with duckdb.connect(str(store / "demo.duckdb"), read_only=True) as con:
        c = compare(con, split="session:26", namespaces=HEALTHY, its=False)
    assert c.arm_a.sessions == 25 and c.arm_b.sessions == 25
    assert c.arm_a.ranges.to_dicts() == [{"namespace": HEALTHY, "lo": 1, "hi": 25}]
    with duckdb.connect(str(store / "first25.duckdb"), read_only=True) as con:
        _same_counts(c.effects.filter(pl.col("kind").is_not_null()), "a", _overall(con, HEALTHY))


def test_effects_fdr_and_adjusted_intervals_recomputed_independently(loops) -> None:
    e = loops.effects
    shares = e.filter((pl.col("kind") == "share") & pl.col("p_value").is_not_null())
    clustered = shares.filter(pl.col("method").str.contains("Rao-Scott"))
    # item-session shares (B2, B3, F4) and loops dated by their session (L6) carry a design effect
    assert {"touch_rate", "carryover_ratio", "silent_drop_rate"} <= set(clustered["metric_id"])
    for r in clustered.iter_rows(named=True):   # never narrower than the independent-trials interval
        plain = fx.share_difference(int(r["a_numerator"]), int(r["a_denominator"]), int(r["b_numerator"]),
                                    int(r["b_denominator"]))
        assert r["ci_low"] <= plain.ci_low + 1e-9 and r["ci_high"] >= plain.ci_high - 1e-9
        assert r["p_value"] >= plain.p_value - 1e-9
    shares = shares.filter(~pl.col("method").str.contains("Rao-Scott"))
    assert shares.height > 10
    for r in shares.iter_rows(named=True):
        expected = fx.share_difference(int(r["a_numerator"]), int(r["a_denominator"]), int(r["b_numerator"]),
                                       int(r["b_denominator"]))
        assert r["effect"] == pytest.approx(r["b_numerator"] / r["b_denominator"] - r["a_numerator"] / r["a_denominator"])
        assert (r["ci_low"], r["ci_high"]) == (pytest.approx(expected.ci_low), pytest.approx(expected.ci_high))
        if r["a_numerator"] + r["b_numerator"] > 0 and r["a_numerator"] + r["b_numerator"] < r["a_denominator"] + r["b_denominator"]:
            sm_p = sm_proportion.test_proportions_2indep(r["b_numerator"], r["b_denominator"], r["a_numerator"],
                                                         r["a_denominator"], method="score", compare="diff").pvalue
            assert r["p_value"] == pytest.approx(sm_p, abs=1e-9)
    rates = e.filter((pl.col("kind") == "rate") & pl.col("effect").is_not_null() & pl.col("p_value").is_not_null()
                     & ~pl.col("method").str.contains("quasi-Poisson"))   # P1's over-dispersed counts: effects tests
    for r in rates.iter_rows(named=True):
        one_sided = [sm_rates.test_poisson_2indep(int(r["b_numerator"]), r["b_exposure"], int(r["a_numerator"]),
                                                  r["a_exposure"], method="cond-midp", alternative=side).pvalue
                     for side in ("larger", "smaller")]
        assert r["p_value"] == pytest.approx(min(1.0, 2 * min(one_sided)), rel=1e-9)
    # Benjamini–Hochberg over exactly the effects with enough data
    tested = e.filter((pl.col("status") == "ok") & pl.col("p_value").is_not_null())
    assert tested.height == loops.n_tested
    bh = multipletests(tested["p_value"].to_numpy(), method="fdr_bh")[1]
    assert tested["p_adjusted"].to_numpy() == pytest.approx(bh)
    assert loops.n_discoveries == int((bh <= 0.05).sum()) > 0
    assert loops.fcr_confidence == pytest.approx(1 - loops.n_discoveries * 0.05 / loops.n_tested)
    assert e.filter(pl.col("status") == "insufficient")["p_adjusted"].null_count() == e.filter(
        pl.col("status") == "insufficient").height
    # adjusted intervals: test-inverted ones exclude "no effect" exactly for the BH discoveries
    for r in tested.filter(pl.col("kind").is_in(["share", "time"])).iter_rows(named=True):
        excludes = r["adj_ci_low"] > r["null"] or r["adj_ci_high"] < r["null"]
        assert excludes == (r["p_adjusted"] <= 0.05), r["metric_id"]
        assert r["adj_ci_low"] <= r["ci_low"] and r["adj_ci_high"] >= r["ci_high"]


def test_item_session_cells_add_up_to_the_pooled_rows(store: Path) -> None:
    from baton_lab.compare import measure_arm
    from baton_lab.compare.arms import resolve

    with duckdb.connect(str(store / "demo.duckdb"), read_only=True) as con:
        arm, _ = resolve(con, a=[HEALTHY, LOG], b=RULES)
        res = measure_arm(con, arm, ["touch_rate", "carryover_ratio", "silent_drop_rate", "pattern_recurrence_rate",
                                     "stale_share", "zombie_followups"])
    rows = {(r["metric_id"], r["variant"]): r for r in res.rows.iter_rows(named=True)}
    assert {("touch_rate", "all"), ("touch_rate", "acted"), ("carryover_ratio", "pattern"), ("silent_drop_rate", "share"),
            ("pattern_recurrence_rate", "pooled"),
            ("stale_share", "prevalence"), ("zombie_followups", "prevalence")} <= set(res.clusters)
    for key, cells in res.clusters.items():
        assert set(cells["namespace"]) <= {HEALTHY, LOG}
        denominator = rows[key]["exposure"] if key == ("pattern_recurrence_rate", "pooled") else rows[key]["denominator"]
        assert (cells["k"].sum(), cells["n"].sum()) == (rows[key]["numerator"], denominator), key


def test_kinds_and_non_comparable_rows_are_listed(loops) -> None:
    e = loops.effects
    kinds = dict(zip(e["metric_id"] + ":" + e["variant"], e["kind"]))
    assert kinds["silent_drop_rate:share"] == "share"
    assert kinds["loop_open_rate:all"] == "rate"
    assert kinds["time_to_verify:terminal_median"] == "time"
    assert kinds["new_pattern_rate:trend"] is None
    status = dict(zip(e["metric_id"] + ":" + e["variant"], e["status"]))
    assert status["new_pattern_rate:trend"] == "not_compared"
    assert status["verify_flip_rate:all"] == "not_supported"
    # shares and hazards left out of the FDR family on purpose (DESCRIPTIVE_ONLY), with the reason as the note
    for key in ("decision_linkage:loops_with_decision", "inter_occurrence_interval:gap_median"):
        row = e.filter((e["metric_id"] + ":" + e["variant"]) == key).row(0, named=True)
        assert row["status"] == "not_compared" and row["p_value"] is None and row["note"], key
        assert row["a_estimate"] is not None
    assert "spiral_index" not in set(e["metric_id"])


def test_verdicts_follow_the_pre_registered_rule(loops) -> None:
    rule = QUESTIONS[0]

    def table(readings: list[str]) -> pl.DataFrame:
        return pl.DataFrame({"metric_id": [x.metric_id for x in rule.endpoints],
                             "variant": [x.variant for x in rule.endpoints], "reading": readings})

    assert _verdict(rule, table(["better in B", "no detectable difference"])).verdict == "better"
    assert _verdict(rule, table(["worse in B", "no detectable difference"])).verdict == "worse"
    assert _verdict(rule, table(["better in B", "worse in B"])).verdict == "mixed"
    assert _verdict(rule, table(["no detectable difference"] * 2)).verdict == "no detectable difference"
    assert _verdict(rule, table(["insufficient", "no detectable difference"])).verdict == "insufficient"
    # on the demo: the log-nobody-reads loop drops more loops silently than the healthy one
    assert loops.verdicts[0].verdict in ("worse", "mixed")
    drop = loops.effects.filter((pl.col("metric_id") == "silent_drop_rate") & (pl.col("variant") == "share")).row(0, named=True)
    assert drop["reading"] == "worse in B" and drop["effect"] > 0


def test_arm_errors(store: Path) -> None:
    with duckdb.connect(str(store / "demo.duckdb"), read_only=True) as con:
        cases = [dict(a=HEALTHY, b="nope"), dict(a=HEALTHY, b=f"{HEALTHY},{LOG}"), dict(a=HEALTHY),
                 dict(a=HEALTHY, b=LOG, split="session:10"), dict(before="2026-06-20", after="2026-06-10"),
                 dict(split="format:baton-v9"), dict(split="sessions:3"), dict(split="session:1"),
                 dict(before="2026-06-10"), dict(split="date:2030-01-01")]
        for kwargs in cases:
            with pytest.raises(ArmError):
                compare(con, its=False, **kwargs)
        with pytest.raises(NothingToCompare):
            compare(con, a=HEALTHY, b=LOG, metrics=["L9"], its=False)


def test_split_points_by_date_format_rule_and_event(store: Path) -> None:
    from baton_lab.compare.arms import split_points

    with duckdb.connect(str(store / "demo.duckdb"), read_only=True) as con:
        first_written = con.execute(f"SELECT written_at FROM snapshots WHERE namespace = '{HEALTHY}' AND seq = 20").fetchall()[0][0]
        by_date = split_points(con, f"date:{first_written.isoformat()}", [HEALTHY])
        assert by_date.to_dicts() == [{"namespace": HEALTHY, "seq": 20}]
        rule = con.execute(f"SELECT rule_ref, min(seq) FROM patterns WHERE namespace = '{HEALTHY}' AND rule_ref IS NOT NULL "
                           "GROUP BY 1 ORDER BY 2 LIMIT 1").fetchall()[0]
        assert split_points(con, f"rule:{rule[0]}", [HEALTHY])["seq"].to_list() == [rule[1]]
        ev = con.execute(f"SELECT min(seq) FROM events WHERE namespace = '{HEALTHY}' AND event = 'status_changed' "
                         "AND to_value = 'failed'").fetchall()[0][0]
        assert split_points(con, "event:status_changed=failed", [HEALTHY])["seq"].to_list() == [ev]
        assert split_points(con, "format:baton-v1", [HEALTHY])["seq"].to_list() == [1]


def test_its_matches_a_direct_segmented_glm_and_does_not_credit_a_trend() -> None:
    rng = np.random.default_rng(5)
    t = np.arange(-12, 12)
    exposure = rng.integers(4, 9, t.size).astype(float)
    # a rate already falling before the split, and nothing happening at it
    k = rng.poisson(exposure * np.exp(-0.4 - 0.06 * t)).astype(float)
    series = pl.DataFrame({"t": t, "k": k, "n": exposure})
    out = its.fit(series, "rate")
    after = (t >= 0).astype(float)
    x = np.column_stack([np.ones(t.size), t, after, t * after])
    assert out["maxlags"] == 2              # Newey-West's rule of thumb, floor(4 (24/100)^(2/9))
    direct = sm.GLM(k, x, family=sm.families.Poisson(), offset=np.log(exposure)).fit(cov_type="HAC",
                                                                                       cov_kwds={"maxlags": 2})
    assert out["level"].estimate == pytest.approx(math.exp(direct.params[2]))
    assert out["slope"].ci_low == pytest.approx(math.exp(direct.conf_int()[3, 0]))
    assert out["pre"].estimate < 1                                  # the trend before is seen
    assert out["level"].ci_low < 1 < out["level"].ci_high           # and not credited to the split
    naive = fx.rate_ratio(int(k[t < 0].sum()), exposure[t < 0].sum(), int(k[t >= 0].sum()), exposure[t >= 0].sum())
    assert naive.ci_high < 1                                        # a plain before/after would have
    assert np.all(np.isnan(out["counterfactual"][t < 0]))


def test_its_on_a_split_and_without_statsmodels(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with duckdb.connect(str(store / "demo.duckdb"), read_only=True) as con:
        c = compare(con, split="session:26", namespaces=f"{HEALTHY},{RULES}", metrics=["L6", "B2", "L4"], its_window=3)
        assert [r.metric_id for r in c.its] == ["silent_drop_rate", "touch_rate", "caught_regressions"]
        touch = c.its[1]
        assert touch.status == "ok" and touch.level_change.ci_low < touch.level_change.estimate < touch.level_change.ci_high
        # the series sums both loops' sessions per window, aligned at the split
        assert touch.series.filter(pl.col("t") == 0)["first_session"].to_list() == [0]
        whole = compute(con, [HEALTHY, RULES], ["B2"], validate=False).rows.filter(
            pl.col("overall") & (pl.col("namespace") != "(pooled)") & (pl.col("variant") == "all"))
        assert touch.series["n"].sum() == pytest.approx(whole["denominator"].sum())
        assert touch.series["k"].sum() == pytest.approx(whole["numerator"].sum())
        monkeypatch.setattr(its, "statsmodels_available", lambda: False)
        without = compare(con, split="session:26", namespaces=HEALTHY, metrics=["L6"])
    assert without.its == [] and "baton-lab[stats]" in without.its_note
    assert without.effects.height > 0


def test_figures(loops, store: Path) -> None:
    figs = charts.comparison(loops)
    assert [f.key for f in figs] == ["compare-forest"]
    spec = json.dumps(figs[0].chart.to_dict())
    assert '"datum": 0.0' in spec and '"datum": 1.0' in spec        # the no-effect lines
    assert "adj_ci_low" in spec and "Benjamini" in figs[0].caption
    assert charts.to_svg(figs[0].chart).startswith("<svg")
    with duckdb.connect(str(store / "demo.duckdb"), read_only=True) as con:
        c = compare(con, split="session:26", namespaces=f"{HEALTHY},{RULES}", metrics=["B2"], its_window=3)
    its_fig = charts.comparison(c)[2]
    assert its_fig.key == "compare-its-touch-rate-all" and "counterfactual" in its_fig.caption
    assert "counterfactual" in json.dumps(its_fig.chart.to_dict())


def test_cli_json_and_one_line_errors(store: Path) -> None:
    runner = CliRunner()
    db = str(store / "demo.duckdb")
    ok = runner.invoke(app, ["compare", "--db", db, "--a", HEALTHY, "--b", LOG, "--json"])
    assert ok.exit_code == 0, ok.output
    doc = json.loads(ok.stdout)
    assert [a["name"] for a in doc["arms"]] == [HEALTHY, LOG]
    assert {v["question"] for v in doc["verdicts"]} == {"spiral", "graduation", "verification"}
    assert doc["fdr"]["method"] == "benjamini-hochberg" and doc["effects"]
    table = runner.invoke(app, ["compare", "--db", db, "--split", "session:26", "-n", HEALTHY, "-m", "L6"])
    assert table.exit_code == 0 and "L6" in table.stdout and "ITS" in table.stdout
    for args in (["--a", HEALTHY, "--b", "ghost"], ["--a", HEALTHY, "--b", HEALTHY],
                 ["--before", "2026-06-20", "--after", "2026-06-01"], ["--a", HEALTHY, "--b", LOG, "-m", "L9"]):
        bad = runner.invoke(app, ["compare", "--db", db, *args])
        assert bad.exit_code == 1
        lines = bad.stderr.strip().splitlines()
        assert len(lines) == 2 and lines[0].startswith("error: ") and lines[1].startswith("hint: "), lines


def test_report_has_a_comparisons_section_when_asked(store: Path, tmp_path: Path) -> None:
    from baton_lab.report import build
    from baton_lab.report._templates import render_markdown
    from baton_lab.report._write import write_tables

    lab = bl.open(store / "demo.duckdb")
    report = build(lab, compare=f"{HEALTHY} vs {LOG}")
    assert report.comparisons is not None and report.compared.arm_b.name == LOG
    assert "compare-forest" in [f.key for f in report.figures]
    text = render_markdown(report, png=False)
    assert "## Comparisons" in text and "figures/compare-forest.svg" in text
    for v in report.compared.verdicts:
        assert v.verdict in text
    assert report.comparisons.table.height == report.compared.compared.height
    assert (tmp_path / "t" / "comparison_effects.csv") in write_tables(report, tmp_path / "t")
    plain = build(lab, namespace=HEALTHY)
    assert plain.comparisons is None and "## Comparisons" not in render_markdown(plain, png=False)


def test_simulator_switches_a_practice_on_at_a_chosen_session() -> None:
    from baton_lab.simulate import simulate
    from baton_lab.simulate.params import DEFAULT, PRACTICES, SimulationError, with_practice

    params = with_practice(DEFAULT, "next-session-verification", at=31)
    assert params.after_regime_change() == DEFAULT.with_overrides(**dict(PRACTICES["next-session-verification"]))
    truth = simulate(params, seed=4, sessions=60).truth()
    regime = truth["sessions"].sort("seq")["regime"].to_list()
    assert regime == [0] * 30 + [1] * 30
    loops = truth["loops"].with_columns(after=pl.col("created_seq") >= 31)
    rates = loops.group_by("after").len().sort("after")["len"].to_list()
    assert rates[1] > rates[0] * 0.9            # 1.8 vs 1.5 loops per session, 30 sessions each
    with pytest.raises(SimulationError):
        with_practice(DEFAULT, "nope", at=3)


def test_silent_drop_arm_counts_the_simulators_true_drops(tmp_path: Path) -> None:
    """The validity benchmark reads L6's coverage from the simulator's truth (`--truth-l6`) as well as from
    imported stores: that holds only if an arm of a loop's first n sessions counts exactly the loops the
    simulator created in those sessions and dropped while open by session n (the same estimand)."""
    from baton_lab.compare import measure_arm
    from baton_lab.compare.arms import Arm
    from baton_lab.simulate import simulate
    from baton_lab.simulate.params import DEFAULT, PRACTICES

    change = DEFAULT.with_overrides(**dict(PRACTICES["next-session-verification"]))
    sim = simulate({"a": DEFAULT, "b": change}, seed=7, sessions=160, namespaces=2)
    sim.write(tmp_path / "sim", ["ndjson"])
    lab = bl.open(tmp_path / "store.duckdb")
    for path in sorted((tmp_path / "sim" / "ndjson").glob("*.ndjson")):
        lab.import_(path, namespace=path.stem)
    truth = sim.truth()["loops"]
    # an arm ending exactly at a session where a loop vanished: the boundary that decides what "first n" counts
    edge = truth.filter(pl.col("dropped") & (pl.col("removed_seq") >= 30))["removed_seq"].min()
    with duckdb.connect(str(tmp_path / "store.duckdb"), read_only=True) as con:
        for n in (edge, 80):
            ranges = pl.DataFrame({"namespace": sim.namespaces, "lo": [1, 1], "hi": [n, n]})
            arms = measure_arm(con, Arm("both", "both", ranges), ["silent_drop_rate"], per_namespace=True)
            for ns in sim.namespaces:
                row = arms[ns].rows.filter(pl.col("variant") == "share").row(0, named=True)
                made = truth.filter((pl.col("namespace") == ns) & (pl.col("created_seq") <= n))
                dropped = made.filter(pl.col("dropped") & (pl.col("removed_seq") <= n))
                assert made.height > 20 and dropped.height > 0
                assert (row["numerator"], row["denominator"]) == (dropped.height, made.height), (ns, n)
