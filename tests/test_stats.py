"""The statistics against values computed by hand or quoted in metrics.md §3."""

from __future__ import annotations

import math

import numpy as np
import pytest

from baton_lab.metrics import stats


def test_zero_of_twenty_wilson_and_exact_upper_bounds() -> None:
    # metrics.md §3.1: 0/20 -> CP upper 16.8%, Wilson 16.1%
    assert stats.proportion(0, 20, method="exact").ci_high == pytest.approx(0.168, abs=5e-4)
    wilson = stats.proportion(0, 20)
    assert (wilson.estimate, wilson.ci_low) == (0.0, 0.0) and wilson.ci_high == pytest.approx(0.161, abs=5e-4)


def test_small_denominators_are_marked_insufficient() -> None:
    small = stats.proportion(2, 4)
    assert small.min_n_met is False and small.label == "insufficient data"
    assert stats.proportion(0, 0).estimate is None


@pytest.mark.parametrize("before, upper", [(5, 1.09), (6, 0.85), (10, 0.45), (15, 0.28)])
def test_rate_ratio_upper_bounds_with_zero_after(before: int, upper: float) -> None:
    # metrics.md §3.2: zero post-graduation recurrences, equal exposure
    rr = stats.rate_ratio(0, 20, before, 20)
    assert rr.estimate == 0 and rr.ci_low == 0
    assert rr.ci_high == pytest.approx(upper, abs=0.01)
    assert rr.min_n_met is (before >= 6)


def test_three_before_none_after_is_uninformative() -> None:
    rr = stats.rate_ratio(0, 10, 3, 10)
    assert stats.rate_ratio_p_value(0, 10, 3, 10) == pytest.approx(0.25)
    assert rr.ci_high == pytest.approx(2.42, abs=0.01) and not rr.min_n_met


def test_garwood_interval() -> None:
    rate = stats.poisson_rate(0, 10)
    assert rate.ci_high == pytest.approx(0.3689, abs=1e-4)  # chi2(0.975, 2)/2 = 3.689
    rate = stats.poisson_rate(4, 8)
    assert (rate.estimate, rate.ci_low, rate.ci_high) == pytest.approx((0.5, 1.0899 / 8, 10.2416 / 8), abs=1e-4)


def test_kaplan_meier_by_hand() -> None:
    # times 1,2,2,3+,4 : S(1)=4/5, S(2)=4/5*2/4=0.4, S(4)=0
    curve = stats.kaplan_meier(np.array([1, 2, 2, 3, 4]), np.array([1, 1, 1, 0, 1]))
    assert curve.time.tolist() == [1, 2, 3, 4]  # censoring times are steps of the plot too
    assert curve.value.tolist() == pytest.approx([0.8, 0.4, 0.4, 0.0])
    assert curve.at_risk.tolist() == [5, 4, 2, 1]
    assert curve.median == 2 and curve.n_censored == 1
    assert (curve.lower <= curve.value + 1e-12).all() and (curve.upper >= curve.value - 1e-12).all()


def test_kaplan_meier_all_censored_has_no_median() -> None:
    curve = stats.kaplan_meier(np.array([2, 3]), np.array([0, 0]))
    assert curve.median is None and curve.value.tolist() == [1.0, 1.0] and curve.n_events == 0


def test_aalen_johansen_sums_with_competing_cause_to_one_minus_km() -> None:
    durations = np.array([1, 1, 2, 3, 3, 4, 5, 6])
    causes = np.array([1, 2, 1, 0, 2, 1, 0, 2])
    c1 = stats.aalen_johansen(durations, causes, 1)
    c2 = stats.aalen_johansen(durations, causes, 2)
    km = stats.kaplan_meier(durations, causes != 0)
    def step(curve: stats.Curve, t: np.ndarray) -> np.ndarray:
        index = np.searchsorted(curve.time, t, side="right") - 1
        return np.where(index >= 0, curve.value[np.maximum(index, 0)], 0.0)

    total = step(c1, km.time) + step(c2, km.time)
    assert total == pytest.approx(1 - km.value)
    assert c1.value[0] == pytest.approx(1 / 8)  # one cause-1 event of 8 at t=1


def test_mean_cumulative_function() -> None:
    # two subjects followed to 4 and 2; events at 1 (s0), 1 (s1), 3 (s0)
    mcf = stats.mean_cumulative_function(np.array([4, 2]), np.array([0, 1, 0]), np.array([1, 1, 3]))
    assert mcf.time.tolist() == [1, 3] and mcf.value.tolist() == pytest.approx([1.0, 2.0])


def test_theil_sen_needs_points() -> None:
    assert stats.theil_sen(np.array([1.0, 2.0])).min_n_met is False
    trend = stats.theil_sen(np.array([1.0, 2.0, 3.0, 4.0, 5.0]))
    assert trend.estimate == pytest.approx(1.0) and trend.min_n_met
    assert math.isfinite(trend.ci_low)
