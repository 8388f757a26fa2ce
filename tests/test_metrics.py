"""Metrics against hand computations."""

import numpy as np
import pytest
from scipy.stats import rankdata

from zoolib.metrics import bootstrap_ci, kendall_tau, mad, mse, r2, score, tau_ceiling


def test_r2_mse_mad_by_hand():
    y, p = np.array([0.1, 0.5, 0.9, 0.7]), np.array([0.2, 0.4, 0.8, 0.9])
    assert mse(y, p) == pytest.approx((0.01 + 0.01 + 0.01 + 0.04) / 4)
    assert mad(y, p) == pytest.approx((0.1 + 0.1 + 0.1 + 0.2) / 4)
    variance = np.mean((y - y.mean()) ** 2)  # population variance (ddof=0)
    assert r2(y, p) == pytest.approx(1 - 0.0175 / variance)
    assert r2(y, y) == 1.0 and r2(y, np.full(4, y.mean())) == pytest.approx(0.0)


def test_kendall_tau_b_with_ties_by_hand():
    y, p = np.array([1, 2, 2, 3]), np.array([1, 2, 3, 3])
    # pairs: (0,1) c, (0,2) c, (0,3) c, (1,2) tied in y, (1,3) c, (2,3) tied in p -> nc=4, nd=0
    # tau_b = (nc - nd) / sqrt((n0 - n1)(n0 - n2)) with n0 = 6, n1 = n2 = 1
    assert kendall_tau(y, p) == pytest.approx(4 / 5)
    assert kendall_tau(y, -p) == pytest.approx(-4 / 5)


def test_tau_ceiling_is_below_one_with_ties_and_one_without():
    assert tau_ceiling(np.array([0.3, 0.1, 0.7, 0.2])) == 1.0
    y = np.array([0.1, 0.1, 0.1, 0.5, 0.6, 0.9])
    ceiling = tau_ceiling(y)
    assert ceiling == pytest.approx(np.sqrt(1 - 3 / 15))  # 3 of the 15 pairs are tied
    tie_broken = rankdata(y, method="ordinal")  # y plus a strictly increasing tie-breaker
    assert kendall_tau(y, tie_broken) == pytest.approx(ceiling)
    rng = np.random.default_rng(0)
    for _ in range(20):  # no untied ranking does better
        assert kendall_tau(y, y + rng.uniform(0, 1e-3, len(y))) <= ceiling + 1e-12


def test_bootstrap_interval_brackets_the_estimate_and_is_seeded():
    rng = np.random.default_rng(0)
    y = rng.uniform(size=300)
    p = y + rng.normal(0, 0.1, 300)
    for metric, value in (("r2", r2(y, p)), ("kendall_tau", kendall_tau(y, p))):
        low, high = bootstrap_ci(y, p, metric, n_resamples=100, seed=1)
        assert low < value < high and high - low < 0.2
        assert (low, high) == bootstrap_ci(y, p, metric, n_resamples=100, seed=1)
    row = score(y, p, n_bootstrap=0)
    assert np.isnan(row["r2_ci_low"]) and row["n_test"] == 300


def test_r2_and_bootstrap_of_constant_targets_are_undefined_not_huge():
    import math

    from zoolib.metrics import bootstrap_ci, r2

    assert math.isnan(r2([0.1, 0.1, 0.1], [0.2, 0.3, 0.2]))  # np.var of these is 1e-34, not 0
    assert all(math.isnan(v) for v in bootstrap_ci([0.1, 0.2, 0.3], [0.5, 0.5, 0.5], "kendall_tau", 20))


def test_resamples_are_seeded_row_indices():
    from zoolib.metrics import resamples

    indices = resamples(10, 50, seed=3)
    assert indices.shape == (50, 10) and indices.min() >= 0 and indices.max() <= 9
    np.testing.assert_array_equal(indices, resamples(10, 50, seed=3))
    assert (indices != resamples(10, 50, seed=4)).any() and resamples(0, 5).shape == (5, 0)


def test_a_paired_difference_is_decided_where_the_two_separate_intervals_overlap():
    from zoolib.metrics import bootstrap_values, paired_difference, percentile_interval, resamples

    rng = np.random.default_rng(0)
    y = rng.uniform(0.1, 0.9, 60)
    shared = rng.normal(0, 0.12, 60)  # both predictors err alike on the same nets
    a, b = y + shared + rng.normal(0, 0.01, 60), y + shared + rng.normal(0, 0.1, 60)
    for metric, function in (("r2", r2), ("kendall_tau", kendall_tau)):
        value, low, high = paired_difference(y, a, b, metric, n_resamples=200, seed=1)
        assert value == pytest.approx(function(y, a) - function(y, b)) and low < value < high
        unpaired = (bootstrap_values(y, a, metric, resamples(60, 200, seed=1))
                    - bootstrap_values(y, b, metric, resamples(60, 200, seed=2)))
        unpaired_low, unpaired_high = percentile_interval(unpaired)
        assert high - low < 0.8 * (unpaired_high - unpaired_low)  # the shared errors cancel on shared resamples
    value, low, high = paired_difference(y, a, b, "r2", n_resamples=200, seed=1)
    (a_low, _), (_, b_high) = (bootstrap_ci(y, p, "r2", n_resamples=200, seed=1) for p in (a, b))
    assert a_low < b_high and low > 0  # overlapping intervals, a difference above 0
    assert paired_difference(y, a, b, "r2", 200, seed=1) == (value, low, high)  # seeded


def test_median_over_pairs_resamples_each_test_group_once():
    from zoolib.metrics import bootstrap_values, median_over_pairs, percentile_interval, resamples

    rng = np.random.default_rng(0)
    y = rng.uniform(size=30)
    p = y + rng.normal(0, 0.5, 30)
    (median, low, high), p_values = median_over_pairs([("g", y, p)] * 3, "kendall_tau", 100, seed=5)
    # three pairs of one group share each resample, so the median of the three is the pair's own value
    assert median == pytest.approx(kendall_tau(y, p))
    assert (low, high) == percentile_interval(bootstrap_values(y, p, "kendall_tau", resamples(30, 100, 5)))
    assert p_values[0] == p_values[1] == p_values[2]
    (_, low_apart, high_apart), apart = median_over_pairs([(g, y, p) for g in "xyz"], "kendall_tau", 100, seed=5)
    assert high_apart - low_apart < high - low and len(set(apart)) > 1  # three groups: three resample sets


def test_median_over_pairs_p_values_come_from_the_bootstrap_standard_error():
    from scipy.stats import norm

    from zoolib.metrics import bootstrap_values, median_over_pairs, resamples

    rng = np.random.default_rng(1)
    y = rng.uniform(size=40)
    close, weak = y + rng.normal(0, 0.01, 40), y + rng.normal(0, 1.0, 40)
    pairs = [("g", y, close), ("g", y, -close), ("g", y, np.full(40, 0.5)), ("g", y, weak)]
    (median, _, _), p_values = median_over_pairs(pairs, "kendall_tau", 99, seed=0)
    # far below 1 / (R + 1): Holm over many pairs needs p-values a few hundred resamples cannot count
    assert p_values[0] < 1e-6 and p_values[1] > 1 - 1e-6 and np.isnan(p_values[2])  # undefined: NaN
    taus = bootstrap_values(y, weak, "kendall_tau", resamples(40, 99, 0))
    assert p_values[3] == pytest.approx(norm.sf(kendall_tau(y, weak) / np.std(taus)))
    assert median == pytest.approx(kendall_tau(y, weak))  # the median of the three defined taus
