"""Statistics for small, censored, longitudinal baton data (metrics.md §3), on top of SciPy.

Every estimator returns its counts with its interval and says whether the minimum sample size was
met; below it the caller shows "insufficient data" rather than a bare point estimate.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from scipy import stats

CONFIDENCE = 0.95
# Pre-registered minimum sample sizes (metrics.md §3.2): below these an estimate is "insufficient data".
MIN_PROPORTION_N = 10          # denominators of shares (Wilson)
MIN_RATE_EVENTS = 1            # a Poisson rate needs exposure; zero events still gives an upper bound
MIN_RATE_EXPOSURE = 5          # sessions at risk
MIN_RATE_RATIO_EVENTS = 6      # pooled pre-period events before a rate ratio can exclude 1 (metrics.md §3.2)
MIN_SURVIVAL_N = 5             # subjects for a Kaplan-Meier curve
MIN_TREND_POINTS = 4           # windows for a Theil-Sen slope


@dataclass(frozen=True, slots=True)
class Estimate:
    """A number with its evidence: what was counted over what, the interval and the method."""

    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    method: str
    numerator: float | None = None
    denominator: float | None = None
    min_n_met: bool = True

    @property
    def label(self) -> str:
        if not self.min_n_met or self.estimate is None:
            return "insufficient data"
        return f"{self.estimate:.3g} [{self.ci_low:.3g}, {self.ci_high:.3g}]"


def _scalar(low: np.ndarray, high: np.ndarray) -> tuple[float, float]:
    return float(low[0]), float(high[0])


def proportion(k: int, n: int, *, method: str = "wilson", confidence: float = CONFIDENCE) -> Estimate:
    """Share k/n with a Wilson (default) or Clopper-Pearson ('exact') interval."""
    if n <= 0:
        return Estimate(None, None, None, method, k, n, False)
    interval = clopper_pearson_ci if method == "exact" else wilson_ci
    low, high = _scalar(*interval(np.array([k]), np.array([n]), confidence=confidence))
    return Estimate(k / n, low, high, method, k, n, n >= MIN_PROPORTION_N)


def poisson_rate(k: int, exposure: float, *, confidence: float = CONFIDENCE) -> Estimate:
    """Events per unit exposure with the exact Garwood interval (chi-square quantiles)."""
    if exposure <= 0:
        return Estimate(None, None, None, "garwood", k, exposure, False)
    low, high = _scalar(*garwood_ci(np.array([k]), np.array([exposure]), confidence=confidence))
    return Estimate(k / exposure, low, high, "garwood", k, exposure, exposure >= MIN_RATE_EXPOSURE)


def rate_ratio(k_after: int, e_after: float, k_before: int, e_before: float, *, confidence: float = CONFIDENCE) -> Estimate:
    """Rate after ÷ rate before, exact conditional interval.

    Given k_after + k_before events, k_after ~ Binomial(total, p) with p = RR·e_after / (RR·e_after + e_before);
    the Clopper-Pearson interval of p maps to RR = p/(1-p) · e_before/e_after.
    """
    total = k_after + k_before
    if total == 0 or e_after <= 0 or e_before <= 0:
        return Estimate(None, None, None, "exact-conditional", k_after, k_before, False)
    low_p, high_p = _scalar(*clopper_pearson_ci(np.array([k_after]), np.array([total]), confidence=confidence))

    def to_rr(p: float) -> float:
        return math.inf if p >= 1 else p / (1 - p) * e_before / e_after

    estimate = (k_after / e_after) / (k_before / e_before) if k_before else math.inf
    return Estimate(estimate, to_rr(low_p), to_rr(high_p), "exact-conditional", k_after, k_before,
                    k_before >= MIN_RATE_RATIO_EVENTS)


def rate_ratio_p_value(k_after: int, e_after: float, k_before: int, e_before: float) -> float:
    """Two-sided exact conditional test of equal rates."""
    total = k_after + k_before
    if total == 0:
        return 1.0
    return float(stats.binomtest(int(k_after), int(total), p=e_after / (e_after + e_before)).pvalue)


def theil_sen(y: np.ndarray, x: np.ndarray | None = None, *, confidence: float = CONFIDENCE) -> Estimate:
    """Robust trend (slope per unit x) with its confidence interval; needs MIN_TREND_POINTS finite points."""
    y = np.asarray(y, dtype=float)
    x = np.arange(len(y), dtype=float) if x is None else np.asarray(x, dtype=float)
    keep = np.isfinite(y) & np.isfinite(x)
    y, x = y[keep], x[keep]
    if len(y) < 2 or np.unique(x).size < 2:
        return Estimate(None, None, None, "theil-sen", None, len(y), False)
    result = stats.theilslopes(y, x, alpha=confidence)
    return Estimate(float(result.slope), float(result.low_slope), float(result.high_slope), "theil-sen", None, len(y),
                    len(y) >= MIN_TREND_POINTS)


def _at_risk(durations: np.ndarray, times: np.ndarray) -> np.ndarray:
    """#{durations >= t} for each t, by binary search on the sorted durations."""
    ordered = np.sort(durations)
    return (len(ordered) - np.searchsorted(ordered, times, side="left")).astype(float)


def _count_at(values: np.ndarray, times: np.ndarray) -> np.ndarray:
    """#{values == t} for each t (times sorted, unique)."""
    ordered = np.sort(values)
    return (np.searchsorted(ordered, times, side="right") - np.searchsorted(ordered, times, side="left")).astype(float)


@dataclass(frozen=True, slots=True)
class Curve:
    """A step function with its band: Kaplan-Meier survival or cumulative incidence."""

    time: np.ndarray
    value: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    at_risk: np.ndarray
    median: float | None
    n: int
    n_events: int
    n_censored: int

    @property
    def min_n_met(self) -> bool:
        return self.n >= MIN_SURVIVAL_N


def kaplan_meier(durations: np.ndarray, observed: np.ndarray, *, confidence: float = CONFIDENCE) -> Curve:
    """Kaplan-Meier survival with a log-log band (scipy.stats.ecdf on right-censored data)."""
    durations = np.asarray(durations, dtype=float)
    observed = np.asarray(observed, dtype=bool)
    n, events = len(durations), int(observed.sum())
    if n == 0:
        empty = np.array([])
        return Curve(empty, empty, empty, empty, empty, None, 0, 0, 0)
    if events == 0:
        # No event: survival stays 1 over the follow-up; nothing to estimate beyond that.
        t = np.array([0.0, durations.max()])
        return Curve(t, np.ones(2), np.ones(2), np.ones(2), np.array([n, n]), None, n, 0, n)
    data = stats.CensoredData.right_censored(durations, ~observed)
    sf = stats.ecdf(data).sf
    with warnings.catch_warnings():
        # The log-log band is undefined where S is 0 or 1; those points get the trivial bounds below.
        warnings.simplefilter("ignore", RuntimeWarning)
        band = sf.confidence_interval(confidence_level=confidence, method="log-log")
    times = sf.quantiles
    value = sf.probabilities
    at_risk = _at_risk(durations, times).astype(int)
    below = np.nonzero(value <= 0.5)[0]
    median = float(times[below[0]]) if below.size else None
    lower = np.nan_to_num(band.low.evaluate(times), nan=0.0)
    upper = np.nan_to_num(band.high.evaluate(times), nan=1.0)
    return Curve(times, value, lower, upper, at_risk, median, n, events, n - events)


def aalen_johansen(durations: np.ndarray, causes: np.ndarray, cause: int) -> Curve:
    """Cumulative incidence of `cause` with competing causes (cause 0 = censored), Aalen-Johansen.

    CIF(t) = Σ_{t_j ≤ t} S(t_j−) · d_cause(t_j) / n(t_j), with S the all-cause Kaplan-Meier. The band
    uses the delta-method variance of Marubini & Valsecchi (as lifelines does), clipped to [0, 1].
    """
    durations = np.asarray(durations, dtype=float)
    causes = np.asarray(causes, dtype=int)
    times = np.unique(durations[causes != 0])
    n = len(durations)
    if n == 0 or times.size == 0:
        empty = np.array([])
        return Curve(empty, empty, empty, empty, empty, None, n, 0, int((causes == 0).sum()))
    at_risk = _at_risk(durations, times)
    d_all = _count_at(durations[causes != 0], times)
    d_k = _count_at(durations[causes == cause], times)
    surv = np.cumprod(1 - d_all / at_risk)
    surv_before = np.concatenate([[1.0], surv[:-1]])
    cif = np.cumsum(surv_before * d_k / at_risk)
    # Delta-method variance (Marubini & Valsecchi 1995, eq. 10.8). The double sum over i <= j is expanded
    # into cumulative sums so it costs O(T), not O(T^2) Python steps:
    #   var_j = Σ_i (F_j - F_i)^2 a_i + b_i - 2 (F_j - F_i) c_i
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(at_risk > d_all, d_all / (at_risk * (at_risk - d_all)), 0.0)
    b = surv_before ** 2 * d_k * (at_risk - d_k) / at_risk ** 3
    c = surv_before * d_k / at_risk ** 2
    ca, cfa, cffa = np.cumsum(a), np.cumsum(cif * a), np.cumsum(cif * cif * a)
    cb, cc, cfc = np.cumsum(b), np.cumsum(c), np.cumsum(cif * c)
    var = np.maximum(cif * cif * ca - 2 * cif * cfa + cffa + cb - 2 * (cif * cc - cfc), 0.0)
    half = stats.norm.ppf(0.975) * np.sqrt(var)
    above = np.nonzero(cif >= 0.5)[0]
    return Curve(times, cif, np.clip(cif - half, 0, 1), np.clip(cif + half, 0, 1), at_risk,
                 float(times[above[0]]) if above.size else None, n, int(d_k.sum()), int((causes == 0).sum()))


def mean_cumulative_function(subject_end: np.ndarray, event_subject: np.ndarray, event_time: np.ndarray) -> Curve:
    """Nelson-Aalen style mean cumulative number of recurrent events per subject.

    subject_end[i] is the end of follow-up of subject i; events are (subject index, time) pairs.
    MCF(t) = Σ_{t_j ≤ t} d(t_j) / Y(t_j), Y = subjects still followed at t_j.
    """
    subject_end = np.asarray(subject_end, dtype=float)
    event_time = np.asarray(event_time, dtype=float)
    times = np.unique(event_time)
    if times.size == 0:
        empty = np.array([])
        return Curve(empty, empty, empty, empty, empty, None, len(subject_end), 0, len(subject_end))
    at_risk = _at_risk(subject_end, times)
    d = _count_at(event_time, times)
    with np.errstate(divide="ignore", invalid="ignore"):
        increments = np.where(at_risk > 0, d / at_risk, 0.0)
        variance = np.cumsum(np.where(at_risk > 0, d / at_risk ** 2, 0.0))
    mcf = np.cumsum(increments)
    half = stats.norm.ppf(0.975) * np.sqrt(variance)
    return Curve(times, mcf, np.maximum(mcf - half, 0), mcf + half, at_risk, None, len(subject_end), int(d.sum()),
                 len(subject_end))


# -- vectorised forms, for one interval per (namespace, window) row without a Python loop ------------
def wilson_ci(k: np.ndarray, n: np.ndarray, *, confidence: float = CONFIDENCE) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval, elementwise; NaN where n == 0. Same numbers as `proportion(k, n)`."""
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    z = stats.norm.ppf(1 - (1 - confidence) / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / n
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z / (1 + z * z / n) * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
        low, high = np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)
    # At k = 0 / k = n the bound is exactly 0 / 1 (scipy returns these; rounding would not).
    low = np.where(k == 0, 0.0, low)
    high = np.where(k == n, 1.0, high)
    bad = n <= 0
    return np.where(bad, np.nan, low), np.where(bad, np.nan, high)


def clopper_pearson_ci(k: np.ndarray, n: np.ndarray, *, confidence: float = CONFIDENCE) -> tuple[np.ndarray, np.ndarray]:
    """Clopper-Pearson (exact binomial) interval, elementwise; NaN where n <= 0."""
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    a = (1 - confidence) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        low = np.where(k > 0, stats.beta.ppf(a, k, n - k + 1), 0.0)
        high = np.where(k < n, stats.beta.ppf(1 - a, k + 1, n - k), 1.0)
    bad = n <= 0
    return np.where(bad, np.nan, low), np.where(bad, np.nan, high)


def garwood_ci(k: np.ndarray, exposure: np.ndarray, *, confidence: float = CONFIDENCE) -> tuple[np.ndarray, np.ndarray]:
    """Exact Poisson (Garwood) interval of k / exposure, elementwise; NaN where exposure <= 0."""
    k = np.asarray(k, dtype=float)
    exposure = np.asarray(exposure, dtype=float)
    alpha = 1 - confidence
    with np.errstate(divide="ignore", invalid="ignore"):
        low = np.where(k > 0, stats.chi2.ppf(alpha / 2, 2 * np.maximum(k, 1)) / 2, 0.0) / exposure
        high = stats.chi2.ppf(1 - alpha / 2, 2 * k + 2) / 2 / exposure
    bad = exposure <= 0
    return np.where(bad, np.nan, low), np.where(bad, np.nan, high)


def pooled_rate_ratio(k_after: np.ndarray, e_after: np.ndarray, k_before: np.ndarray, e_before: np.ndarray,
                      *, confidence: float = CONFIDENCE) -> Estimate:
    """Common rate ratio over strata (one stratum per pattern), stratified conditional likelihood.

    Conditioning on each stratum's total removes its own baseline rate (the pattern fixed effect of
    metrics.md §3.1): k_after_i ~ Binomial(n_i, RR·e_a_i / (RR·e_a_i + e_b_i)). The estimate maximises
    the summed log-likelihood; the interval is the likelihood-ratio (profile) interval, which stays
    defined when no stratum has an event after (estimate 0, finite upper bound). With one stratum the
    bounds are close to, but not the same as, the exact Clopper-Pearson mapping of `rate_ratio`.
    """
    ka, ea, kb, eb = (np.asarray(a, dtype=float) for a in (k_after, e_after, k_before, e_before))
    keep = (ka + kb > 0) & (ea > 0) & (eb > 0)
    ka, ea, kb, eb = ka[keep], ea[keep], kb[keep], eb[keep]
    total_a, total_b = float(ka.sum()), float(kb.sum())
    method = "conditional-likelihood (pattern strata), LR interval"
    if total_a + total_b == 0:
        return Estimate(None, None, None, method, total_a, total_b, False)
    n = ka + kb
    log_ratio = np.log(ea / eb)

    def loglik(log_rr: float) -> float:
        eta = log_rr + log_ratio
        # log p = eta - log(1+e^eta), log(1-p) = -log(1+e^eta)
        return float(np.sum(ka * eta - n * np.logaddexp(0.0, eta)))

    def score(log_rr: float) -> float:
        p = 1 / (1 + np.exp(-(log_rr + log_ratio)))
        return float(total_a - np.sum(n * p))

    lo, hi = -30.0, 30.0
    if total_a == 0:
        mle, ll_max = -math.inf, 0.0
    elif total_b == 0:
        mle, ll_max = math.inf, 0.0
    else:
        from scipy.optimize import brentq

        mle = brentq(score, lo, hi)
        ll_max = loglik(mle)
    cut = stats.chi2.ppf(confidence, 1) / 2

    def bound(a: float, b: float) -> float:
        from scipy.optimize import brentq

        f = lambda x: loglik(x) - (ll_max - cut)  # noqa: E731
        if f(a) * f(b) > 0:
            return a if abs(f(a)) < abs(f(b)) else b
        return brentq(f, a, b)

    low = 0.0 if total_a == 0 else math.exp(bound(lo, mle if math.isfinite(mle) else hi))
    high = math.inf if total_b == 0 else math.exp(bound(mle if math.isfinite(mle) else lo, hi))
    estimate = 0.0 if total_a == 0 else (math.inf if total_b == 0 else math.exp(mle))
    return Estimate(estimate, low, high, method, total_a, total_b, total_b >= MIN_RATE_RATIO_EVENTS)


def km_median_ci(curve: Curve) -> tuple[float | None, float | None]:
    """Median interval read off the pointwise band (first times the upper / lower band reach 0.5)."""
    if curve.time.size == 0:
        return None, None
    lo = np.nonzero(curve.lower <= 0.5)[0]
    hi = np.nonzero(curve.upper <= 0.5)[0]
    return (float(curve.time[lo[0]]) if lo.size else None, float(curve.time[hi[0]]) if hi.size else None)
