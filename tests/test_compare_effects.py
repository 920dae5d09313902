"""Two-arm effects on hand-built arms with known counts, each checked against an independent computation:
statsmodels' score test and conditional mid-p tests, a numerically maximised restricted likelihood (scipy)
for the Miettinen–Nurminen interval, scipy's binomial interval for rate ratios, lifelines' Cox model for
hazard ratios, statsmodels' Benjamini–Hochberg; and the pre-registered "insufficient" rules."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter
from scipy import optimize, stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats import proportion as sm_proportion
from statsmodels.stats import rates as sm_rates

from baton_lab.compare import effects as fx

SHARES = [(5, 20, 12, 22), (0, 15, 4, 17), (30, 30, 10, 40), (3, 50, 3, 50), (1, 11, 10, 11), (2, 14, 9, 16),
          (0, 10, 0, 12), (12, 40, 12, 40)]


def _oracle_mn_z(kb: int, nb: int, ka: int, na: int, delta: float) -> float:
    """Miettinen–Nurminen statistic from first principles: the restricted MLE by numerical maximisation."""
    def negloglik(p2: float) -> float:
        p1 = p2 + delta
        terms = [(kb, p1), (nb - kb, 1 - p1), (ka, p2), (na - ka, 1 - p2)]
        return -sum(k * math.log(p) for k, p in terms if k)

    lo, hi = max(0.0, -delta) + 1e-12, min(1.0, 1 - delta) - 1e-12
    p2 = optimize.minimize_scalar(negloglik, bounds=(lo, hi), method="bounded", options={"xatol": 1e-13}).x
    p1 = p2 + delta
    n = na + nb
    var = (p1 * (1 - p1) / nb + p2 * (1 - p2) / na) * n / (n - 1)
    return (kb / nb - ka / na - delta) / math.sqrt(var)


def _oracle_mn_interval(ka: int, na: int, kb: int, nb: int) -> tuple[float, float]:
    est = kb / nb - ka / na
    crit = stats.norm.ppf(0.975)
    f = lambda d: abs(_oracle_mn_z(kb, nb, ka, na, d)) - crit  # noqa: E731
    edge = 1 - 1e-9
    low = optimize.brentq(f, -edge, est, xtol=1e-12) if f(-edge) > 0 else -1.0
    high = optimize.brentq(f, est, edge, xtol=1e-12) if f(edge) > 0 else 1.0
    return low, high


@pytest.mark.parametrize("ka,na,kb,nb", SHARES)
def test_share_difference_matches_score_test_and_interval(ka: int, na: int, kb: int, nb: int) -> None:
    e = fx.share_difference(ka, na, kb, nb)
    assert e.estimate == pytest.approx(kb / nb - ka / na)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)    # statsmodels divides by zero for 0 counts
        sm = sm_proportion.test_proportions_2indep(kb, nb, ka, na, method="score", compare="diff", correction=True)
    expected_p = 1.0 if ka == kb == 0 else sm.pvalue
    assert e.p_value == pytest.approx(expected_p, abs=1e-9)
    low, high = _oracle_mn_interval(ka, na, kb, nb)
    assert e.ci_low == pytest.approx(low, abs=1e-6)
    assert e.ci_high == pytest.approx(high, abs=1e-6)
    # the interval and the test agree: 0 is outside exactly when p < 0.05
    assert (e.ci_low > 0 or e.ci_high < 0) == (e.p_value < 0.05)


def test_share_interval_is_symmetric_for_equal_arms_and_narrows_with_confidence() -> None:
    e = fx.share_difference(3, 50, 3, 50)
    assert e.ci_low == pytest.approx(-e.ci_high, abs=1e-9)
    wide = fx.share_difference(5, 20, 12, 22, confidence=0.999)
    narrow = fx.share_difference(5, 20, 12, 22, confidence=0.8)
    assert wide.ci_low < narrow.ci_low < narrow.ci_high < wide.ci_high


@pytest.mark.parametrize("ka,ea,kb,eb", [(4, 20, 13, 25), (10, 50, 10, 50), (0, 30, 9, 30), (7, 12.5, 2, 40),
                                          (25, 100, 60, 110)])
def test_rate_ratio_is_the_conditional_mid_p_of_statsmodels(ka: int, ea: float, kb: int, eb: float) -> None:
    e = fx.rate_ratio(ka, ea, kb, eb)

    def one_sided(value: float, alternative: str) -> float:
        return sm_rates.test_poisson_2indep(kb, eb, ka, ea, value=value, method="cond-midp",
                                            alternative=alternative).pvalue

    assert e.estimate == pytest.approx((kb / eb) / (ka / ea) if ka else math.inf)
    # central two-sided test: twice the smaller one-sided mid-p
    assert e.p_value == pytest.approx(min(1.0, 2 * min(one_sided(1.0, "larger"), one_sided(1.0, "smaller"))), rel=1e-9)
    # each bound is where its one-sided mid-p test is at 2.5%: the interval is that test inverted
    if kb > 0:
        assert one_sided(e.ci_low, "larger") == pytest.approx(0.025, abs=1e-9)
    else:
        assert e.ci_low == 0
    if ka > 0:
        assert one_sided(e.ci_high, "smaller") == pytest.approx(0.025, abs=1e-9)
    else:
        assert e.ci_high == math.inf
    # narrower than the exact conditional (Clopper–Pearson) interval, which is conservative at few events
    ci = stats.binomtest(kb, ka + kb, p=eb / (ea + eb)).proportion_ci(confidence_level=0.95, method="exact")
    to_rr = lambda p: math.inf if p >= 1 else p / (1 - p) * ea / eb  # noqa: E731
    assert e.ci_low >= to_rr(ci.low) and e.ci_high <= to_rr(ci.high)


def test_rate_ratio_with_tiny_fractional_counts_is_defined() -> None:
    """One event divided by a large design effect: the tail cannot reach its target inside (0, 1) in floating
    point, and the interval runs to the edge instead of failing."""
    est, low, high, p = fx.conditional_midp(0.004, 40.0, 900.0, 40.0)
    assert est > 1e5 and 0 < low < est and high == math.inf and 0 <= p < 1e-6
    est, low, high, p = fx.conditional_midp(900.0, 40.0, 0.004, 40.0)
    assert low == 0 and 0 < high < 1 and p < 1e-6


def _cox(da: np.ndarray, ea: np.ndarray, db: np.ndarray, eb: np.ndarray) -> pd.Series:
    df = pd.DataFrame({"T": np.r_[da, db], "E": np.r_[ea, eb].astype(int),
                       "x": np.r_[np.zeros(len(da)), np.ones(len(db))]})
    return CoxPHFitter().fit(df, "T", "E").summary.loc["x"]


@pytest.mark.parametrize("seed,pa,pb", [(1, 0.3, 0.45), (2, 0.5, 0.5), (3, 0.2, 0.6)])
def test_hazard_ratio_matches_lifelines_cox(seed: int, pa: float, pb: float) -> None:
    rng = np.random.default_rng(seed)
    da, db = rng.geometric(pa, 25).astype(float), rng.geometric(pb, 30).astype(float)   # many ties: Efron
    ea, eb = rng.random(25) < 0.8, rng.random(30) < 0.7
    e = fx.hazard_ratio(da, ea, db, eb)
    s = _cox(da, ea, db, eb)
    assert e.estimate == pytest.approx(s["exp(coef)"], rel=1e-5)
    assert e.ci_low == pytest.approx(s["exp(coef) lower 95%"], rel=1e-5)
    assert e.ci_high == pytest.approx(s["exp(coef) upper 95%"], rel=1e-5)
    assert e.p_value == pytest.approx(s["p"], rel=1e-4, abs=1e-9)
    assert e.sufficient


def test_benjamini_hochberg_matches_statsmodels_and_skips_missing() -> None:
    ps = [0.001, 0.04, None, 0.03, 0.2, 0.012, None, 0.9]
    got = fx.benjamini_hochberg(ps)
    present = [p for p in ps if p is not None]
    expected = iter(multipletests(present, method="fdr_bh")[1])
    assert [g is None for g in got] == [p is None for p in ps]
    for g in got:
        if g is not None:
            assert g == pytest.approx(next(expected))
    # by hand for the smallest: 0.001 * 6 / 1
    assert got[0] == pytest.approx(0.006)


def test_fcr_adjusted_level() -> None:
    assert fx.fcr_confidence(20, 4) == pytest.approx(1 - 4 * 0.05 / 20)
    assert fx.fcr_confidence(20, 0) == pytest.approx(1 - 0.05 / 20)    # no discovery: Bonferroni
    assert fx.fcr_confidence(0, 0) == pytest.approx(0.95)


def test_insufficient_rules() -> None:
    # shares: fewer than 10 items in an arm
    assert not fx.share_difference(1, 9, 5, 30).sufficient
    assert fx.share_difference(1, 10, 5, 10).sufficient
    # rates: fewer than 6 events in both arms together, or fewer than 5 sessions in an arm
    assert not fx.rate_ratio(2, 50, 3, 50).sufficient
    assert fx.rate_ratio(3, 50, 3, 50).sufficient
    assert not fx.rate_ratio(10, 4, 10, 50).sufficient
    # no exposure: no estimate at all
    assert fx.rate_ratio(0, 0, 3, 10).estimate is None
    # hazard ratios: ≥ 5 subjects per arm, an event in each, ≥ 10 events in all
    d = np.arange(1, 9, dtype=float)
    assert not fx.hazard_ratio(d[:4], np.ones(4, bool), d, np.ones(8, bool)).sufficient          # 4 subjects in A
    assert not fx.hazard_ratio(d, np.zeros(8, bool), d, np.ones(8, bool)).sufficient             # no event in A
    few = np.array([True, True, False, False, False, False, False, False])
    assert not fx.hazard_ratio(d, few, d, few).sufficient                                        # 4 events in all
    assert fx.hazard_ratio(d, np.ones(8, bool), d, np.ones(8, bool)).sufficient
    # the reason is said
    assert "10" in fx.share_difference(1, 9, 5, 30).reason


def _crossed_cells(seed: int, items: int = 40, sessions: int = 60, item_sd: float = 1.2, session_sd: float = 0.6):
    """Item × session cells (an item open over a run of sessions) with item and session random effects."""
    rng = np.random.default_rng(seed)
    start = rng.integers(0, sessions - 5, items)
    length = rng.integers(3, 25, items)
    item = np.concatenate([np.full(min(l, sessions - s), i) for i, (s, l) in enumerate(zip(start, length))])
    session = np.concatenate([np.arange(s, min(s + l, sessions)) for s, l in zip(start, length)])
    logit = -1.0 + rng.normal(0, item_sd, items)[item] + rng.normal(0, session_sd, sessions)[session]
    k = (rng.random(item.size) < 1 / (1 + np.exp(-logit))).astype(int)
    return item, session, k, np.ones_like(k)


def _cr2_meat(groups: np.ndarray, x: np.ndarray, w: np.ndarray, resid: np.ndarray) -> float:
    """Bell–McCaffrey CR2 meat X'W^½ A_g e e' A_g W^½ X for a one-column design, from the matrices themselves:
    A_g = (I − H_gg)^(−½) with the symmetric hat block H_gg = W_g^½ X_g (X'WX)⁻¹ X_g' W_g^½ (as clubSandwich
    writes it) — no use of the closed form the code relies on."""
    bread = 1.0 / float(x @ (w * x))
    meat = 0.0
    for g in np.unique(groups):
        at = groups == g
        root_w = np.sqrt(w[at])
        hat = np.outer(root_w * x[at], root_w * x[at]) * bread
        values, vectors = np.linalg.eigh(np.eye(at.sum()) - hat)
        adjust = vectors @ np.diag(values ** -0.5) @ vectors.T
        score = float((root_w * x[at]) @ adjust @ (resid[at] * root_w))
        meat += score ** 2
    return meat


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_design_effect_is_the_two_way_cr2_variance_over_independent_cells(seed: int) -> None:
    import statsmodels.api as sm
    from statsmodels.stats.sandwich_covariance import cov_cluster_2groups

    item, session, k, n = _crossed_cells(seed)
    y, x, w = k.astype(float), np.ones(k.size), np.ones(k.size)
    p = y.mean()                                                  # the OLS intercept is the pooled share
    cell = item * (session.max() + 1) + session
    meat = _cr2_meat(item, x, w, y - p) + _cr2_meat(session, x, w, y - p) - _cr2_meat(cell, x, w, y - p)
    independent = k.size / (k.size - 1) * k.size * p * (1 - p)   # CR2 = CRV1 with every cell its own cluster
    expected = max(1.0, meat / independent)
    assert expected > 1.5                                         # the data really are clustered
    assert fx.design_effect(item, session, k, n) == pytest.approx(expected, rel=1e-9)
    # with items of very unequal size CR2 exceeds CRV1 (statsmodels): the correction the B2 intervals needed
    fit = sm.OLS(y, np.ones((k.size, 1))).fit()
    crv1 = float(cov_cluster_2groups(fit, item, session)[0][0, 0]) / (p * (1 - p) / (k.size - 1))
    assert expected > crv1


def test_design_effect_of_items_repeating_one_value_is_the_cluster_size() -> None:
    # G items, each seen in m sessions of its own with the same outcome: G/(G−1)·m·N·p(1−p) over N/(N−1)·N·p(1−p)
    g, m = 30, 6
    item = np.repeat(np.arange(g), m)
    session = np.arange(g * m)
    k = np.repeat((np.arange(g) % 3 == 0).astype(int), m)
    n = g * m
    assert fx.design_effect(item, session, k, np.ones_like(k)) == pytest.approx(m * (g / (g - 1)) / (n / (n - 1)))
    # independent cells: no inflation, and the clustered difference is the plain Miettinen–Nurminen one
    one = {"item": np.arange(40), "seq": np.arange(40), "k": (np.arange(40) % 4 == 0).astype(int), "n": np.ones(40, int)}
    two = {"item": np.arange(50), "seq": np.arange(50), "k": (np.arange(50) % 2 == 0).astype(int), "n": np.ones(50, int)}
    plain = fx.share_difference(10, 40, 25, 50)
    clustered = fx.clustered_share_difference(one, two)
    assert (clustered.ci_low, clustered.ci_high, clustered.p_value) == pytest.approx(
        (plain.ci_low, plain.ci_high, plain.p_value))


def test_clustered_share_difference_is_the_score_interval_on_effective_counts() -> None:
    cells = [dict(zip(("item", "seq", "k", "n"), _crossed_cells(seed))) for seed in (4, 5)]
    deff = [fx.design_effect(c["item"], c["seq"], c["k"], c["n"]) for c in cells]
    (ka, na), (kb, nb) = ((c["k"].sum() / d, c["n"].sum() / d) for c, d in zip(cells, deff))
    e = fx.clustered_share_difference(cells[0], cells[1])
    low, high = _oracle_mn_interval(ka, na, kb, nb)     # the first-principles oracle takes fractional counts too
    assert (e.ci_low, e.ci_high) == (pytest.approx(low, abs=1e-6), pytest.approx(high, abs=1e-6))
    p = sm_proportion.test_proportions_2indep(kb, nb, ka, na, method="score", compare="diff").pvalue
    assert e.p_value == pytest.approx(p, abs=1e-9)
    assert e.estimate == pytest.approx(cells[1]["k"].mean() - cells[0]["k"].mean())
    plain = fx.share_difference(int(cells[0]["k"].sum()), cells[0]["k"].size, int(cells[1]["k"].sum()), cells[1]["k"].size)
    assert e.ci_low < plain.ci_low and e.ci_high > plain.ci_high and e.p_value > plain.p_value
    assert "Rao-Scott" in e.method


def _overdispersed_counts(seed: int, patterns: int = 40, mean: float = 0.1, shape: float = 0.7):
    """Per-pattern occurrence counts over its sessions at risk, each pattern with its own gamma-drawn rate."""
    rng = np.random.default_rng(seed)
    exposure = rng.integers(5, 60, patterns).astype(float)
    k = rng.poisson(rng.gamma(shape, mean / shape, patterns) * exposure)
    return {"item": np.arange(patterns), "seq": np.arange(patterns), "k": k, "n": exposure}


@pytest.mark.parametrize("seed", [1, 2])
def test_rate_design_effect_is_the_cr2_variance_of_a_poisson_glm(seed: int) -> None:
    import statsmodels.api as sm

    c = _overdispersed_counts(seed)
    glm = sm.GLM(c["k"], np.ones((c["k"].size, 1)), family=sm.families.Poisson(), exposure=c["n"]).fit()
    mu = glm.fittedvalues                                       # working weights of a log-link Poisson GLM
    meat = _cr2_meat(c["item"], np.ones(mu.size), mu, (c["k"] - mu) / mu)   # working residuals
    # one cell per pattern: over the Poisson model variance Σk, which the same CR2 sum with every cell its own
    # cluster estimates without bias
    expected = max(1.0, meat / c["k"].sum())
    assert expected > 1.5
    assert fx.design_effect(c["item"], c["seq"], c["k"], c["n"], rate=True) == pytest.approx(expected, rel=1e-6)
    assert glm.cov_params()[0, 0] == pytest.approx(1 / c["k"].sum())       # the model variance it is over


def test_clustered_rate_ratio_inverts_its_test_and_is_exact_without_overdispersion() -> None:
    a, b = _overdispersed_counts(3), _overdispersed_counts(4, mean=0.2)
    e = fx.clustered_rate_ratio(a, b)
    assert "quasi-Poisson" in e.method and e.sufficient
    assert e.estimate == pytest.approx((b["k"].sum() / b["n"].sum()) / (a["k"].sum() / a["n"].sum()))
    plain = fx.rate_ratio(int(a["k"].sum()), a["n"].sum(), int(b["k"].sum()), b["n"].sum())
    assert e.ci_low < plain.ci_low and e.ci_high > plain.ci_high and e.p_value > plain.p_value
    # the interval at level 1 − p just reaches "no effect": test and interval agree
    at_p = fx.clustered_rate_ratio(a, b, confidence=1 - e.p_value)
    assert min(abs(at_p.ci_low - 1), abs(at_p.ci_high - 1)) < 1e-6
    # mid-p on the effective (fractional) counts: at the lower bound ½(P(X ≥ k) + P(X ≥ k + 1)) = 2.5%, with the
    # binomial tails written as beta distribution functions (scipy.stats.beta, continuous in k)
    deff = [fx.design_effect(c["item"], c["seq"], c["k"], c["n"], rate=True) for c in (a, b)]
    ka, ea, kb, eb = a["k"].sum() / deff[0], a["n"].sum() / deff[0], b["k"].sum() / deff[1], b["n"].sum() / deff[1]
    share = e.ci_low * eb / (ea + e.ci_low * eb)
    tail = 0.5 * (stats.beta.cdf(share, kb, ka + 1) + stats.beta.cdf(share, kb + 1, ka))
    assert tail == pytest.approx(0.025, abs=1e-9)
    # Poisson counts (one event per cell at most, spread evenly): no inflation, the plain conditional method
    flat = {"item": np.arange(60), "seq": np.arange(60), "k": (np.arange(60) % 3 == 0).astype(int), "n": np.ones(60)}
    flat2 = {**flat, "k": (np.arange(60) % 2 == 0).astype(int)}
    assert fx.design_effect(flat["item"], flat["seq"], flat["k"], flat["n"], rate=True) == 1.0
    assert fx.clustered_rate_ratio(flat, flat2) == fx.rate_ratio(20, 60.0, 30, 60.0)
