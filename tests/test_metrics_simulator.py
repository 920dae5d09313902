"""Metrics against the simulator's ground truth: headline counts, interval coverage over seeds, and the
documented differences between presets."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

import baton_lab as bl
from baton_lab.simulate import simulate


def _store(root: Path, preset: str, seed: int, sessions: int, namespaces: int = 1):  # noqa: ANN202
    sim = simulate(preset, seed=seed, sessions=sessions, namespaces=namespaces)
    sim.write(root, ["v1"])
    lab = bl.open(root / "store.duckdb")
    for ns in sim.namespaces:
        lab.import_(root / "v1" / ns, namespace=ns)
    return sim, lab


@pytest.fixture(scope="module")
def presets(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = {}
    for preset in ("default", "healthy-loop", "log-nobody-reads", "rules-dont-stick"):
        sim, lab = _store(tmp_path_factory.mktemp(preset), preset, seed=1, sessions=300)
        out[preset] = (sim, lab, lab.metrics())
    return out


def _overall(result, metric_id: str, variant: str, ns: str = "(pooled)") -> dict:
    rows = result.rows.filter((pl.col("metric_id") == metric_id) & (pl.col("variant") == variant)
                              & (pl.col("namespace") == ns) & pl.col("overall"))
    return rows.row(0, named=True)


def test_headline_counts_equal_the_simulators(presets: dict) -> None:
    for preset, (sim, _, result) in presets.items():
        truth = sim.headline()
        for ns, counts in result.counts.items():
            expected = dict(truth[ns])
            # v1 batons carry no revision: the v2 writes the simulator made unseen are invisible here
            assert counts["unseen_revisions"] == 0
            expected["unseen_revisions"] = 0
            assert counts == expected, preset


def test_preset_differences(presets: dict) -> None:
    res = {p: r for p, (_, _, r) in presets.items()}
    healthy = _overall(res["healthy-loop"], "rule_effectiveness", "rr_graduated")
    stick = _overall(res["rules-dont-stick"], "rule_effectiveness", "rr_graduated")
    # rule_effect 0.3; one 300-session loop has few "before" occurrences (healthy loops graduate within a
    # session or two), so the bound is only required to sit well below the no-effect preset's estimate
    assert 0.15 < healthy["estimate"] < 0.6 and healthy["ci_high"] < 1.2 and healthy["ci_high"] < stick["ci_high"]
    assert stick["ci_low"] < 1 < stick["ci_high"] and 0.7 < stick["estimate"] < 1.4   # rule_effect 1.0
    drop = {p: _overall(r, "silent_drop_rate", "share")["estimate"] for p, r in res.items()}
    assert drop["log-nobody-reads"] > 0.4 and drop["healthy-loop"] < 0.06 and drop["default"] < drop["log-nobody-reads"]
    touch = {p: _overall(r, "touch_rate", "open_loop")["estimate"] for p, r in res.items()}
    assert touch["healthy-loop"] > 2 * touch["log-nobody-reads"]
    # B2 acted (the Q1 endpoint): open loops and follow-ups acted on, not deferred — high only where the baton is worked
    from baton_lab.report import ACTED_ON_HIGH
    acted = {p: _overall(r, "touch_rate", "acted") for p, r in res.items()}
    assert acted["healthy-loop"]["ci_low"] >= ACTED_ON_HIGH > acted["log-nobody-reads"]["ci_high"]
    assert _overall(res["healthy-loop"], "touch_rate", "acted_trend")["ci_high"] > -0.01   # not falling
    viol = {p: _overall(r, "anti_ouroboros_violations", "hard")["numerator"] for p, r in res.items()}
    assert viol["log-nobody-reads"] > 0 and viol["healthy-loop"] == viol["rules-dont-stick"] == 0
    gate = {p: _overall(r, "gate_latency", "gate_median")["estimate"] for p, r in res.items()}
    assert gate["healthy-loop"] <= 2 and (gate["log-nobody-reads"] is None or gate["log-nobody-reads"] >= 8)
    for r in res.values():   # SI never alone: its component table is beside it, one row per component
        si = _overall(r, "spiral_index", "si")
        comps = r.rows.filter((pl.col("metric_id") == "spiral_index") & pl.col("variant").str.starts_with("component:")
                              & (pl.col("namespace") == "(pooled)"))
        assert comps.height == 12 and -1 <= si["estimate"] <= 1 and si["denominator"] in (11, 12)
        assert si["numerator"] == comps.filter(~pl.col("note").fill_null("").str.starts_with("not counted"))["numerator"].sum()


def test_intervals_cover_the_true_values_over_seeds(tmp_path_factory: pytest.TempPathFactory) -> None:
    # default preset: true values from the simulator's parameters (docs/simulator.md)
    truth = {
        ("loop_open_rate", "all"): 1.5,                         # loops_per_session
        ("verify_coverage", "machine"): 0.3 + 0.2 + 0.15,       # verify_mix machine share
        # v1: a follow-up leaves when resolved (band hazard) or, failing that, abandoned (1%)
        ("escalation_effectiveness", "rate_lt3"): 0.15 + 0.85 * 0.01,
        ("escalation_effectiveness", "rate_3_4"): 0.25 + 0.75 * 0.01,
        ("rule_effectiveness", "rr_graduated"): 0.3,            # rule_effect
    }
    hits = {k: [] for k in truth}
    for seed in range(4):
        _, lab = _store(tmp_path_factory.mktemp(f"cov{seed}"), "default", seed=100 + seed, sessions=450, namespaces=3)
        rows = lab.metrics(metric=["L1", "L2", "F3", "P6"]).rows.filter(pl.col("overall") & (pl.col("namespace") != "(pooled)"))
        for (mid, variant), value in truth.items():
            for r in rows.filter((pl.col("metric_id") == mid) & (pl.col("variant") == variant)).iter_rows(named=True):
                if r["ci_low"] is not None:
                    hits[(mid, variant)].append(r["ci_low"] <= value <= r["ci_high"])
    total = [h for v in hits.values() for h in v]
    assert len(total) >= 50
    assert sum(total) / len(total) >= 0.85, hits
    assert all(sum(v) / len(v) >= 0.7 for v in hits.values()), hits


def test_v2_counts_and_unsupported_decisions(tmp_path: Path) -> None:
    sim = simulate("log-nobody-reads", seed=3, sessions=60, namespaces=1)
    sim.write(tmp_path, ["v2"])
    lab = bl.open(tmp_path / "store.duckdb")
    ns = sim.namespaces[0]
    lab.import_(tmp_path / "v2" / ns)
    result = lab.metrics(metric=["D1", "D2", "B1", "B7"])
    expected = dict(sim.headline()[ns])
    assert expected["unseen_revisions"] > 0
    expected["decisions_superseded"] = 0        # v2 batons carry no decisions
    assert result.counts[ns] == expected
    rows = result.rows.filter(pl.col("metric_id").is_in(["decision_lifetime", "supersession_rate", "read_receipt_rate"]))
    assert set(rows["status"]) == {"not_supported"}
    assert result.rows.filter(pl.col("metric_id") == "reverify_regression_rate")["status"].is_in(["ok", "insufficient"]).all()


def test_flakes_are_separated_from_caught_regressions(tmp_path: Path) -> None:
    """Failed checks re-run with nothing changed (p_recheck_failed) let L9 estimate the flake rate and L4 count
    real catches: with nothing broken the flake-adjusted count covers zero and Q3 never says yes; with real
    breakage its lower bound is above zero and the interval covers the true share."""
    from baton_lab.metrics import compute
    from baton_lab.report import answer_questions
    from baton_lab.simulate import PRESETS

    null = PRESETS["default"].with_overrides(p_broke=0.0, p_flaky=0.1, p_recheck_failed=0.8, rule_effect=1.0)
    broken = PRESETS["default"].with_overrides(p_broke=0.2, p_flaky=0.1, p_recheck_failed=0.8)
    sim = simulate({"null": null, "broken": broken}, seed=11, sessions=600, namespaces=2)
    sim.write(tmp_path, ["ndjson"])
    lab = bl.open(tmp_path / "store.duckdb")
    for ns in sim.namespaces:
        lab.import_(tmp_path / "ndjson" / f"{ns}.ndjson", namespace=ns)
    with lab.connect(read_only=True) as con:
        result = compute(con, None, ["caught_regressions", "verify_flip_rate"])
    truth = sim.truth()["loops"]
    null_ns, broken_ns = sim.namespaces
    flake = _overall(result, "verify_flip_rate", "flake_rate", null_ns)
    assert flake["status"] == "ok" and flake["ci_low"] < 0.1 < flake["ci_high"]
    real = _overall(result, "caught_regressions", "real_count", null_ns)
    assert _overall(result, "caught_regressions", "count", null_ns)["estimate"] > 0   # flakes were counted as caught
    assert real["ci_low"] == 0 and answer_questions(result, null_ns)[2].verdict != "yes"
    machine = truth.filter((pl.col("namespace") == broken_ns) & pl.col("outcome").is_in(["verified", "failed"])
                           & pl.col("verify_method").is_in(["http", "file_exists", "process_running"]))
    true_share = machine.filter(pl.col("broke_something") & (pl.col("outcome") == "failed")).height / machine.height
    share = _overall(result, "caught_regressions", "real_share", broken_ns)
    assert share["ci_low"] <= true_share <= share["ci_high"]
    assert share["estimate"] < _overall(result, "caught_regressions", "catch_share", broken_ns)["estimate"]
    assert answer_questions(result, broken_ns)[2].verdict == "yes"
