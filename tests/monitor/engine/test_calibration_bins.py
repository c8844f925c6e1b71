"""Calibration from the score histograms (:mod:`monitor.engine.calibration`) against raw scores.

The per-group ECE, calibration gap and reliability bins, computed from the counts matrix, equal
the same quantities computed directly from the rows' scores and labels (to the micro-unit the
score sums are stored in). Unlabeled rows and rows without a score take no part.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from monitor.engine.calibration import (
    ScoreBins,
    calibration_gap,
    expected_calibration_error,
    reliability,
)
from monitor.engine.counts import count_batch

BINS = 10


@pytest.fixture(scope="module")
def rows() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(17)
    size = 3000
    group = rng.integers(0, 3, size)
    score = rng.beta(2 + group, 3, size)  # each group its own score distribution
    score[rng.random(size) < 0.05] = np.nan  # no score
    score[:5] = [0.0, 1.0, 0.1, 0.2999999, 0.3]  # the edges of the bins
    label = (rng.random(size) < np.nan_to_num(score) * (0.7 + 0.2 * group)).astype(np.int64)
    label[rng.random(size) < 0.1] = -1  # unlabeled
    return {"group": group, "score": score, "label": label}


def brute_force(rows: dict[str, np.ndarray], group: int) -> dict[str, object]:
    keep = (rows["group"] == group) & (rows["label"] >= 0) & ~np.isnan(rows["score"])
    score, label = rows["score"][keep], rows["label"][keep]
    which = np.minimum((score * BINS).astype(int), BINS - 1)  # 1.0 falls in the last bin
    ece = sum(abs(label[which == b].sum() - score[which == b].sum()) for b in range(BINS))
    return {
        "n": len(score),
        "ece": ece / len(score),
        "gap": score.mean() - label.mean(),
        "bins": [
            (
                int((which == b).sum()),
                float(score[which == b].mean()) if (which == b).any() else None,
                float(label[which == b].mean()) if (which == b).any() else None,
            )
            for b in range(BINS)
        ],
    }


def test_ece_gap_and_reliability_equal_a_direct_computation(rows: dict[str, np.ndarray]) -> None:
    matrix = count_batch(
        rows["group"], 3, np.ones(len(rows["group"]), dtype=np.int64), rows["label"],
        rows["score"], score_bins=BINS,
    )  # fmt: skip
    bins = ScoreBins.from_matrix(matrix)
    assert bins.bins == BINS and bins.any_scored()
    ece, gap, diagrams = expected_calibration_error(bins), calibration_gap(bins), reliability(bins)
    for group in range(3):
        expected = brute_force(rows, group)
        assert bins.rows[group] == expected["n"]
        assert ece[group] == pytest.approx(expected["ece"], abs=1e-6)
        assert gap[group] == pytest.approx(expected["gap"], abs=1e-6)
        got = [(b.n, b.mean_score, b.observed_rate) for b in diagrams[group]]
        for (n, mean, rate), (want_n, want_mean, want_rate) in zip(
            got, expected["bins"], strict=True
        ):
            assert n == want_n
            if want_n == 0:
                assert mean is None and rate is None  # an empty bin is undefined, not 0
            else:
                assert mean == pytest.approx(want_mean, abs=1e-6)
                assert rate == pytest.approx(want_rate)
        edges = [(b.lower, b.upper) for b in diagrams[group]]
        assert edges[0] == (0.0, 0.1) and edges[-1][1] == 1.0


def test_without_scores_everything_is_undefined() -> None:
    matrix = count_batch(np.array([0, 1]), 2, np.array([1, 0]), np.array([1, 0]))
    bins = ScoreBins.from_matrix(matrix)
    assert bins.bins == 0 and not bins.any_scored()
    assert all(math.isnan(v) for v in expected_calibration_error(bins))
    assert all(math.isnan(v) for v in calibration_gap(bins))
    assert reliability(bins) == [(), ()]


def test_a_group_with_scores_but_no_label_has_no_calibration() -> None:
    matrix = count_batch(
        np.array([0, 0, 1]), 2, np.array([1, 1, 0]), np.array([-1, -1, 1]),
        np.array([0.4, 0.6, 0.9]), score_bins=BINS,
    )  # fmt: skip
    bins = ScoreBins.from_matrix(matrix)
    gap = calibration_gap(bins)
    assert math.isnan(gap[0])  # unlabeled rows do not count
    assert gap[1] == pytest.approx(0.9 - 1.0)
