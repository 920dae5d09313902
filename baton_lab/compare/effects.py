"""Two-arm effects for small samples, one per metric kind, each with an interval at any confidence level.

- shares: difference B − A with the Miettinen–Nurminen score interval and its score test (the interval
  excludes 0 exactly when the test rejects), which keeps its coverage at a few dozen items per arm; shares
  pooled over item-sessions (an item counted in every session it is open) use effective counts shrunk by a
  two-way cluster design effect (Rao–Scott), since their cells are not independent trials;
- rates: ratio B ÷ A conditional on the events (k_B of k_A + k_B is binomial) with the mid-p interval and
  test (exact Clopper–Pearson is conservative at the few events of a few weeks); rates whose events cluster
  by item (P1's patterns) first divide counts and exposure by their quasi-Poisson design effect;
- times: hazard ratio B ÷ A from a Cox model with one binary covariate (Efron ties, as lifelines and R do),
  Wald interval and test — competing outcomes are censored, so the ratio is cause-specific;
- many metrics at once: Benjamini–Hochberg adjusted p-values and false-coverage-rate adjusted intervals
  (Benjamini & Yekutieli 2005: the R selected effects among m get level 1 − R·q/m).

Every function returns an `Effect`; below the pre-registered minimums (`MIN_*`) it says `sufficient=False`
and the caller shows "insufficient" instead of a verdict.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special, stats

from ..metrics import stats as mstats

CONFIDENCE = mstats.CONFIDENCE
# Pre-registered minimums for a two-arm effect (metrics.md §3.2: thin samples say "insufficient").
MIN_SHARE_N = mstats.MIN_PROPORTION_N          # items per arm behind each share
MIN_RATE_EXPOSURE = mstats.MIN_RATE_EXPOSURE   # sessions per arm
MIN_RATE_EVENTS = mstats.MIN_RATE_RATIO_EVENTS  # events in both arms together
MIN_SURVIVAL_N = mstats.MIN_SURVIVAL_N         # subjects per arm
MIN_HR_EVENTS = 10                             # events in both arms together (a Wald interval needs ~10)


@dataclass(frozen=True, slots=True)
class Effect:
    """B compared with A: the estimate, its interval, the two-sided p-value and how they were computed."""

    kind: str                  # share | rate | time
    measure: str               # "difference" | "rate ratio" | "hazard ratio"
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    method: str
    null: float                # the no-effect value: 0 for a difference, 1 for a ratio
    sufficient: bool
    reason: str | None = None  # why it is insufficient


def _z(confidence: float) -> float:
    return float(stats.norm.ppf(1 - (1 - confidence) / 2))


# -- shares: Miettinen-Nurminen ---------------------------------------------------------------------
def _restricted_mle(x1: float, n1: float, x2: float, n2: float, delta: float) -> tuple[float, float]:
    """MLE of (p1, p2) under p1 − p2 = delta (Miettinen & Nurminen 1985, closed form of the cubic). Scalar
    math: the interval search calls this a few dozen times per effect, thousands of times per comparison."""
    p1h, p2h = x1 / n1, x2 / n2
    theta = n2 / n1
    a = 1 + theta
    b = -(1 + theta + p1h + theta * p2h + delta * (theta + 2))
    c = delta * delta + delta * (2 * p1h + theta + 1) + p1h + theta * p2h
    d = -p1h * delta * (1 + delta)
    v = b ** 3 / (27 * a ** 3) - b * c / (6 * a * a) + d / (2 * a)
    u = math.copysign(math.sqrt(max(b * b / (9 * a * a) - c / (3 * a), 0.0)), v) if v else 0.0
    ratio = 0.0 if u == 0 else v / u ** 3
    w = (math.pi + math.acos(min(max(ratio, -1.0), 1.0))) / 3
    p1 = min(max(2 * u * math.cos(w) - b / (3 * a), 0.0), 1.0)
    p2 = min(max(p1 - delta, 0.0), 1.0)
    return p1, p2


def _mn_z(x1: float, n1: float, x2: float, n2: float, delta: float) -> float:
    """Score statistic of H0: p1 − p2 = delta, with Miettinen-Nurminen's N/(N−1) variance factor."""
    p1, p2 = _restricted_mle(x1, n1, x2, n2, delta)
    n = n1 + n2
    var = (p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2) * n / (n - 1)
    diff = x1 / n1 - x2 / n2 - delta
    if var <= 0:
        return 0.0 if abs(diff) < 1e-12 else math.copysign(math.inf, diff)
    return diff / math.sqrt(var)


def share_difference(k_a: int, n_a: int, k_b: int, n_b: int, *, confidence: float = CONFIDENCE) -> Effect:
    """p_B − p_A with the Miettinen–Nurminen score interval and score-test p-value."""
    method = "Miettinen-Nurminen score"
    if n_a <= 0 or n_b <= 0:
        return Effect("share", "difference", None, None, None, None, method, 0.0, False, "an arm has no items")
    x1, n1, x2, n2 = float(k_b), float(n_b), float(k_a), float(n_a)   # arm B is "1": the effect is B − A
    est = x1 / n1 - x2 / n2
    crit = _z(confidence)
    eps = 1e-10

    def excess(delta: float) -> float:
        return abs(_mn_z(x1, n1, x2, n2, delta)) - crit

    def side(bound: float) -> float:
        # |z| is 0 at the estimate and grows towards ±1; the bound is where it crosses the critical value
        if excess(bound) <= 0:
            return bound
        return float(optimize.brentq(excess, est, bound, xtol=1e-12)) if est != bound else bound

    low = side(-1.0 + eps) if est > -1 + eps else -1.0
    high = side(1.0 - eps) if est < 1 - eps else 1.0
    z0 = _mn_z(x1, n1, x2, n2, 0.0)
    p = 1.0 if z0 == 0 else float(2 * stats.norm.sf(abs(z0)))
    ok = n_a >= MIN_SHARE_N and n_b >= MIN_SHARE_N
    return Effect("share", "difference", est, max(low, -1.0), min(high, 1.0), p, method, 0.0, ok,
                  None if ok else f"fewer than {MIN_SHARE_N} items in an arm")


def design_effect(item: np.ndarray, session: np.ndarray, k: np.ndarray, n: np.ndarray, *, rate: bool = False) -> float:
    """Variance of a pooled share Σk/Σn (or, `rate=True`, of a rate Σk/Σexposure) relative to independent
    trials (Poisson counts), for cells crossed by item and session (non-negative integer cluster codes; pass
    the item codes as sessions for one-way clustering by item).

    Two-way cluster-robust (Cameron, Gelbach & Miller 2011) residual sum: by item + by session − by cell,
    each with the CR2 small-sample correction (Bell & McCaffrey 2002): for this intercept-only estimator a
    cluster's squared score is divided by 1 − h_g, h_g = its share of the trials (or exposure) — over the
    same sum had every cell been its own cluster (C/(C−1)·N·p(1−p) for a share of 0/1 cells, exactly; Σk for
    a rate, in expectation), so independent cells give 1. With equal clusters 1/(1 − h_g) is CRV1's G/(G−1);
    CRV1 under-corrects when a few clusters hold much of the data — long-lived items open in most sessions:
    B2 acted's interval covered 92.8% of 400 null pairs at 50 sessions per arm with it, 93.5% with CR2
    (bench/compare_validity_bench.py). Never below 1: the effect's interval is at least the independent-trials
    one (a design effect estimated below 1 from a few dozen clusters is mostly noise)."""
    k, n = np.asarray(k, float), np.asarray(n, float)
    total_k, total_n = k.sum(), n.sum()
    if total_n <= 0 or total_k <= 0 or (not rate and total_k >= total_n) or k.size < 2:
        return 1.0
    p = total_k / total_n
    resid = k - p * n
    independent = total_k if rate else total_n * p * (1 - p)

    def robust(keys: np.ndarray) -> float:
        _, inverse = np.unique(keys, return_inverse=True)
        sums = np.bincount(inverse.ravel(), weights=resid)
        if sums.size < 2:
            return 0.0
        leverage = np.minimum(np.bincount(inverse.ravel(), weights=n) / total_n, 0.999)
        return float((sums ** 2 / (1 - leverage)).sum())

    item, session = np.asarray(item, np.int64), np.asarray(session, np.int64)
    by_item, by_session = robust(item), robust(session)
    by_cell = robust(item * (int(session.max()) + 1) + session)
    var = max(by_item + by_session - by_cell, by_item, by_session)
    # the same CR2 sum with every cell its own cluster: exactly C/(C−1)·N·p(1−p) for 0/1 cells (the shares'
    # item-session cells), Σk in expectation for Poisson cells (CR2 is unbiased there)
    reference = independent if rate else k.size / (k.size - 1) * independent
    return max(1.0, var / reference)


def clustered_share_difference(cells_a: dict[str, np.ndarray], cells_b: dict[str, np.ndarray], *,
                               confidence: float = CONFIDENCE) -> Effect:
    """p_B − p_A for shares pooled over item-sessions: Miettinen–Nurminen on each arm's effective counts
    (k/deff, n/deff — Rao & Scott 1992) with the two-way (item × session) design effect of `design_effect`.

    `cells_*` hold equal-length arrays item, seq, k, n (one entry per item-session cell)."""
    deff = [design_effect(c["item"], c["seq"], c["k"], c["n"]) for c in (cells_a, cells_b)]
    (k_a, n_a), (k_b, n_b) = ((float(np.sum(c["k"])) / d, float(np.sum(c["n"])) / d)
                              for c, d in zip((cells_a, cells_b), deff))
    base = share_difference(k_a, n_a, k_b, n_b, confidence=confidence)
    method = f"Miettinen-Nurminen score, Rao-Scott item × session design effect (A {deff[0]:.2f}, B {deff[1]:.2f})"
    reason = base.reason and f"fewer than {MIN_SHARE_N} effective items (item-sessions ÷ design effect) in an arm"
    return Effect(base.kind, base.measure, base.estimate, base.ci_low, base.ci_high, base.p_value, method, base.null,
                  base.sufficient, reason)


# -- rates: conditional mid-p -------------------------------------------------------------------------
def _upper_mid(k: float, total: float, share: float) -> float:
    """Mid-p upper tail P(X > k) + ½P(X = k) of X ~ Binomial(total, share), through the regularised incomplete
    beta so that fractional counts (events ÷ design effect) are defined too."""
    at_least = special.betainc(k, total - k + 1, share) if k > 0 else 1.0
    above = special.betainc(k + 1, total - k, share) if k < total else 0.0
    return 0.5 * (at_least + above)


def conditional_midp(k_a: float, e_a: float, k_b: float, e_b: float, *, confidence: float = CONFIDENCE
                     ) -> tuple[float, float, float, float]:
    """(k_B/e_B) ÷ (k_A/e_A): estimate, mid-p interval and two-sided mid-p value, conditional on the k_A + k_B
    events (k_B ~ Binomial(total, RR·e_B / (e_A + RR·e_B))). The exact conditional (Clopper–Pearson) interval
    is conservative at the few events a few weeks of sessions give — L4's caught regressions covered 97.8% at
    50 sessions per arm, its interval 15% wider than the effect's real spread; the mid-p version (Lancaster
    1961; Agresti & Gottard 2007) keeps the exact conditional reference distribution without that excess."""
    total = k_a + k_b
    alpha = 1 - confidence

    def share_to_rr(share: float) -> float:
        return math.inf if share >= 1 else share / (1 - share) * e_a / e_b

    def bound(target: float) -> float:
        # the tail rises from 0 to 1 over the share; with a tiny fractional count (one event ÷ a large design
        # effect) it can stay short of the target inside (0, 1) in floating point: the bound is then the edge
        edge_low, edge_high = 1e-15, 1 - 1e-15
        if _upper_mid(k_b, total, edge_low) >= target:
            return 0.0
        if _upper_mid(k_b, total, edge_high) <= target:
            return 1.0
        return optimize.brentq(lambda share: _upper_mid(k_b, total, share) - target, edge_low, edge_high, xtol=1e-14)

    low = 0.0 if k_b <= 0 else share_to_rr(bound(alpha / 2))
    high = math.inf if k_a <= 0 else share_to_rr(bound(1 - alpha / 2))
    null_tail = _upper_mid(k_b, total, e_b / (e_a + e_b))
    p = float(min(1.0, 2 * min(null_tail, 1 - null_tail)))
    estimate = (k_b / e_b) / (k_a / e_a) if k_a > 0 else math.inf
    return estimate, low, high, p


def rate_ratio(k_a: int, e_a: float, k_b: int, e_b: float, *, confidence: float = CONFIDENCE) -> Effect:
    """(k_B/e_B) ÷ (k_A/e_A), conditional mid-p interval and test (`conditional_midp`)."""
    method = "conditional mid-p (binomial)"
    if e_a <= 0 or e_b <= 0:
        return Effect("rate", "rate ratio", None, None, None, None, method, 1.0, False, "an arm has no exposure")
    ok = e_a >= MIN_RATE_EXPOSURE and e_b >= MIN_RATE_EXPOSURE and k_a + k_b >= MIN_RATE_EVENTS
    reason = None if ok else (f"fewer than {MIN_RATE_EVENTS} events in both arms together"
                              if k_a + k_b < MIN_RATE_EVENTS else f"fewer than {MIN_RATE_EXPOSURE} sessions in an arm")
    if k_a + k_b == 0:
        return Effect("rate", "rate ratio", None, None, None, 1.0, method, 1.0, False, reason or "no events")
    est, low, high, p = conditional_midp(k_a, e_a, k_b, e_b, confidence=confidence)
    return Effect("rate", "rate ratio", est, low, high, p, method, 1.0, ok, reason)


def clustered_rate_ratio(cells_a: dict[str, np.ndarray], cells_b: dict[str, np.ndarray], *,
                         confidence: float = CONFIDENCE) -> Effect:
    """(k_B/e_B) ÷ (k_A/e_A) for rates whose events cluster by item (P1: a pattern's own recurrence rate varies
    from pattern to pattern, so the counts are over-dispersed against Poisson). Each arm's counts and exposure
    are divided by its design effect (`design_effect(rate=True)`, quasi-Poisson in the Rao–Scott way), then
    the conditional mid-p interval and its central two-sided test (`conditional_midp`, defined for fractional
    counts). With no over-dispersion in either arm this is `rate_ratio` exactly."""
    deff = [design_effect(c["item"], c["seq"], c["k"], c["n"], rate=True) for c in (cells_a, cells_b)]
    raw = [(float(np.sum(c["k"])), float(np.sum(c["n"]))) for c in (cells_a, cells_b)]
    if deff == [1.0, 1.0]:
        return rate_ratio(int(raw[0][0]), raw[0][1], int(raw[1][0]), raw[1][1], confidence=confidence)
    (k_a, e_a), (k_b, e_b) = ((k / d, e / d) for (k, e), d in zip(raw, deff))
    method = f"conditional mid-p on counts ÷ design effect (quasi-Poisson by item: A {deff[0]:.2f}, B {deff[1]:.2f})"
    if e_a <= 0 or e_b <= 0 or k_a + k_b <= 0:
        return Effect("rate", "rate ratio", None, None, None, None, method, 1.0, False, "no events or no exposure")
    est, low, high, p = conditional_midp(k_a, e_a, k_b, e_b, confidence=confidence)
    total = k_a + k_b
    ok = raw[0][1] >= MIN_RATE_EXPOSURE and raw[1][1] >= MIN_RATE_EXPOSURE and total >= MIN_RATE_EVENTS
    reason = None if ok else f"fewer than {MIN_RATE_EVENTS} effective events (events ÷ design effect) or too little exposure"
    return Effect("rate", "rate ratio", est, low, high, p, method, 1.0, ok, reason)


# -- times: Cox proportional hazards, one binary covariate -----------------------------------------
def _efron_terms(duration: np.ndarray, event: np.ndarray, arm: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Σ events in arm B, and for every event the Efron risk-set terms A_l + B_l·e^β (A: arm A, B: arm B)."""
    times = np.unique(duration[event])
    order = np.sort(duration)
    at_risk_all = len(order) - np.searchsorted(order, times, side="left")
    in_b = np.sort(duration[arm])
    at_risk_b = len(in_b) - np.searchsorted(in_b, times, side="left")
    ev_all = np.sort(duration[event])
    d = np.searchsorted(ev_all, times, side="right") - np.searchsorted(ev_all, times, side="left")
    ev_b = np.sort(duration[event & arm])
    d_b = np.searchsorted(ev_b, times, side="right") - np.searchsorted(ev_b, times, side="left")
    rep = np.repeat(np.arange(times.size), d)
    l = np.arange(rep.size) - np.repeat(np.cumsum(d) - d, d)      # 0..d-1 within each tied time
    frac = l / d[rep]
    coef_a = (at_risk_all - at_risk_b)[rep] - frac * (d - d_b)[rep]
    coef_b = at_risk_b[rep] - frac * d_b[rep]
    return float(d_b.sum()), coef_a.astype(float), coef_b.astype(float)


def hazard_ratio(duration_a: np.ndarray, event_a: np.ndarray, duration_b: np.ndarray, event_b: np.ndarray, *,
                 confidence: float = CONFIDENCE) -> Effect:
    """Hazard in B ÷ hazard in A: Cox partial likelihood (Efron ties), Newton-Raphson, Wald interval and test."""
    method = "Cox PH (Efron ties), Wald"
    duration = np.concatenate([np.asarray(duration_a, float), np.asarray(duration_b, float)])
    event = np.concatenate([np.asarray(event_a, bool), np.asarray(event_b, bool)])
    arm = np.concatenate([np.zeros(len(duration_a), bool), np.ones(len(duration_b), bool)])
    ev_a, ev_b = int(event[~arm].sum()), int(event[arm].sum())
    small = (len(duration_a) < MIN_SURVIVAL_N or len(duration_b) < MIN_SURVIVAL_N or ev_a + ev_b < MIN_HR_EVENTS
             or ev_a == 0 or ev_b == 0)
    reason = (f"needs ≥ {MIN_SURVIVAL_N} subjects per arm, an event in each and ≥ {MIN_HR_EVENTS} events in all"
              if small else None)
    if ev_a == 0 or ev_b == 0:
        return Effect("time", "hazard ratio", None, None, None, None, method, 1.0, False, reason)
    observed_b, coef_a, coef_b = _efron_terms(duration, event, arm)
    beta = 0.0
    for _ in range(100):
        q = coef_b * math.exp(beta) / (coef_a + coef_b * math.exp(beta))
        score, info = observed_b - q.sum(), float((q * (1 - q)).sum())
        if info <= 0:
            break
        step = score / info
        beta += max(min(step, 5.0), -5.0)
        if abs(step) < 1e-10:
            break
    q = coef_b * math.exp(beta) / (coef_a + coef_b * math.exp(beta))
    info = float((q * (1 - q)).sum())
    if info <= 0 or not math.isfinite(beta) or abs(beta) > 15:
        # a monotone likelihood (one arm's events all precede the other's risk set) has no finite estimate
        return Effect("time", "hazard ratio", None, None, None, None, method, 1.0, False,
                      reason or "no finite hazard ratio (monotone likelihood)")
    se = 1 / math.sqrt(info)
    half = _z(confidence) * se
    p = float(2 * stats.norm.sf(abs(beta) / se))
    return Effect("time", "hazard ratio", math.exp(beta), math.exp(beta - half), math.exp(beta + half), p, method, 1.0,
                  not small, reason)


# -- many effects: false discovery rate --------------------------------------------------------------
def benjamini_hochberg(p_values: list[float | None]) -> list[float | None]:
    """BH-adjusted p-values (scipy.stats.false_discovery_control); None stays None and is not counted."""
    idx = [i for i, p in enumerate(p_values) if p is not None]
    out: list[float | None] = [None] * len(p_values)
    if idx:
        adjusted = stats.false_discovery_control(np.array([p_values[i] for i in idx], dtype=float), method="bh")
        for i, q in zip(idx, adjusted):
            out[i] = float(q)
    return out


def fcr_confidence(n_tested: int, n_selected: int, *, confidence: float = CONFIDENCE) -> float:
    """Level of the false-coverage-rate adjusted intervals (Benjamini & Yekutieli 2005): 1 − R·q/m, with
    q = 1 − confidence; with no discovery, 1 − q/m (Bonferroni), so no interval claims more than the tests."""
    if n_tested == 0:
        return confidence
    q = 1 - confidence
    return 1 - max(n_selected, 1) * q / n_tested
