"""Interval methods: Wilson against scipy, MOVER-J against its formula with exact Jeffreys
limits, the Jeffreys draws against the Beta distribution, fixed pool of normals."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import beta, binomtest, norm

from monitor.engine.disparity_intervals import Segments, rate_spreads
from monitor.engine.intervals import (
    adjusted_rate,
    jeffreys_draws,
    jeffreys_quantile,
    normal_matrix,
    quantile_positions,
    ratio_interval,
    row_quantiles,
    wilson_interval,
    window_generator,
    z_value,
)


@pytest.mark.parametrize(
    ("successes", "trials"), [(0, 1), (0, 10), (3, 10), (10, 10), (17, 40), (512, 1000), (1, 4000)]
)
@pytest.mark.parametrize("level", [0.9, 0.95, 0.99])
def test_wilson_equals_scipy(successes, trials, level):
    low, high = wilson_interval(np.array([successes]), np.array([trials]), level)
    expected = binomtest(successes, trials).proportion_ci(level, method="wilson")
    assert low[0] == pytest.approx(expected.low, abs=1e-12)
    assert high[0] == pytest.approx(expected.high, abs=1e-12)


def test_wilson_undefined_without_trials_and_exact_at_the_edges():
    low, high = wilson_interval(np.array([0, 0, 5]), np.array([0, 5, 5]))
    assert np.isnan(low[0]) and np.isnan(high[0])
    assert low[1] == 0.0 and high[2] == 1.0


def test_z_value():
    assert z_value(0.95) == pytest.approx(1.959963984540054)
    with pytest.raises(ValueError):
        z_value(1.0)


def mover_j(k: int, n: int, k_ref: int, n_ref: int, z: float = 1.959963984540054):
    """MOVER-J (Donner and Zou's ratio limits from exact Jeffreys limits), written out."""

    def limits(successes: int, trials: int) -> tuple[float, float]:
        low = (
            0.0
            if successes == 0
            else beta.ppf(norm.cdf(-z), successes + 0.5, trials - successes + 0.5)
        )
        high = (
            1.0
            if successes == trials
            else beta.ppf(norm.cdf(z), successes + 0.5, trials - successes + 0.5)
        )
        return low, high

    p, r = k / n, k_ref / n_ref
    (l1, u1), (l2, u2) = limits(k, n), limits(k_ref, n_ref)
    lower = (p * r - math.sqrt(max((p * r) ** 2 - l1 * (2 * p - l1) * u2 * (2 * r - u2), 0.0))) / (
        u2 * (2 * r - u2)
    )
    upper = (p * r + math.sqrt(max((p * r) ** 2 - u1 * (2 * p - u1) * l2 * (2 * r - l2), 0.0))) / (
        l2 * (2 * r - l2)
    )
    return min(max(lower, 0.0), p / r), max(upper, p / r)


@pytest.mark.parametrize(
    ("k", "n", "k_ref", "n_ref"),
    [
        (30, 100, 60, 120),
        (5, 56, 12, 29),
        (0, 50, 20, 100),
        (50, 50, 4950, 5000),
        (3, 200, 250, 5000),
    ],
)
def test_mover_j_ratio_interval_formula(k, n, k_ref, n_ref):
    low, high = ratio_interval(np.array([k]), np.array([n]), k_ref, n_ref, 0.95)
    expected_low, expected_high = mover_j(k, n, k_ref, n_ref)
    # Paulson's approximate Jeffreys limits are within 2% of the exact ones here
    assert low[0] == pytest.approx(expected_low, rel=0.025, abs=1e-6)
    assert high[0] == pytest.approx(expected_high, rel=0.025)
    assert low[0] <= k / n / (k_ref / n_ref) <= high[0]


def test_ratio_interval_near_one_is_not_degenerate():
    # 50/50 over 4950/5000: the Katz interval had a width of 0 here and missed a true ratio of 1
    low, high = ratio_interval(np.array([50]), np.array([50]), 4950, 5000)
    assert low[0] < 0.97 and high[0] > 1.0101 + 0.002


def test_ratio_interval_zero_and_undefined_cases():
    low, high = ratio_interval(np.array([0, 5, 5]), np.array([50, 0, 50]), 20, 100)
    assert low[0] == 0.0 and 0 < high[0] < 1  # zero successes: the upper bound stays finite
    assert np.isnan(low[1]) and np.isnan(high[1])  # no trials
    low, high = ratio_interval(np.array([5]), np.array([50]), 0, 100)
    assert np.isnan(low[0])  # reference rate 0: ratio undefined


@pytest.mark.parametrize(
    ("k", "n"),
    [(0, 50), (1, 50), (2, 20), (3, 10), (4, 9), (10, 200), (25, 5000), (100, 200), (4990, 5000)],
)
def test_jeffreys_quantile_is_close_to_the_beta_quantile(k, n):
    z = np.array([-3.0, -1.96, -1.0, 0.0, 1.0, 1.96, 3.0])
    quantile = jeffreys_quantile(np.array(k), np.array(n), z)
    error = norm.ppf(beta.cdf(quantile, k + 0.5, n - k + 0.5)) - z
    if k > n - k:  # mirror: the tail towards 0 of the side with fewer events comes first
        k, error = n - k, -error[::-1]
    if k == 0:
        assert np.abs(error[4:]).max() < 0.11  # the lower half is at 0 (adjusted)
    elif k < 4:  # wider than Jeffreys in the tail towards 0 (the safe side), close elsewhere
        assert error[:2].max() < 0.0 and np.abs(error[1:]).max() < 0.11
        assert np.abs(error[2:]).max() < 0.03
    else:
        assert np.abs(error[1:6]).max() < 0.015 and np.abs(error).max() < 0.1


def test_jeffreys_quantile_boundary_adjustment_and_undefined():
    z = np.array([-1.96, -0.1, 0.1, 1.96])
    none = jeffreys_quantile(np.array(0), np.array(50), z)
    assert none[0] == none[1] == 0.0  # no events: the lower half is at 0
    assert none[2] > 0 and none[3] == pytest.approx(beta.ppf(0.975, 0.5, 50.5), rel=0.02)
    every = jeffreys_quantile(np.array(50), np.array(50), z)
    assert every[2] == every[3] == 1.0
    np.testing.assert_allclose(every[::-1], 1.0 - none, atol=1e-12)  # mirror images
    assert np.isnan(jeffreys_quantile(np.array(0), np.array(0), 1.0))


@pytest.mark.parametrize(
    ("k", "n"), [(0, 50), (1, 50), (3, 20), (30, 200), (2500, 5000), (4999, 5000)]
)
def test_jeffreys_draws_follow_the_beta_distribution(k, n):
    normals = normal_matrix(3, 20000, 1)
    draws = jeffreys_draws(np.array([k]), np.array([n]), normals)[0]
    assert draws.dtype == np.float32 and draws.min() >= 0.0 and draws.max() <= 1.0
    spread = beta.std(k + 0.5, n - k + 0.5)
    tolerance = 0.06 if min(k, n - k) >= 4 else 0.15  # Paulson's form is wide at 1–3 events
    for probability in (0.025, 0.3, 0.7, 0.975):
        expected = beta.ppf(probability, k + 0.5, n - k + 0.5)
        if k == 0 and probability < 0.5:
            expected = 0.0  # the boundary adjustment
        assert np.quantile(draws, probability) == pytest.approx(expected, abs=tolerance * spread)


def test_jeffreys_draws_signs_rows_and_errors():
    normals = normal_matrix(4, 500, 3)
    k, n = np.array([30, 5]), np.array([100, 40])
    plain = jeffreys_draws(k, n, normals[:2])
    chosen = jeffreys_draws(k, n, normals, rows=np.array([2, 0]), signs=np.array([1.0, -1.0]))
    np.testing.assert_array_equal(chosen[0], jeffreys_draws(k[:1], n[:1], normals[2:3])[0])
    np.testing.assert_allclose(chosen[1], jeffreys_draws(k[1:], n[1:], -normals[:1])[0])
    assert not np.allclose(chosen[1], plain[1])
    errors = jeffreys_draws(k, n, normals[:2], errors_from=k / n)
    np.testing.assert_allclose(errors, (k / n)[:, None] - plain, atol=1e-6)


def test_window_generator_is_a_function_of_its_arrays():
    first = window_generator(np.array([3, 50]), np.array([0.5])).integers(0, 1 << 30, 4)
    again = window_generator(np.array([3, 50]), np.array([0.5])).integers(0, 1 << 30, 4)
    other = window_generator(np.array([4, 50]), np.array([0.5])).integers(0, 1 << 30, 4)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_normal_matrix_is_fixed_and_prefix_stable():
    small = normal_matrix(7, 200, 3)
    large = normal_matrix(7, 200, 130)
    np.testing.assert_array_equal(small, large[:3])
    assert not np.array_equal(normal_matrix(8, 200, 3), small)
    assert large.dtype == np.float32
    assert abs(float(large.mean())) < 0.02 and abs(float(large.std()) - 1) < 0.02
    with pytest.raises(ValueError):
        large[0, 0] = 1.0  # read-only: shared by every evaluation


def test_row_quantiles_are_outer_order_statistics():
    draws = np.arange(1000, dtype=np.float32)[::-1].reshape(1, -1)
    low, high = row_quantiles(draws, 0.95)
    assert quantile_positions(1000, 0.95) == (24, 975)
    assert (low[0], high[0]) == (24.0, 975.0)


def test_each_window_draws_afresh_and_the_same_counts_draw_the_same():
    # The simulated statistic of one window is a function of its counts; another window's is
    # made from other rows of the pool (with other signs), so its errors are independent of the
    # first's rather than repeating them (which would bias every window the same way).
    normals = normal_matrix(9, 2000, 10)
    segments = Segments.from_sizes([2])

    def statistic(successes: list[int]) -> np.ndarray:
        k, n = np.array(successes, dtype=float), np.array([500, 500])
        spreads = rate_spreads(k / n, adjusted_rate(k, n), n, segments, normals, 0)
        return spreads.lower_noise[0]

    first = statistic([200, 210])
    np.testing.assert_array_equal(first, statistic([200, 210]))
    correlations = [
        np.corrcoef(first, statistic([200 + shift, 210 - shift]))[0, 1] for shift in range(1, 21)
    ]
    assert np.mean(np.abs(correlations)) < 0.3
