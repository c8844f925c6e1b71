"""The disparity-interval building blocks (:mod:`monitor.engine.disparity_intervals`) on their own.

Observed values are checked against a per-segment brute force; the simulated bounds against
what the method promises in the cases it reduces to (two clearly separated groups: the interval
of a difference of two proportions) and against simulated windows with known true rates.
"""

from __future__ import annotations

import numpy as np
import pytest

from monitor.engine.disparities import DisparityMetric
from monitor.engine.disparity_intervals import (
    RateSpreads,
    Segments,
    combine_bounds,
    complement_spreads,
    metric_statistics,
    metric_values,
    rate_spreads,
)
from monitor.engine.intervals import adjusted_rate, normal_matrix, row_quantiles

SAMPLES = 4000
DP_DIFFERENCE = DisparityMetric("demographic_parity_difference", ("selection_rate",), "difference")
DP_RATIO = DisparityMetric("demographic_parity_ratio", ("selection_rate",), "ratio")
EO_DIFFERENCE = DisparityMetric("equalized_odds_difference", ("tpr", "fpr"), "difference")
EO_RATIO = DisparityMetric("equalized_odds_ratio", ("tpr", "fpr"), "ratio")


def spreads_of(successes: list[int], trials: list[int], sizes: list[int] | None = None):
    """:func:`rate_spreads` of one rate (groups with no trials are undefined)."""
    k, n = np.asarray(successes, dtype=float), np.asarray(trials, dtype=float)
    estimate = np.full(k.shape, np.nan)
    np.divide(k, n, out=estimate, where=n > 0)
    segments = Segments.from_sizes(sizes or [len(k)])
    normals = normal_matrix(7, SAMPLES, int(segments.sizes.max()))
    return rate_spreads(estimate, adjusted_rate(k, n), n, segments, normals, 0), segments


def interval(
    metric: DisparityMetric, spreads: dict[str, RateSpreads], level: float = 0.95
) -> tuple[float, float, float]:
    """(value, lower bound, upper bound) of the first segment, as the engine combines them."""
    per_rate, joint = metric_statistics(metric, spreads)
    low, high = row_quantiles(np.concatenate([*per_rate, joint]), level)
    count = len(per_rate)
    value = metric_values(metric, spreads)
    lows, highs = combine_bounds(
        metric, spreads, value, [high[i : i + 1] for i in range(count)], low[count:], high[count:]
    )
    return float(value[0]), float(lows[0]), float(highs[0])


def test_segments_index_their_rows() -> None:
    segments = Segments.from_sizes([3, 1, 2])
    assert len(segments) == 3
    assert segments.starts.tolist() == [0, 3, 4]
    assert segments.segment.tolist() == [0, 0, 0, 1, 2, 2]
    assert segments.local.tolist() == [0, 1, 2, 0, 0, 1]
    for sizes in ([], [2, 0]):
        with pytest.raises(ValueError, match="at least one row"):
            Segments.from_sizes(sizes)


def test_observed_extremes_per_segment_equal_a_brute_force() -> None:
    rng = np.random.default_rng(3)
    sizes = [int(size) for size in rng.integers(1, 6, 40)]
    total = sum(sizes)
    trials = rng.integers(0, 60, total)
    trials[rng.random(total) < 0.2] = 0  # undefined groups: skipped
    successes = np.minimum(rng.integers(0, 60, total), trials)
    spreads, segments = spreads_of(successes.tolist(), trials.tolist(), sizes)
    for index in range(len(segments)):
        rows = slice(segments.starts[index], segments.starts[index] + sizes[index])
        k, n = successes[rows], trials[rows]
        rates = [a / b for a, b in zip(k, n, strict=True) if b > 0]
        assert spreads.defined_groups[index] == len(rates)
        assert spreads.min_trials[index] == n.min()
        if len(rates) < 2:  # no comparison: undefined, noise included
            assert np.isnan(spreads.highest[index]) and np.isnan(spreads.lowest[index])
            assert np.isnan(spreads.values("difference")[index])
            assert np.isnan(spreads.lower_noise[index]).all()
            continue
        assert spreads.highest[index] == max(rates) and spreads.lowest[index] == min(rates)
        assert spreads.values("difference")[index] == pytest.approx(max(rates) - min(rates))
        ratio = spreads.values("ratio")[index]
        if max(rates) > 0:
            assert ratio == pytest.approx(min(rates) / max(rates))
        else:  # every group at 0: the ratio 0/0 is undefined, not 0 or 1
            assert np.isnan(ratio)


def test_two_separated_groups_give_the_interval_of_a_difference_of_proportions() -> None:
    spreads, _ = spreads_of([1200, 600], [2000, 2000])
    value, low, high = interval(DP_DIFFERENCE, {"selection_rate": spreads})
    # only the leader and the trailer are contenders: e* = e_a − e_b, normal for large n
    half_width = 1.96 * np.sqrt(0.6 * 0.4 / 2000 + 0.3 * 0.7 / 2000)
    assert value == pytest.approx(0.3)
    assert low == pytest.approx(0.3 - half_width, abs=0.003)
    assert high == pytest.approx(0.3 + half_width, abs=0.003)


def test_a_group_that_cannot_be_an_extreme_does_not_move_the_interval() -> None:
    two, _ = spreads_of([1200, 600], [2000, 2000])
    three, _ = spreads_of([1200, 900, 600], [2000, 2000, 2000])  # 0.45: clearly in between
    _, low_two, high_two = interval(DP_DIFFERENCE, {"selection_rate": two})
    _, low_three, high_three = interval(DP_DIFFERENCE, {"selection_rate": three})
    # the draws differ (they are seeded by the counts), the method's answer does not
    assert low_three == pytest.approx(low_two, abs=0.003)
    assert high_three == pytest.approx(high_two, abs=0.003)


def test_equal_rates_reach_zero_below_and_stay_positive_above() -> None:
    spreads, _ = spreads_of([100, 100, 100], [500, 500, 500])
    value, low, high = interval(DP_DIFFERENCE, {"selection_rate": spreads})
    assert value == 0.0 and low == 0.0
    assert 0.03 < high < 0.12  # three groups of 500 at 0.2 can differ by several points
    value, low, high = interval(DP_RATIO, {"selection_rate": spreads})
    assert value == 1.0 and high == 1.0 and 0.6 < low < 0.95


@pytest.mark.parametrize(
    ("successes", "trials"),
    [([0, 0], [50, 5000]), ([50, 5000], [50, 5000]), ([0, 50], [50, 50])],
    ids=["all-at-0", "all-at-1", "0-and-1"],
)
def test_rates_at_0_or_1_keep_the_bounds_inside_0_1(successes, trials) -> None:
    spreads, _ = spreads_of(successes, trials)
    rates = np.array(successes) / np.array(trials)
    value, low, high = interval(DP_DIFFERENCE, {"selection_rate": spreads})
    assert value == rates.max() - rates.min()
    assert 0.0 <= low <= value <= high <= 1.0
    if value == 0.0:  # 50 rows at 0 (or 1) do not rule out a true rate of a few percent
        assert low == 0.0 and 0.0 < high < 0.1
    else:
        assert low > 0.9
    value, low, high = interval(DP_RATIO, {"selection_rate": spreads})
    if rates.max() == 0:
        assert np.isnan(value) and np.isnan(low) and np.isnan(high)
    else:
        assert value == rates.min() / rates.max()
        assert 0.0 <= low <= value <= high <= 1.0


def test_the_complement_swaps_the_extremes_and_keeps_the_noise() -> None:
    tpr, segments = spreads_of([30, 45, 10, 2], [40, 50, 40, 10], [2, 2])
    fnr_estimates = 1 - np.array([30 / 40, 45 / 50, 10 / 40, 2 / 10])
    fnr = complement_spreads(tpr, fnr_estimates, segments)
    np.testing.assert_allclose(fnr.highest, 1 - tpr.lowest)
    np.testing.assert_allclose(fnr.lowest, 1 - tpr.highest)
    np.testing.assert_array_equal(fnr.lower_noise, tpr.lower_noise)
    np.testing.assert_array_equal(fnr.upper_noise, tpr.upper_noise)
    np.testing.assert_allclose(fnr.values("difference"), tpr.values("difference"))
    assert np.isnan(fnr.centre_ratio).all()  # no ratio of the complement is declared


def test_several_rates_take_the_worst_case_and_undefined_propagates() -> None:
    tpr, _ = spreads_of([80, 40, 45], [100, 100, 100], [3])
    fpr, _ = spreads_of([10, 30, 20], [100, 100, 100], [3])
    both = {"tpr": tpr, "fpr": fpr}
    assert metric_values(EO_DIFFERENCE, both)[0] == pytest.approx(max(0.8 - 0.4, 0.3 - 0.1))
    assert metric_values(EO_RATIO, both)[0] == pytest.approx(min(0.4 / 0.8, 0.1 / 0.3))
    undefined_fpr, _ = spreads_of([5, 0, 0], [10, 0, 0], [3])  # one group with negatives
    assert np.isnan(metric_values(EO_DIFFERENCE, {"tpr": tpr, "fpr": undefined_fpr})[0])
    value, low, high = interval(EO_DIFFERENCE, both)
    # the worst case's lower bound is at least each rate's own (TPR: 0.4 minus its error)
    _v, tpr_low, _h = interval(
        DisparityMetric("equal_opportunity_difference", ("tpr",), "difference"), {"tpr": tpr}
    )
    assert low <= value and high >= value
    assert low >= tpr_low - 0.03  # Šidák: each rate's bound is a little wider with two rates


def test_bounds_always_contain_the_value_and_stay_in_0_1() -> None:
    rng = np.random.default_rng(11)
    for _ in range(40):
        groups = int(rng.integers(2, 6))
        trials = rng.integers(1, 300, groups)
        successes = (trials * rng.choice([0.0, 1.0, *rng.random(3)], groups)).astype(int)
        spreads, _ = spreads_of(successes.tolist(), trials.tolist())
        for metric in (DP_DIFFERENCE, DP_RATIO):
            value, low, high = interval(metric, {"selection_rate": spreads})
            if np.isnan(value):
                assert np.isnan(low) and np.isnan(high)
            else:
                assert 0.0 <= low <= value <= high <= 1.0


def test_simulated_windows_with_known_rates_are_covered_about_95_percent_of_the_time() -> None:
    rng = np.random.default_rng(2024)
    true_rates = np.array([0.10, 0.15, 0.30])
    sizes = np.array([200, 500, 100])
    truth = true_rates.max() - true_rates.min()
    windows = 300
    covered = 0
    for _ in range(windows):
        successes = rng.binomial(sizes, true_rates)
        spreads, _ = spreads_of(successes.tolist(), sizes.tolist())
        _value, low, high = interval(DP_DIFFERENCE, {"selection_rate": spreads})
        covered += low <= truth <= high
    assert 0.92 <= covered / windows <= 0.99
