"""The cluster bootstrap (metrics.md §3.1): the helper, P2's interval by pattern, the spiral index's block
bootstrap, and metrics on stores with no or a single snapshot."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from scipy import stats as sps

import baton_lab as bl
from baton_lab.metrics import MetricRows, stats
from baton_lab.simulate import simulate
from builders import loop, pattern, v1, write_sequence


def _row(result, metric_id: str, variant: str, ns: str = "home") -> dict:
    rows = result.rows.filter((pl.col("metric_id") == metric_id) & (pl.col("variant") == variant)
                              & (pl.col("namespace") == ns) & pl.col("overall"))
    assert rows.height == 1, (metric_id, variant, ns, rows)
    return rows.row(0, named=True)


def _cluster_mean(values: np.ndarray, cluster: np.ndarray):  # noqa: ANN202
    """Statistic for `cluster_bootstrap`: the mean of the rows of the drawn clusters, from per-cluster sums."""
    sums, sizes = np.bincount(cluster, weights=values), np.bincount(cluster).astype(float)
    return lambda counts: (counts @ sums) / (counts @ sizes)


@pytest.fixture(scope="module")
def clustered() -> tuple[np.ndarray, np.ndarray]:
    """30 clusters of 20 rows sharing a strong cluster effect (intra-cluster correlation ≈ 0.8)."""
    rng = np.random.default_rng(11)
    cluster = np.repeat(np.arange(30), 20)
    return rng.normal(0, 2, 30)[cluster] + rng.normal(0, 1, cluster.size), cluster


# -- the helper ---------------------------------------------------------------------------------------
def test_cluster_interval_is_wider_than_the_iid_one_when_clusters_correlate(clustered) -> None:  # noqa: ANN001
    values, cluster = clustered
    by_cluster = stats.cluster_bootstrap(_cluster_mean(values, cluster), 30)
    by_row = stats.cluster_bootstrap(_cluster_mean(values, np.arange(values.size)), values.size)
    assert by_cluster.estimate == pytest.approx(values.mean()) == by_row.estimate
    assert by_cluster.method == "cluster-bootstrap-bca" and by_cluster.min_n_met and by_cluster.denominator == 30
    for est in (by_cluster, by_row):
        assert est.ci_low < est.estimate < est.ci_high
    # design effect 1 + (20 - 1)·0.8 ≈ 16: the honest interval is about 4x the one that treats rows as independent
    ratio = (by_cluster.ci_high - by_cluster.ci_low) / (by_row.ci_high - by_row.ci_low)
    assert 2.5 < ratio < 6
    # the iid resampling agrees with scipy.stats.bootstrap on the raw rows (same draws from the same seed)
    plain = sps.bootstrap((values,), np.mean, n_resamples=stats.BOOTSTRAP_RESAMPLES, rng=np.random.default_rng(0),
                          batch=stats.BOOTSTRAP_RESAMPLES)
    assert (by_row.ci_low, by_row.ci_high) == pytest.approx(tuple(plain.confidence_interval), rel=1e-9)


def test_cluster_bootstrap_is_reproducible(clustered) -> None:  # noqa: ANN001
    values, cluster = clustered
    statistic = _cluster_mean(values, cluster)
    first, again = stats.cluster_bootstrap(statistic, 30), stats.cluster_bootstrap(statistic, 30)
    assert (first.ci_low, first.ci_high) == (again.ci_low, again.ci_high)
    other = stats.cluster_bootstrap(statistic, 30, seed=1)
    assert (other.ci_low, other.ci_high) != (first.ci_low, first.ci_high)


def test_percentile_fallback_is_reported() -> None:
    # Every resample gives the same value: BCa's bias and acceleration are 0/0, the percentile interval is not.
    est = stats.cluster_bootstrap(lambda counts: np.ones(len(counts)), 12)
    assert (est.estimate, est.ci_low, est.ci_high) == (1.0, 1.0, 1.0)
    assert est.method == "cluster-bootstrap-percentile" and est.min_n_met


def test_no_interval_below_the_minimum_number_of_clusters() -> None:
    calls = []

    def statistic(counts: np.ndarray) -> np.ndarray:
        calls.append(counts.shape)
        return counts.sum(axis=1)

    est = stats.cluster_bootstrap(statistic, stats.MIN_BOOTSTRAP_CLUSTERS - 1)
    assert est.estimate == stats.MIN_BOOTSTRAP_CLUSTERS - 1 and (est.ci_low, est.ci_high) == (None, None)
    assert not est.min_n_met and est.label == "insufficient data"
    assert calls == [(1, stats.MIN_BOOTSTRAP_CLUSTERS - 1)]    # only the observed data, no resampling
    assert stats.cluster_bootstrap(statistic, 3, min_clusters=3).min_n_met
    assert not stats.cluster_bootstrap(statistic, 1, min_clusters=1).min_n_met   # scipy needs two clusters


def test_km_median_cluster_bootstrap_equals_the_brute_force_resampling() -> None:
    # 14 clusters; one long-lived cluster makes some resamples reach the median only after the observed
    # survival falls to 0.25, the path that searches the later times.
    rng = np.random.default_rng(4)
    cluster = np.repeat(np.arange(14), rng.integers(2, 7, 14))
    durations = rng.integers(1, 6, cluster.size).astype(float) + np.where(cluster == 0, 12, 0)
    observed = rng.random(cluster.size) < 0.8
    est = stats.km_median_cluster_bootstrap(durations, observed, cluster, n_resamples=199)
    assert est.estimate == stats.kaplan_meier(durations, observed).median
    assert (est.numerator, est.denominator) == (observed.sum(), 14)

    def median(idx: np.ndarray) -> float:   # Kaplan-Meier of the drawn clusters' rows, with scipy.stats.ecdf
        rows = np.concatenate([np.nonzero(cluster == c)[0] for c in idx])
        m = stats.kaplan_meier(durations[rows], observed[rows]).median
        return np.inf if m is None else m

    brute = sps.bootstrap((np.arange(14),), median, vectorized=False, n_resamples=199, rng=np.random.default_rng(0))
    assert est.method == "cluster-bootstrap-bca"
    assert (est.ci_low, est.ci_high) == tuple(brute.confidence_interval)


@pytest.mark.filterwarnings("ignore:invalid value encountered in sqrt:RuntimeWarning")   # scipy, on tiny resamples
def test_theil_sen_votes_equal_theil_sen_on_the_expanded_resample() -> None:
    rng = np.random.default_rng(7)

    def vote(y: np.ndarray, w: np.ndarray) -> int:
        est = stats.theil_sen(np.repeat(y, w), np.repeat(np.arange(len(y)), w))
        if not est.min_n_met or est.ci_low is None or np.isnan(est.ci_low):
            return 0
        return 1 if est.ci_low > 0 else (-1 if est.ci_high < 0 else 0)

    checked = 0
    for trial in range(60):
        n = int(rng.integers(2, 25))
        y = rng.normal(size=n) + rng.normal() * 0.3 * np.arange(n)
        if trial % 2:
            y = np.round(y)                                  # tied values
        y[rng.random(n) < 0.15] = np.nan                     # windows without a value
        series = np.stack([y, -y])
        groups = np.arange(n) // int(rng.integers(1, 4))     # blocks of windows share a count
        counts = rng.integers(0, 4, (15, groups[-1] + 1))
        got = stats.theil_sen_votes(series, groups)(counts)
        for m in range(len(counts)):
            for s in range(2):
                assert got[m, s] == vote(series[s], counts[m][groups]), (series[s], counts[m][groups])
                checked += got[m, s] != 0
    assert checked > 200


# -- P2 ----------------------------------------------------------------------------------------------
def _recurring_history(folder: Path, frequent: int, rare: int, sessions: int = 16) -> None:
    """Patterns entering at s2: `frequent` recur every session, `rare` every third session (s5, s8, s11, s14)."""
    batons = [v1("s1")]
    for s in range(2, sessions + 1):
        pats = [pattern(f"F-{j}", count=s - 1) for j in range(frequent)]
        pats += [pattern(f"R-{j}", count=1 + (s - 2) // 3) for j in range(rare)]
        batons.append(v1(f"s{s}", f"s{s - 1}", patterns=pats))
    write_sequence(folder, batons)


def test_p2_cluster_row_by_pattern(tmp_path: Path) -> None:
    _recurring_history(tmp_path / "h", frequent=3, rare=9)
    lab = bl.open(tmp_path / "s.duckdb")
    lab.import_(tmp_path / "h", namespace="home")
    r = lab.metrics(metric="P2")
    MetricRows.validate(r.rows)
    naive, cluster = _row(r, "inter_occurrence_interval", "gap_median"), _row(r, "inter_occurrence_interval", "gap_median_cluster")
    # gaps: 3 x 14 of one session; 9 x (3, 3, 3, 3) and a last one censored at 2. S(1) = 45/87 > 0.5, S(3) = 0.
    assert (naive["estimate"], naive["numerator"], naive["denominator"]) == (3, 78, 87)
    assert (cluster["estimate"], cluster["numerator"], cluster["denominator"], cluster["n_censored"]) == (3, 78, 12, 9)
    # A resample's median is 1 when it draws >= 4 frequent patterns of 12 (P = 0.35), else 3: both ends occur.
    assert (cluster["ci_low"], cluster["ci_high"]) == (1, 3)
    assert cluster["ci_method"] in ("cluster-bootstrap-bca", "cluster-bootstrap-percentile") and cluster["status"] == "ok"
    assert cluster["min_n_met"] and "12 patterns, 87 gaps" in cluster["note"]
    assert _row(r, "inter_occurrence_interval", "gap_median_cluster", "(pooled)")["estimate"] == 3
    again = lab.metrics(metric="P2")
    assert _row(again, "inter_occurrence_interval", "gap_median_cluster")["ci_low"] == cluster["ci_low"]


def test_p2_cluster_row_is_insufficient_with_few_patterns(tmp_path: Path) -> None:
    _recurring_history(tmp_path / "h", frequent=2, rare=2)
    lab = bl.open(tmp_path / "s.duckdb")
    lab.import_(tmp_path / "h", namespace="home")
    row = _row(lab.metrics(metric="P2"), "inter_occurrence_interval", "gap_median_cluster")
    assert row["estimate"] == 1 and row["denominator"] == 4
    assert (row["ci_low"], row["ci_high"], row["status"], row["min_n_met"]) == (None, None, "insufficient", False)


# -- SI ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def healthy(tmp_path_factory: pytest.TempPathFactory) -> bl.Lab:
    root = tmp_path_factory.mktemp("si")
    sim = simulate("healthy-loop", seed=3, sessions=80)
    sim.write(root, ["v1"])
    lab = bl.open(root / "store.duckdb")
    lab.import_(root / "v1" / sim.namespaces[0], namespace="home")
    return lab


def test_spiral_index_block_bootstrap(healthy: bl.Lab) -> None:
    r = healthy.metrics(metric="SI", window=5)                       # 16 windows: blocks of one window
    for ns in ("home", "(pooled)"):
        si = _row(r, "spiral_index", "si", ns)
        assert -1 <= si["ci_low"] <= si["estimate"] <= si["ci_high"] <= 1
        assert si["ci_high"] > si["ci_low"]
        assert si["ci_method"] in ("block-bootstrap-bca", "block-bootstrap-percentile")
        assert "16 blocks of 1 window" in si["note"]
    again = _row(healthy.metrics(metric="SI", window=5), "spiral_index", "si")
    assert (again["ci_low"], again["ci_high"]) == (_row(r, "spiral_index", "si")["ci_low"], _row(r, "spiral_index", "si")["ci_high"])
    long = _row(healthy.metrics(metric="SI", window=1), "spiral_index", "si")   # 80 windows: 20 blocks of 4
    assert "20 blocks of 4 windows" in long["note"] and -1 <= long["ci_low"] <= long["ci_high"] <= 1
    short = _row(healthy.metrics(metric="SI"), "spiral_index", "si")          # 8 windows: no interval
    assert short["ci_low"] is None and short["ci_method"] == "sign-consistency vote (no interval)"
    assert "no interval: 8 blocks" in short["note"]


# -- empty and one-snapshot stores -------------------------------------------------------------------
def test_every_metric_on_an_empty_store(tmp_path: Path) -> None:
    r = bl.open(tmp_path / "empty.duckdb").metrics()
    MetricRows.validate(r.rows)
    assert set(r.rows["status"]) <= {"no_data", "not_supported"} and set(r.rows["namespace"]) <= {"(pooled)"}
    assert _row(r, "spiral_index", "si", "(pooled)")["status"] == "no_data"
    assert _row(r, "inter_occurrence_interval", "gap_median_cluster", "(pooled)")["status"] == "no_data"


def test_every_metric_on_a_single_snapshot(tmp_path: Path) -> None:
    write_sequence(tmp_path / "h", [v1("s1", loops=[loop("A")], patterns=[pattern("P-1", count=2)])])
    lab = bl.open(tmp_path / "s.duckdb")
    lab.import_(tmp_path / "h", namespace="home")
    r = lab.metrics()
    MetricRows.validate(r.rows)
    assert set(r.rows["namespace"]) == {"home", "(pooled)"}
    si = _row(r, "spiral_index", "si")
    assert (si["estimate"], si["ci_low"], si["status"]) == (0.0, None, "insufficient")
    assert _row(r, "inter_occurrence_interval", "gap_median_cluster")["status"] == "no_data"
