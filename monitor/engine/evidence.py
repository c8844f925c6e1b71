"""Which groups a rate is compared across, and which of them are the extremes.

A group takes part in the comparison of a rate when it has enough data *for that rate*: the
rate's denominator (predictions for the selection rate, labeled positives for TPR and FNR,
labeled negatives for FPR and TNR, labeled predicted positives for PPV, labeled predicted
negatives for NPV, labeled rows for accuracy) is at least ``min_group_size``, and above zero (an
undefined rate never takes part). The other groups are the comparison's *small* groups: reported
with their own rates, left out of the disparity — they never silence it while two groups remain.

Like :mod:`monitor.engine.disparity_intervals`, everything works on *segments*: the groups of
several attributes stacked in one array, one contiguous run of rows per attribute.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from monitor.engine.disparity_intervals import Segments
from monitor.engine.rates import divide, rate_counts

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


def compare(
    matrix: np.ndarray, rates: list[str], segments: Segments, min_group_size: int
) -> dict[str, Comparison]:
    """The comparison of each of ``rates`` over the groups with at least ``min_group_size`` of
    evidence for it (all rates in one pass: rates × rows arrays)."""
    counts = [compared_counts(matrix, rate) for rate in rates]
    numerators = np.stack([numerator for numerator, _trials in counts])
    trials = np.stack([denominator for _numerator, denominator in counts])
    taking_part = trials >= max(min_group_size, 1)
    estimates = np.where(taking_part, divide(numerators, trials), np.nan)
    starts = segments.starts
    enough = np.add.reduceat(taking_part.astype(np.int64), starts, axis=1) >= 2
    highest = _first_extreme(estimates, taking_part, segments, np.maximum, -np.inf)
    lowest = _first_extreme(estimates, taking_part, segments, np.minimum, np.inf)
    highest[~enough], lowest[~enough] = -1, -1
    largest = np.iinfo(np.int64).max
    smallest_taking_part = np.minimum.reduceat(
        np.where(taking_part, trials, largest), starts, axis=1
    )
    smallest = np.where(enough, smallest_taking_part, np.minimum.reduceat(trials, starts, axis=1))
    return {
        rate: Comparison(
            rate,
            numerators[index],
            trials[index],
            estimates[index],
            taking_part[index],
            highest[index],
            lowest[index],
            smallest[index],
        )
        for index, rate in enumerate(rates)
    }


def _first_extreme(
    estimates: np.ndarray,
    taking_part: np.ndarray,
    segments: Segments,
    reduce: np.ufunc,
    neutral: float,
) -> np.ndarray:
    """Per rate and segment, the first row (by position) holding the extreme; -1 if none."""
    masked = np.where(taking_part, estimates, neutral)
    extreme = reduce.reduceat(masked, segments.starts, axis=1)
    size = estimates.shape[1]
    at_extreme = taking_part & (masked == extreme[:, segments.segment])
    rows = np.where(at_extreme, np.arange(size), size)
    first = np.minimum.reduceat(rows, segments.starts, axis=1)
    return np.where(first < size, first, -1)


def small_rows(comparisons: list[Comparison]) -> np.ndarray:
    """Rows left out of at least one of ``comparisons`` (a disparity's small groups)."""
    left_out = np.zeros(comparisons[0].taking_part.shape, dtype=bool)
    for comparison in comparisons:
        left_out |= ~comparison.taking_part
    return left_out
