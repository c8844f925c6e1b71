"""Interval methods: Wilson against scipy, MOVER-J against its formula with exact Jeffreys
limits, fixed simulation draws."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import beta, binomtest, norm

from monitor.intervals import (
    jeffreys_quantile,
    normal_matrix,
    quantile_positions,
    ratio_interval,
    row_quantiles,
    simulate_rates,
    simulated_noise,
    wilson_interval,
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


def test_normal_matrix_is_fixed_and_prefix_stable():
    small = normal_matrix(7, 200, 3)
    large = normal_matrix(7, 200, 130)
    np.testing.assert_array_equal(small, large[:3])
    assert not np.array_equal(normal_matrix(8, 200, 3), small)
    assert large.dtype == np.float32
    assert abs(float(large.mean())) < 0.02 and abs(float(large.std()) - 1) < 0.02
    with pytest.raises(ValueError):
        large[0, 0] = 1.0  # read-only: shared by every evaluation


def test_simulated_rates_are_centred_on_the_adjusted_rate():
    normals = normal_matrix(1, 4000, 2)
    draws = simulate_rates(np.array([30, 0]), np.array([100, 50]), normals)
    assert draws.shape == (2, 4000)
    assert float(draws[0].mean()) == pytest.approx(31 / 102, abs=0.003)
    assert float(draws.min()) >= 0.0 and float(draws.max()) <= 1.0


def test_row_quantiles_are_outer_order_statistics():
    draws = np.arange(1000, dtype=np.float32)[::-1].reshape(1, -1)
    low, high = row_quantiles(draws, 0.95)
    assert quantile_positions(1000, 0.95) == (24, 975)
    assert (low[0], high[0]) == (24.0, 975.0)


def test_simulated_noise_is_clipped_only_where_a_draw_would_leave_the_unit_interval():
    normals = normal_matrix(5, 2000, 2)
    centre = np.array([0.02, 0.5])  # a rare event from few rows, and a balanced one
    trials = np.array([10, 1000])
    noise = simulated_noise(centre, trials, normals)
    assert float((centre[0] + noise[0]).min()) >= 0.0  # clipped at p = 0
    assert float(noise[0].min()) == pytest.approx(-0.02)
    spread = math.sqrt(0.25 / 1002)
    np.testing.assert_allclose(noise[1], normals[1] * spread, rtol=1e-6)  # untouched
    negated = simulated_noise(centre, trials, normals, sign=-1.0)
    np.testing.assert_allclose(negated[1], -noise[1], rtol=1e-6)
