"""Coverage of the disparity intervals over simulated windows with known true rates.

A 95% interval should cover the true disparity in about 95% of windows. The simulations are
seeded, so the measured coverage is the same on every run; the bands are what the method must
achieve, not a tolerance for randomness. ``bench/bench_coverage.py`` measures the full grid.

* Representative hard cases, 400 windows each: a group of 50 at a rate near 0 beside one of
  5,000; equalized odds between two groups with equal rates; rates near 0 and 1; a ratio to a
  reference group at 0.99; groups of 20 to 5,000 rows together. The earlier method (clipped
  normal draws, one fixed matrix for every window, Katz reference ratios) covered 39–90% in
  seven of these nine.
* Random windows: 2–4 groups of 100–3,000 rows with their own base rate, TPR and FPR, a third
  of them with equal rates in every group.
"""

from __future__ import annotations

import numpy as np
import pytest

from monitor.engine.counts import GroupCounts
from monitor.engine.evaluate import EngineConfig, evaluate

# min_group_size 0: coverage is measured for every group size, the tiny ones included
CONFIG = EngineConfig(min_group_size=0, reference_groups={"g": "g0"})


def counts_of(n, positives, tp, fp) -> dict[tuple[str, str], GroupCounts]:
    return {
        ("g", f"g{i}"): GroupCounts(
            int(n[i]),
            int(tp[i] + fp[i]),
            int(tp[i]),
            int(fp[i]),
            int(n[i] - positives[i] - fp[i]),
            int(positives[i] - tp[i]),
        )
        for i in range(len(n))
    }


def true_values(base, tpr, fpr) -> dict[str, float]:
    selection = base * tpr + (1 - base) * fpr
    ppv = base * tpr / selection
    accuracy = base * tpr + (1 - base) * (1 - fpr)
    return {
        "demographic_parity_difference": selection.max() - selection.min(),
        "demographic_parity_ratio": selection.min() / selection.max(),
        "equal_opportunity_difference": tpr.max() - tpr.min(),
        "equal_opportunity_ratio": tpr.min() / tpr.max(),
        "equalized_odds_difference": max(tpr.max() - tpr.min(), fpr.max() - fpr.min()),
        "equalized_odds_ratio": min(tpr.min() / tpr.max(), fpr.min() / fpr.max()),
        "false_negative_rate_difference": tpr.max() - tpr.min(),
        "predictive_parity_difference": ppv.max() - ppv.min(),
        "accuracy_difference": accuracy.max() - accuracy.min(),
    }


def coverage(sizes, tpr, fpr, base, metric: str, windows: int, seed: int) -> float:
    """Share of ``windows`` simulated windows whose interval for ``metric`` (or, for
    ``selection_rate_ratio_to_reference``, group g1's ratio to g0) covers the true value."""
    sizes, tpr, fpr, base = (np.broadcast_to(np.asarray(v, float), (len(sizes),)) for v in (
        sizes, tpr, fpr, base))  # fmt: skip
    selection = base * tpr + (1 - base) * fpr
    truth = (
        selection[1] / selection[0]
        if metric == "selection_rate_ratio_to_reference"
        else true_values(base, tpr, fpr)[metric]
    )
    rng = np.random.default_rng(seed)
    n = sizes.astype(np.int64)
    covered = defined = 0
    for _ in range(windows):
        positives = rng.binomial(n, base)
        tp, fp = rng.binomial(positives, tpr), rng.binomial(n - positives, fpr)
        for disparity in evaluate(
            "m", "w", 0, 1, counts_of(n, positives, tp, fp), CONFIG
        ).disparities:
            if disparity.metric != metric or disparity.group not in (None, "g1"):
                continue
            if disparity.ci_low is None or disparity.ci_high is None:
                continue
            defined += 1
            covered += disparity.ci_low - 1e-9 <= truth <= disparity.ci_high + 1e-9
    assert defined >= windows * 0.9, "the interval should be defined in most windows"
    return covered / defined


HARD_CASES = [
    # (name, sizes, tpr, fpr, base rate, metric, highest coverage expected); TPR = FPR = r makes
    # the selection rate r. With one or two expected events in a group its count takes few
    # values and no interval can cover close to 95%: there only the lower limit is checked.
    ("a group of 50 at 0.02 beside 5,000 at 0.1", [50, 5000], [0.02, 0.1], [0.02, 0.1], 0.4,
     "demographic_parity_difference", 1.0),
    ("selection 0.01 (n 200) against 0.05 (n 5,000)", [200, 5000], [0.01, 0.05], [0.01, 0.05],
     0.4, "demographic_parity_ratio", 1.0),
    ("equal rates, 50 + 5,000 rows", [50, 5000], 0.7, 0.2, 0.4, "equalized_odds_difference",
     0.99),
    ("equal rates, 200 + 200 rows", [200, 200], 0.7, 0.2, 0.4, "equalized_odds_difference",
     0.99),
    ("groups of 20, 50, 200 and 5,000, equal", [20, 50, 200, 5000], 0.7, 0.2, 0.4,
     "equalized_odds_difference", 0.99),
    ("groups of 20, 50, 200 and 5,000, equal", [20, 50, 200, 5000], 0.7, 0.2, 0.4,
     "predictive_parity_difference", 0.99),
    ("a ratio to the reference near 1", [50, 5000], 0.99, 0.99, 0.4,
     "selection_rate_ratio_to_reference", 1.0),
    ("a TPR of 0.99 for 50 rows beside 5,000", [50, 5000], 0.99, 0.2, 0.4,
     "equal_opportunity_ratio", 1.0),
    ("8 groups of 20 to 5,000 rows, equal", [20, 30, 50, 100, 200, 1000, 3000, 5000], 0.7, 0.2,
     0.4, "equal_opportunity_difference", 0.99),
]  # fmt: skip


@pytest.mark.parametrize(
    ("sizes", "tpr", "fpr", "base", "metric", "highest"),
    [case[1:] for case in HARD_CASES],
    ids=[f"{case[0]}: {case[5]}" for case in HARD_CASES],
)
def test_hard_cases_cover_at_about_95_percent(sizes, tpr, fpr, base, metric, highest):
    covered = coverage(sizes, tpr, fpr, base, metric, windows=400, seed=11)
    assert 0.92 <= covered <= highest, f"coverage {covered:.3f}"


def simulate(seed: int, windows: int) -> tuple[dict[str, float], float]:
    rng = np.random.default_rng(seed)
    config = EngineConfig(min_group_size=0)
    covered: dict[str, int] = {}
    total: dict[str, int] = {}
    for window in range(windows):
        groups = int(rng.integers(2, 5))
        n = rng.integers(100, 3000, groups)
        base = rng.uniform(0.2, 0.8, groups)
        tpr = rng.uniform(0.3, 0.9, groups)
        fpr = rng.uniform(0.05, 0.5, groups)
        if window % 3 == 0:  # a third of the windows are fair: equal rates in every group
            base[:], tpr[:], fpr[:] = base[0], tpr[0], fpr[0]
        positives = rng.binomial(n, base)
        tp = rng.binomial(positives, tpr)
        fp = rng.binomial(n - positives, fpr)
        truth = true_values(base, tpr, fpr)
        for disparity in evaluate(
            "m", "w", 0, 1, counts_of(n, positives, tp, fp), config
        ).disparities:
            if disparity.metric not in truth:
                continue
            value = truth[disparity.metric]
            assert disparity.ci_low is not None and disparity.ci_high is not None
            hit = disparity.ci_low - 1e-12 <= value <= disparity.ci_high + 1e-12
            covered[disparity.metric] = covered.get(disparity.metric, 0) + int(hit)
            total[disparity.metric] = total.get(disparity.metric, 0) + 1
    coverage = {metric: covered[metric] / total[metric] for metric in total}
    overall = sum(covered.values()) / sum(total.values())
    return coverage, overall


def test_random_windows_cover_the_true_value_at_about_95_percent():
    coverage, overall = simulate(seed=2024, windows=1200)
    print(
        f"overall coverage {overall:.3f}; " + ", ".join(f"{m} {c:.3f}" for m, c in coverage.items())
    )
    assert 0.93 <= overall <= 0.98
    for metric, value in coverage.items():
        assert 0.92 <= value <= 0.985, f"{metric}: coverage {value:.3f}"


def test_the_same_counts_give_the_same_interval():
    counts = counts_of([400, 400], [160, 160], [110, 112], [50, 49])
    first = evaluate("m", "w", 0, 1, counts, CONFIG).disparities
    again = evaluate("m", "w", 0, 1, counts, CONFIG).disparities
    assert [(d.ci_low, d.ci_high) for d in first] == [(d.ci_low, d.ci_high) for d in again]
