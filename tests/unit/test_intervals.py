"""Interval methods: Wilson against scipy, Katz against its formula, fixed simulation draws."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import binomtest

from monitor.intervals import (
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


def test_katz_ratio_interval_formula():
    low, high = ratio_interval(np.array([30]), np.array([100]), 60, 120, 0.95)
    ratio = (30 / 100) / (60 / 120)
    spread = 1.959963984540054 * math.sqrt(1 / 30 - 1 / 100 + 1 / 60 - 1 / 120)
    assert low[0] == pytest.approx(ratio * math.exp(-spread))
    assert high[0] == pytest.approx(ratio * math.exp(spread))


def test_katz_ratio_interval_zero_and_undefined_cases():
    low, high = ratio_interval(np.array([0, 5, 5]), np.array([50, 0, 50]), 20, 100)
    assert low[0] >= 0 and 0 < high[0] < 1  # zero successes: corrected, still finite
    assert np.isnan(low[1]) and np.isnan(high[1])  # no trials
    low, high = ratio_interval(np.array([5]), np.array([50]), 0, 100)
    assert np.isnan(low[0])  # reference rate 0: ratio undefined


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
