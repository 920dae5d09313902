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


def proportion(k: int, n: int, *, method: str = "wilson", confidence: float = CONFIDENCE) -> Estimate:
    """Share k/n with a Wilson (default) or Clopper-Pearson ('exact') interval."""
    if n <= 0:
        return Estimate(None, None, None, method, k, n, False)
    ci = stats.binomtest(int(k), int(n)).proportion_ci(confidence_level=confidence, method=method)
    return Estimate(k / n, float(ci.low), float(ci.high), method, k, n, n >= MIN_PROPORTION_N)


def poisson_rate(k: int, exposure: float, *, confidence: float = CONFIDENCE) -> Estimate:
    """Events per unit exposure with the exact Garwood interval (chi-square quantiles)."""
    if exposure <= 0:
        return Estimate(None, None, None, "garwood", k, exposure, False)
    alpha = 1 - confidence
    low = stats.chi2.ppf(alpha / 2, 2 * k) / 2 if k > 0 else 0.0
    high = stats.chi2.ppf(1 - alpha / 2, 2 * k + 2) / 2
    return Estimate(k / exposure, low / exposure, high / exposure, "garwood", k, exposure,
                    exposure >= MIN_RATE_EXPOSURE and k >= 0)


def rate_ratio(k_after: int, e_after: float, k_before: int, e_before: float, *, confidence: float = CONFIDENCE) -> Estimate:
    """Rate after ÷ rate before, exact conditional interval.

    Given k_after + k_before events, k_after ~ Binomial(total, p) with p = RR·e_after / (RR·e_after + e_before);
    the Clopper-Pearson interval of p maps to RR = p/(1-p) · e_before/e_after.
    """
    total = k_after + k_before
    if total == 0 or e_after <= 0 or e_before <= 0:
        return Estimate(None, None, None, "exact-conditional", k_after, k_before, False)
    ci = stats.binomtest(int(k_after), int(total)).proportion_ci(confidence_level=confidence, method="exact")

    def to_rr(p: float) -> float:
        return math.inf if p >= 1 else p / (1 - p) * e_before / e_after

    estimate = (k_after / e_after) / (k_before / e_before) if k_before else math.inf
    return Estimate(estimate, to_rr(float(ci.low)), to_rr(float(ci.high)), "exact-conditional", k_after, k_before,
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
    at_risk = np.array([(durations >= t).sum() for t in times])
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
    at_risk = np.array([(durations >= t).sum() for t in times], dtype=float)
    d_all = np.array([((durations == t) & (causes != 0)).sum() for t in times], dtype=float)
    d_k = np.array([((durations == t) & (causes == cause)).sum() for t in times], dtype=float)
    surv = np.cumprod(1 - d_all / at_risk)
    surv_before = np.concatenate([[1.0], surv[:-1]])
    cif = np.cumsum(surv_before * d_k / at_risk)
    # Delta-method variance (Marubini & Valsecchi 1995, eq. 10.8), term by term.
    var = np.zeros_like(cif)
    for j in range(len(times)):
        ci_j = cif[j]
        terms = 0.0
        for i in range(j + 1):
            a = at_risk[i]
            terms += (ci_j - cif[i]) ** 2 * d_all[i] / (a * (a - d_all[i])) if a > d_all[i] else 0.0
            terms += surv_before[i] ** 2 * d_k[i] * (a - d_k[i]) / a ** 3
            terms -= 2 * (ci_j - cif[i]) * surv_before[i] * d_k[i] / a ** 2
        var[j] = max(terms, 0.0)
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
    at_risk = np.array([(subject_end >= t).sum() for t in times], dtype=float)
    d = np.array([(event_time == t).sum() for t in times], dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        increments = np.where(at_risk > 0, d / at_risk, 0.0)
        variance = np.cumsum(np.where(at_risk > 0, d / at_risk ** 2, 0.0))
    mcf = np.cumsum(increments)
    half = stats.norm.ppf(0.975) * np.sqrt(variance)
    return Curve(times, mcf, np.maximum(mcf - half, 0), mcf + half, at_risk, None, len(subject_end), int(d.sum()),
                 len(subject_end))
