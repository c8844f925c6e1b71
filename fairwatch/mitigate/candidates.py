"""Every deterministic decision a group can take, as cumulative counts over its sorted scores.

A group's decision rule is ``score >= t → 1``. Only the group's distinct scores matter as
thresholds: candidate ``k = 1 … m`` selects the rows whose score is at least the ``k``-th highest
distinct score ``v_k`` (its threshold is ``v_k``, the lowest score it still selects), candidate
``k = 0`` selects nobody (its threshold, :data:`SELECT_NONE`, lies above every score in [0, 1]).
Along ``k`` the counts of selected rows, true positives and false positives only grow, so every
rate of the constraints (selection rate, TPR, FPR) is non-decreasing in ``k``: the property the
search (:mod:`fairwatch.mitigate.search`) relies on.

Which groups a constraint compares follows the engine (:mod:`monitor.engine.evidence`): a group
takes part in a rate's comparison when the rate's denominator (rows for the selection rate,
labeled positives for TPR, labeled negatives for FPR) is at least ``min_group_size``. A group that
takes part in none of the constraint's rates keeps the baseline threshold: the engine cannot
judge it, so the search does not move it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

#: The rates each constraint equalises (within the tolerance), in the engine's names.
CONSTRAINT_RATES: Mapping[str, tuple[str, ...]] = {
    "demographic_parity": ("selection_rate",),
    "equalized_odds": ("tpr", "fpr"),
    "equal_opportunity": ("tpr",),
    "true_positive_rate_parity": ("tpr",),
}
#: The engine's disparity metric of each constraint (its difference is what the tolerance bounds).
CONSTRAINT_METRIC: Mapping[str, str] = {
    "demographic_parity": "demographic_parity_difference",
    "equalized_odds": "equalized_odds_difference",
    "equal_opportunity": "equal_opportunity_difference",
    "true_positive_rate_parity": "equal_opportunity_difference",
}
CONSTRAINTS: tuple[str, ...] = tuple(CONSTRAINT_RATES)
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
        """``selection_rate``, ``tpr`` or ``fpr`` of every candidate (float64, as the engine
        divides); all NaN when the denominator is 0."""
        numerator, denominator = {
            "selection_rate": (self.selected, self.n),
            "tpr": (self.tp, self.positives),
            "fpr": (self.fp, self.negatives),
        }[name]
        if denominator == 0:
            return np.full(numerator.shape, np.nan)
        return np.asarray(numerator / denominator, dtype=np.float64)

    def denominator(self, rate: str) -> int:
        return {"selection_rate": self.n, "tpr": self.positives, "fpr": self.negatives}[rate]

    def index_of(self, threshold: float) -> int:
        """The candidate that ``score >= threshold`` selects (same rows)."""
        # thresholds[1:] descend; candidate k selects the k distinct scores >= threshold
        return int(np.count_nonzero(self.thresholds[1:] >= threshold))


@dataclass(frozen=True)
class Problem:
    """What the search optimises: the groups' candidates, the constraint, the objective.

    ``positives`` and ``negatives`` count the labeled rows of every group (the objective is
    over all of them); ``baseline`` is the threshold of the groups that are not searched.
    """

    groups: tuple[GroupCandidates, ...]
    constraint: str
    objective: str
    min_group_size: int
    baseline: float
    positives: int
    negatives: int

    @property
    def rates(self) -> tuple[str, ...]:
        return CONSTRAINT_RATES[self.constraint]

    @property
    def metric(self) -> str:
        return CONSTRAINT_METRIC[self.constraint]

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
