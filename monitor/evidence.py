"""Which groups a rate is compared across, and which of them are the extremes.

A group takes part in the comparison of a rate when it has enough data *for that rate*: the
rate's denominator (predictions for the selection rate, labeled positives for TPR and FNR,
labeled negatives for FPR and TNR, labeled predicted positives for PPV, labeled predicted
negatives for NPV, labeled rows for accuracy) is at least ``min_group_size``, and above zero (an
undefined rate never takes part). The other groups are the comparison's *small* groups: reported
with their own rates, left out of the disparity — they never silence it while two groups remain.

Like :mod:`monitor.disparity_intervals`, everything works on *segments*: the groups of several
attributes stacked in one array, one contiguous run of rows per attribute.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from monitor.disparity_intervals import Segments
from monitor.rates import divide, rate_counts

#: The share of predictions with the favourable outcome when that outcome is prediction 0
#: (``1 − selection_rate``); with prediction 1 favourable it is the selection rate itself.
FAVOURABLE_RATE = "favourable_rate"


def compared_counts(matrix: np.ndarray, rate: str) -> tuple[np.ndarray, np.ndarray]:
    """Numerator and denominator of ``rate`` per row (``favourable_rate``: predictions of 0)."""
    if rate == FAVOURABLE_RATE:
        selected, total = rate_counts(matrix, "selection_rate")
        return total - selected, total
    return rate_counts(matrix, rate)


@dataclass(frozen=True)
class Comparison:
    """One rate compared across the groups of every segment.

    ``estimate`` is the rate per row, NaN for groups that do not take part (``taking_part``
    false); ``trials`` the rate's denominator per row. Per segment: ``highest`` and ``lowest``
    are the rows of the groups with the highest and lowest rate among those taking part (the
    first by name on ties; -1 when fewer than two take part), ``smallest`` the smallest
    denominator among the groups taking part (among all groups when fewer than two do).
    """

    rate: str
    numerator: np.ndarray
    trials: np.ndarray
    estimate: np.ndarray
    taking_part: np.ndarray
    highest: np.ndarray
    lowest: np.ndarray
    smallest: np.ndarray


def compare(matrix: np.ndarray, rate: str, segments: Segments, min_group_size: int) -> Comparison:
    """The comparison of ``rate`` over the groups with at least ``min_group_size`` of evidence."""
    numerator, trials = compared_counts(matrix, rate)
    taking_part = trials >= max(min_group_size, 1)
    estimate = np.where(taking_part, divide(numerator, trials), np.nan)
    count = np.add.reduceat(taking_part.astype(np.int64), segments.starts)
    enough = count >= 2
    highest = _first_extreme(estimate, taking_part, segments, np.maximum, -np.inf)
    lowest = _first_extreme(estimate, taking_part, segments, np.minimum, np.inf)
    highest[~enough], lowest[~enough] = -1, -1
    largest = np.iinfo(np.int64).max
    smallest_taking_part = np.minimum.reduceat(
        np.where(taking_part, trials, largest), segments.starts
    )
    smallest = np.where(enough, smallest_taking_part, np.minimum.reduceat(trials, segments.starts))
    return Comparison(rate, numerator, trials, estimate, taking_part, highest, lowest, smallest)


def _first_extreme(
    estimate: np.ndarray,
    taking_part: np.ndarray,
    segments: Segments,
    reduce: np.ufunc,
    neutral: float,
) -> np.ndarray:
    """Per segment, the first row (by position) holding the segment's extreme; -1 if none."""
    masked = np.where(taking_part, estimate, neutral)
    extreme = reduce.reduceat(masked, segments.starts)
    rows = np.arange(estimate.shape[0])
    at_extreme = taking_part & (masked == extreme[segments.segment])
    first = np.minimum.reduceat(np.where(at_extreme, rows, estimate.shape[0]), segments.starts)
    return np.where(first < estimate.shape[0], first, -1)


def small_rows(comparisons: list[Comparison]) -> np.ndarray:
    """Rows left out of at least one of ``comparisons`` (a disparity's small groups)."""
    left_out = np.zeros(comparisons[0].taking_part.shape, dtype=bool)
    for comparison in comparisons:
        left_out |= ~comparison.taking_part
    return left_out
