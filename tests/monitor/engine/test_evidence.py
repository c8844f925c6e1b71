"""Which groups a rate is compared across (:mod:`monitor.engine.evidence`), by brute force.

For random segments of groups: a group takes part in a rate's comparison exactly when the
rate's denominator reaches the minimum (and is above 0); the highest and lowest are the first
such groups holding the extreme rate; with fewer than two taking part there are no extremes.
"""

from __future__ import annotations

import numpy as np
import pytest

from monitor.engine.counts import GroupCounts
from monitor.engine.disparity_intervals import Segments
from monitor.engine.evidence import FAVOURABLE_RATE, compare, compared_counts, small_rows
from monitor.engine.rates import rate_counts


def random_matrix(rng: np.random.Generator, rows: int) -> np.ndarray:
    out = []
    for _ in range(rows):
        tp, fp, tn, fn = (int(v) for v in rng.integers(0, 25, 4))
        pp = tp + fp
        out.append(GroupCounts(pp + tn + fn, pp, tp, fp, tn, fn).to_row())
    return np.stack(out)


@pytest.mark.parametrize("minimum", [0, 1, 20, 40])
def test_taking_part_and_extremes_equal_a_brute_force(minimum: int) -> None:
    rng = np.random.default_rng(minimum)
    sizes = [int(size) for size in rng.integers(1, 6, 30)]
    matrix = random_matrix(rng, sum(sizes))
    segments = Segments.from_sizes(sizes)
    rates = ["selection_rate", "tpr", "fpr", "ppv", FAVOURABLE_RATE]
    comparisons = compare(matrix, rates, segments, minimum)
    for rate in rates:
        numerator, trials = compared_counts(matrix, rate)
        comparison = comparisons[rate]
        for index, start in enumerate(segments.starts.tolist()):
            rows = range(start, start + sizes[index])
            part = [r for r in rows if trials[r] >= max(minimum, 1)]
            assert [bool(comparison.taking_part[r]) for r in rows] == [r in part for r in rows]
            value = {r: numerator[r] / trials[r] for r in part}
            if len(part) < 2:
                assert comparison.highest[index] == comparison.lowest[index] == -1
                assert comparison.smallest[index] == min(trials[r] for r in rows)
                continue
            top, bottom = max(value.values()), min(value.values())
            assert comparison.highest[index] == min(r for r in part if value[r] == top)
            assert comparison.lowest[index] == min(r for r in part if value[r] == bottom)
            assert comparison.smallest[index] == min(trials[r] for r in part)
            for r in rows:
                assert (r in part) == (not np.isnan(comparison.estimate[r]))


def test_the_favourable_rate_counts_predictions_of_0() -> None:
    matrix = np.stack([GroupCounts(10, 3, 2, 1, 5, 2).to_row()])
    assert [v.tolist() for v in compared_counts(matrix, FAVOURABLE_RATE)] == [[7], [10]]
    assert [v.tolist() for v in compared_counts(matrix, "tpr")] == [
        v.tolist() for v in rate_counts(matrix, "tpr")
    ]


def test_a_small_group_is_left_out_of_any_rate_it_lacks_evidence_for() -> None:
    matrix = np.stack(
        [
            GroupCounts(100, 50, 40, 10, 40, 10).to_row(),  # 50 positives, 50 negatives
            GroupCounts(100, 50, 45, 5, 45, 5).to_row(),
            GroupCounts(100, 50, 10, 40, 5, 45).to_row(),  # 55 positives, 45 negatives
            GroupCounts(100, 50, 48, 2, 48, 2).to_row(),  # 50 / 50
        ]
    )
    matrix[3, 2:] = (20, 2, 48, 2)  # 22 labeled positives only
    comparisons = compare(matrix, ["tpr", "fpr"], Segments.from_sizes([4]), 30)
    assert comparisons["tpr"].taking_part.tolist() == [True, True, True, False]
    assert comparisons["fpr"].taking_part.tolist() == [True, True, True, True]
    assert small_rows([comparisons["tpr"], comparisons["fpr"]]).tolist() == [
        False,
        False,
        False,
        True,
    ]
