"""What a choice of candidates gives: objective, accuracy, balanced accuracy and the disparity.

The disparity is the engine's for the constraint (:mod:`monitor.engine.disparities`): per rate,
``max − min`` (or, for a ratio, ``min / max``) over the groups taking part in its comparison, the
worst case over the constraint's rates, undefined (``None``) when fewer than two groups take part
in a rate (or, for a ratio, the largest rate is 0). The same float operations as the engine
(rates divided in float64, one subtraction or division), so a disparity found here within the
tolerance is within it when the engine recomputes it from the counts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from monitor.engine.thresholds.candidates import Problem


@dataclass(frozen=True)
class Outcome:
    """The figures of one choice: ``indices[g]`` is group ``g``'s candidate, ``thresholds[g]``
    its threshold; ``value`` the objective's exact integer score (higher is better)."""

    indices: tuple[int, ...]
    thresholds: tuple[float, ...]
    value: int
    objective: float
    accuracy: float
    balanced_accuracy: float
    disparity: float | None


def rate_gap(problem: Problem, indices: np.ndarray, rate: str) -> float | None:
    """``max − min`` (``min / max`` for a ratio) of ``rate`` over the groups taking part in its
    comparison; None if fewer than two take part (or the largest rate of a ratio is 0)."""
    taking_part = problem.taking_part(rate)
    values = [
        float(group.rate(rate)[index])
        for group, index, part in zip(problem.groups, indices.tolist(), taking_part, strict=True)
        if part
    ]
    if len(values) < 2:
        return None
    if problem.aggregation == "ratio":
        return None if max(values) == 0 else min(values) / max(values)
    return max(values) - min(values)


def disparity(problem: Problem, indices: np.ndarray) -> float | None:
    """The constraint's disparity of a choice (the engine's value for its metric)."""
    gaps = [rate_gap(problem, indices, rate) for rate in problem.rates]
    if any(gap is None for gap in gaps):
        return None
    known = [gap for gap in gaps if gap is not None]
    return min(known) if problem.aggregation == "ratio" else max(known)


def comparable(problem: Problem) -> bool:
    """Whether at least two groups take part in each of the constraint's rates (else no choice
    has a disparity)."""
    return all(int(problem.taking_part(rate).sum()) >= 2 for rate in problem.rates)


def meets(problem: Problem, value: float, tolerance: float) -> bool:
    """Whether a disparity is within the tolerance: at most it for a difference, at least it
    for a ratio."""
    return value >= tolerance if problem.aggregation == "ratio" else value <= tolerance


def outcome(problem: Problem, indices: np.ndarray) -> Outcome:
    """The figures of choosing candidate ``indices[g]`` in each group ``g``. A group whose
    candidate selects the rows the baseline selects (every group the search does not move, among
    others) reports the baseline threshold itself."""
    chosen = [int(index) for index in indices]
    tp = sum(int(group.tp[k]) for group, k in zip(problem.groups, chosen, strict=True))
    fp = sum(int(group.fp[k]) for group, k in zip(problem.groups, chosen, strict=True))
    positives, negatives = problem.positives, problem.negatives
    tn = negatives - fp
    accuracy = (tp + tn) / (positives + negatives)
    balanced = 0.5 * (tp / positives + tn / negatives)
    value = sum(
        int(problem.values(group)[k]) for group, k in zip(problem.groups, chosen, strict=True)
    )
    return Outcome(
        indices=tuple(chosen),
        thresholds=tuple(
            problem.baseline if k == at_baseline else float(group.thresholds[k])
            for group, k, at_baseline in zip(
                problem.groups, chosen, problem.baseline_indices().tolist(), strict=True
            )
        ),
        value=value,
        objective=accuracy if problem.objective == "accuracy" else balanced,
        accuracy=accuracy,
        balanced_accuracy=balanced,
        disparity=disparity(problem, np.asarray(chosen)),
    )
