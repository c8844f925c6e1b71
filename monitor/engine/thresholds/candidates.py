"""Every deterministic decision a group can take, as cumulative counts over its sorted scores.

A group's decision rule is ``score >= t → 1``. Only the group's distinct scores matter as
thresholds: candidate ``k = 1 … m`` selects the rows whose score is at least the ``k``-th highest
distinct score ``v_k`` (its threshold is ``v_k``, the lowest score it still selects), candidate
``k = 0`` selects nobody (its threshold, :data:`SELECT_NONE`, lies above every score in [0, 1]).
Along ``k`` the counts of selected rows, true positives and false positives only grow, so the
selection rate, TPR and FPR are non-decreasing in ``k`` and the favourable rate (``1 −`` the
selection rate, when prediction 0 is favourable) and FNR non-increasing: the property the search
(:mod:`monitor.engine.thresholds.search`) relies on.

The candidates come from rows (:func:`group_candidates`, ``fairwatch mitigate``) or from a
window's score histograms (:func:`binned_candidates`, alert advice): then a candidate is a bin
edge, weighted by the bins' counts, and a threshold at an edge selects exactly the rows of the
bins above it, so its figures are exact.

Which groups a constraint compares follows the engine (:mod:`monitor.engine.evidence`): a group
takes part in a rate's comparison when the rate's denominator (rows for the selection rate,
labeled positives for TPR, labeled negatives for FPR) is at least ``min_group_size``. A group that
takes part in none of the constraint's rates keeps the baseline threshold: the engine cannot
judge it, so the search does not move it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

Aggregation = Literal["difference", "ratio"]

#: The rates each constraint equalises (within the tolerance), in the engine's names. The last
#: two serve alert advice (``fpr_ratio_to_reference``, ``false_negative_rate_difference``).
CONSTRAINT_RATES: Mapping[str, tuple[str, ...]] = {
    "demographic_parity": ("selection_rate",),
    "equalized_odds": ("tpr", "fpr"),
    "equal_opportunity": ("tpr",),
    "true_positive_rate_parity": ("tpr",),
    "false_positive_rate_parity": ("fpr",),
    "false_negative_rate_parity": ("fnr",),
}
#: The engine's disparity metric of each constraint (its difference is what the tolerance bounds).
CONSTRAINT_METRIC: Mapping[str, str] = {
    "demographic_parity": "demographic_parity_difference",
    "equalized_odds": "equalized_odds_difference",
    "equal_opportunity": "equal_opportunity_difference",
    "true_positive_rate_parity": "equal_opportunity_difference",
    "false_positive_rate_parity": "false_positive_rate_difference",
    "false_negative_rate_parity": "false_negative_rate_difference",
}
#: The constraints of ``fairwatch mitigate --constraint``.
CONSTRAINTS: tuple[str, ...] = (
    "demographic_parity",
    "equalized_odds",
    "equal_opportunity",
    "true_positive_rate_parity",
)
#: Rates that fall as the threshold falls (more rows selected): the others rise.
DESCENDING_RATES = frozenset({"favourable_rate", "fnr"})
OBJECTIVES: tuple[str, ...] = ("accuracy", "balanced_accuracy")
#: The threshold of "select nobody": the smallest float above 1, so above every valid score.
SELECT_NONE = float(np.nextafter(1.0, 2.0))


@dataclass(frozen=True)
class GroupCandidates:
    """The ``m + 1`` candidate decisions of one group (index 0: nobody selected).

    ``thresholds`` is :data:`SELECT_NONE` then the group's distinct scores in descending order;
    ``selected``, ``tp`` and ``fp`` are the rows, labeled positives and labeled negatives that
    candidate ``k`` selects (cumulative, starting at 0). ``n`` counts the group's rows,
    ``positives`` and ``negatives`` its labeled rows by label.
    """

    name: str
    thresholds: np.ndarray
    selected: np.ndarray
    tp: np.ndarray
    fp: np.ndarray
    n: int
    positives: int
    negatives: int

    def rate(self, name: str) -> np.ndarray:
        """``selection_rate``, ``tpr``, ``fpr``, ``favourable_rate`` (``n − selected`` over
        ``n``) or ``fnr`` of every candidate (float64, as the engine divides); all NaN when the
        denominator is 0."""
        numerator, denominator = {
            "selection_rate": (self.selected, self.n),
            "tpr": (self.tp, self.positives),
            "fpr": (self.fp, self.negatives),
            "favourable_rate": (self.n - self.selected, self.n),
            "fnr": (self.positives - self.tp, self.positives),
        }[name]
        if denominator == 0:
            return np.full(numerator.shape, np.nan)
        return np.asarray(numerator / denominator, dtype=np.float64)

    def denominator(self, rate: str) -> int:
        return {
            "selection_rate": self.n,
            "tpr": self.positives,
            "fpr": self.negatives,
            "favourable_rate": self.n,
            "fnr": self.positives,
        }[rate]

    def index_of(self, threshold: float) -> int:
        """The candidate that ``score >= threshold`` selects (same rows)."""
        # thresholds[1:] descend; candidate k selects the k distinct scores >= threshold
        return int(np.count_nonzero(self.thresholds[1:] >= threshold))


@dataclass(frozen=True)
class Problem:
    """What the search optimises: the groups' candidates, the constraint, the objective.

    ``positives`` and ``negatives`` count the labeled rows of every group (the objective is
    over all of them); ``baseline`` is the threshold of the groups that are not searched.
    ``aggregation`` says how the tolerance bounds the rates: ``difference`` (``max − min <=
    tolerance``, the default) or ``ratio`` (``min / max >= tolerance``, the four-fifths rule);
    a ratio of selection rates compares favourable rates when ``favourable`` is 0, as the
    engine does (:func:`monitor.engine.reference.compared_rate`).
    """

    groups: tuple[GroupCandidates, ...]
    constraint: str
    objective: str
    min_group_size: int
    baseline: float
    positives: int
    negatives: int
    aggregation: Aggregation = "difference"
    favourable: int = 1

    @property
    def rates(self) -> tuple[str, ...]:
        rates = CONSTRAINT_RATES[self.constraint]
        if self.aggregation == "ratio" and self.favourable == 0:
            return tuple("favourable_rate" if r == "selection_rate" else r for r in rates)
        return rates

    @property
    def metric(self) -> str:
        name = CONSTRAINT_METRIC[self.constraint]
        return name if self.aggregation == "difference" else name.replace("_difference", "_ratio")

    def taking_part(self, rate: str) -> np.ndarray:
        """Per group: whether it takes part in ``rate``'s comparison (the engine's rule)."""
        least = max(self.min_group_size, 1)
        return np.array([group.denominator(rate) >= least for group in self.groups], dtype=bool)

    def searched(self) -> np.ndarray:
        """Per group: whether the search chooses its threshold (it takes part in a rate)."""
        result = np.zeros(len(self.groups), dtype=bool)
        for rate in self.rates:
            result |= self.taking_part(rate)
        return result

    def values(self, group: GroupCandidates) -> np.ndarray:
        """The objective's exact integer score of each candidate of ``group``: the sum over
        groups is ``accuracy · L − (negatives)`` (``tp − fp``) or, for balanced accuracy,
        ``2·P·N · balanced_accuracy − P·N`` (``tp·N − fp·P``): maximising it maximises the
        objective, in integers, so ties are exact."""
        if self.objective == "accuracy":
            return group.tp - group.fp
        return group.tp * self.negatives - group.fp * self.positives

    def baseline_indices(self) -> np.ndarray:
        return np.array([group.index_of(self.baseline) for group in self.groups], dtype=np.int64)


def group_candidates(
    codes: np.ndarray, names: Sequence[str], score: np.ndarray, label: np.ndarray
) -> tuple[GroupCandidates, ...]:
    """Each group's candidates, from per-row group codes, scores and labels (1, 0 or -1 for
    unlabeled). One sort of all rows (group, then score descending): O(n log n)."""
    order = np.lexsort((-score, codes))
    sorted_codes, sorted_scores, sorted_labels = codes[order], score[order], label[order]
    positive = np.cumsum(sorted_labels == 1, dtype=np.int64)
    negative = np.cumsum(sorted_labels == 0, dtype=np.int64)
    starts = np.searchsorted(sorted_codes, np.arange(len(names)), side="left")
    ends = np.searchsorted(sorted_codes, np.arange(len(names)), side="right")
    result = []
    for index, name in enumerate(names):
        start, end = int(starts[index]), int(ends[index])
        scores = sorted_scores[start:end]
        # the last row of each run of equal scores closes a candidate
        last = np.flatnonzero(np.append(scores[1:] != scores[:-1], True)) + start
        before_p = positive[start - 1] if start else 0
        before_n = negative[start - 1] if start else 0
        tp = np.concatenate(([0], positive[last] - before_p))
        fp = np.concatenate(([0], negative[last] - before_n))
        result.append(
            GroupCandidates(
                name=name,
                thresholds=np.concatenate(([SELECT_NONE], sorted_scores[last])),
                selected=np.concatenate(([0], last - start + 1)).astype(np.int64),
                tp=tp.astype(np.int64),
                fp=fp.astype(np.int64),
                n=end - start,
                positives=int(tp[-1]),
                negatives=int(fp[-1]),
            )
        )
    return tuple(result)


def binned_candidates(
    name: str,
    edges: np.ndarray,
    predictions: Sequence[int],
    negatives: Sequence[int],
    positives: Sequence[int],
) -> GroupCandidates:
    """A group's candidates from its score histograms: per bin ``b`` (scores in ``[edges[b],
    edges[b + 1])``) its scored predictions, labeled negatives and labeled positives. The
    candidates are the lower edges of the non-empty bins, highest first (a weighted candidate:
    threshold ``edges[b]`` selects the rows of bins ``b`` and up), after :data:`SELECT_NONE`;
    ``n``, ``positives`` and ``negatives`` are the histograms' totals."""
    predicted = np.asarray(predictions, dtype=np.int64)[::-1]
    negative = np.asarray(negatives, dtype=np.int64)[::-1]
    positive = np.asarray(positives, dtype=np.int64)[::-1]
    lower = np.asarray(edges, dtype=np.float64)[:-1][::-1]
    filled = (predicted > 0) | (negative > 0) | (positive > 0)
    selected = np.cumsum(predicted)[filled]
    tp = np.cumsum(positive)[filled]
    fp = np.cumsum(negative)[filled]
    return GroupCandidates(
        name=name,
        thresholds=np.concatenate(([SELECT_NONE], lower[filled])),
        selected=np.concatenate(([0], selected)).astype(np.int64),
        tp=np.concatenate(([0], tp)).astype(np.int64),
        fp=np.concatenate(([0], fp)).astype(np.int64),
        n=int(predicted.sum()),
        positives=int(positive.sum()),
        negatives=int(negative.sum()),
    )


def fixed_candidate(
    name: str, n: int, selected: int, tp: int, fp: int, positives: int, negatives: int
) -> GroupCandidates:
    """A group that keeps its decisions: one candidate, the counts it has (threshold
    :data:`SELECT_NONE`, never reported: the group is not searched)."""
    return GroupCandidates(
        name=name,
        thresholds=np.array([SELECT_NONE]),
        selected=np.array([selected], dtype=np.int64),
        tp=np.array([tp], dtype=np.int64),
        fp=np.array([fp], dtype=np.int64),
        n=n,
        positives=positives,
        negatives=negatives,
    )
