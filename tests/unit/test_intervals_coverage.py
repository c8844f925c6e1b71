"""Coverage of the disparity intervals over simulated windows with known true rates.

Each window has 2–4 groups of 100–3,000 rows with their own base rate, TPR and FPR; the true
selection rate follows from them. A 95% interval should cover the true disparity in about 95% of
windows. The simulation is seeded, so the measured coverage is the same on every run; the band
(93–98%) is what the method must achieve, not a tolerance for randomness.
"""

from __future__ import annotations

import numpy as np
import pytest

from monitor.counts import GroupCounts
from monitor.engine import EngineConfig, evaluate

pytestmark = pytest.mark.slow  # 1,200 full evaluations: a few seconds

WINDOWS = 1200


def true_values(base, tpr, fpr) -> dict[str, float]:
    selection = base * tpr + (1 - base) * fpr
    return {
        "demographic_parity_difference": selection.max() - selection.min(),
        "demographic_parity_ratio": selection.min() / selection.max(),
        "equal_opportunity_difference": tpr.max() - tpr.min(),
        "equal_opportunity_ratio": tpr.min() / tpr.max(),
        "equalized_odds_difference": max(tpr.max() - tpr.min(), fpr.max() - fpr.min()),
        "equalized_odds_ratio": min(tpr.min() / tpr.max(), fpr.min() / fpr.max()),
        "false_negative_rate_difference": tpr.max() - tpr.min(),
    }


def simulate(seed: int) -> tuple[dict[str, float], float]:
    rng = np.random.default_rng(seed)
    config = EngineConfig(min_group_size=0)
    covered: dict[str, int] = {}
    total: dict[str, int] = {}
    for window in range(WINDOWS):
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
        counts = {
            ("g", f"g{i}"): GroupCounts(
                int(n[i]),
                int(tp[i] + fp[i]),
                int(tp[i]),
                int(fp[i]),
                int(n[i] - positives[i] - fp[i]),
                int(positives[i] - tp[i]),
            )
            for i in range(groups)
        }
        truth = true_values(base, tpr, fpr)
        for disparity in evaluate("m", "w", 0, 1, counts, config).disparities:
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


def test_disparity_intervals_cover_the_true_value_at_about_95_percent():
    coverage, overall = simulate(seed=2024)
    print(
        f"overall coverage {overall:.3f}; " + ", ".join(f"{m} {c:.3f}" for m, c in coverage.items())
    )
    assert 0.93 <= overall <= 0.98
    for metric, value in coverage.items():
        assert 0.92 <= value <= 0.985, f"{metric}: coverage {value:.3f}"
