"""fairlearn's ThresholdOptimizer on the same scores: the randomised optimum, as a reference.

fairlearn post-processes a fitted estimator; the file's scores become one through
:class:`fairwatch.mitigate.score_estimator.ScoreEstimator` (``prefit=True``,
``predict_method="predict_proba"``). It supports
``demographic_parity`` and ``true_positive_rate_parity`` with a tolerance (``tol``) and
``equalized_odds`` at exact parity only. Its solution is *randomised*: each group mixes two
thresholds (and, for equalized odds, a constant decision) with fixed probabilities, which a
decision system cannot explain to the person decided about. So fairwatch's thresholds come from
its own exact search (:mod:`monitor.engine.thresholds.search`), and fairlearn's solution is reported
beside them:

* **expected** figures: the randomised rule's expected accuracy, balanced accuracy and
  disparity on the file;
* **derandomised** thresholds: per group, the deterministic candidate whose operating point
  is nearest to the randomised rule's expected one (the selection rate for demographic parity,
  the TPR for TPR parity, the larger of the TPR and FPR distances for equalized odds; the
  fewest rows selected on ties), with their exact figures and whether they meet the tolerance.

fairlearn fits on the labeled rows of the searched groups (it needs a label on every row);
the other groups keep the baseline threshold, as in the search.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from monitor.engine.thresholds.candidates import Problem
from monitor.engine.thresholds.outcome import Outcome, outcome

FAIRLEARN_CONSTRAINT = {
    "demographic_parity": "demographic_parity",
    "equalized_odds": "equalized_odds",
    "equal_opportunity": "true_positive_rate_parity",
    "true_positive_rate_parity": "true_positive_rate_parity",
}
FAIRLEARN_OBJECTIVE = {"accuracy": "accuracy_score", "balanced_accuracy": "balanced_accuracy_score"}


@dataclass(frozen=True)
class Reference:
    """fairlearn's randomised solution and its derandomised thresholds (see the module)."""

    tolerance: float | None  # None: exact parity (equalized odds has no relaxed form)
    expected_objective: float
    expected_accuracy: float
    expected_balanced_accuracy: float
    expected_disparity: float | None
    derandomised: Outcome


def fairlearn_reference(
    problem: Problem,
    codes: np.ndarray,
    score: np.ndarray,
    label: np.ndarray,
    tolerance: float,
) -> Reference:
    """Fit ThresholdOptimizer on the rows of the searched groups and derandomise it."""
    from fairlearn.postprocessing import ThresholdOptimizer

    from fairwatch.mitigate.score_estimator import ScoreEstimator

    searched = problem.searched()
    names = np.array([group.name for group in problem.groups], dtype=object)
    fitted = searched[codes] & (label >= 0)
    relaxed = problem.constraint != "equalized_odds"
    optimizer = ThresholdOptimizer(
        estimator=ScoreEstimator(),
        constraints=FAIRLEARN_CONSTRAINT[problem.constraint],
        objective=FAIRLEARN_OBJECTIVE[problem.objective],
        prefit=True,
        predict_method="predict_proba",
        tol=tolerance if relaxed and tolerance > 0 else None,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        optimizer.fit(
            score[fitted].reshape(-1, 1),
            label[fitted].astype(np.int64),
            sensitive_features=names[codes[fitted]],
        )
    rules = optimizer.interpolated_thresholder_.interpolation_dict
    probability = np.asarray(score >= problem.baseline, dtype=np.float64)
    for position, group in enumerate(problem.groups):
        if searched[position] and group.name in rules:
            rows = codes == position
            probability[rows] = _positive_probability(rules[group.name], score[rows])
    return _summarise(problem, codes, label, probability, relaxed, tolerance)


def _positive_probability(rule: Any, score: np.ndarray) -> np.ndarray:
    """P(decision 1) of one group's randomised rule at each score."""
    mixed = rule.p0 * rule.operation0(score) + rule.p1 * rule.operation1(score)
    if "p_ignore" in rule:
        mixed = rule.p_ignore * rule.prediction_constant + (1 - rule.p_ignore) * mixed
    return np.asarray(mixed, dtype=np.float64)


def _summarise(
    problem: Problem,
    codes: np.ndarray,
    label: np.ndarray,
    probability: np.ndarray,
    relaxed: bool,
    tolerance: float,
) -> Reference:
    searched = problem.searched()
    expected: dict[str, list[float]] = {rate: [] for rate in ("selection_rate", "tpr", "fpr")}
    indices = problem.baseline_indices()
    for position, group in enumerate(problem.groups):
        rows = codes == position
        rates = {
            "selection_rate": _mean(probability[rows]),
            "tpr": _mean(probability[rows & (label == 1)]),
            "fpr": _mean(probability[rows & (label == 0)]),
        }
        for rate, value in rates.items():
            expected[rate].append(value)
        if searched[position]:
            distance = np.zeros(len(group.thresholds))
            for rate in problem.rates:
                distance = np.maximum(distance, np.abs(group.rate(rate) - rates[rate]))
            indices[position] = int(np.argmin(distance))
    labeled = label >= 0
    tp = float(probability[labeled & (label == 1)].sum())
    fp = float(probability[labeled & (label == 0)].sum())
    accuracy = (tp + problem.negatives - fp) / (problem.positives + problem.negatives)
    balanced = 0.5 * (tp / problem.positives + (problem.negatives - fp) / problem.negatives)
    return Reference(
        tolerance=tolerance if relaxed else None,
        expected_objective=accuracy if problem.objective == "accuracy" else balanced,
        expected_accuracy=accuracy,
        expected_balanced_accuracy=balanced,
        expected_disparity=_expected_gap(problem, expected),
        derandomised=outcome(problem, indices),
    )


def _mean(values: np.ndarray) -> float:
    return float(values.mean()) if values.size else float("nan")


def _expected_gap(problem: Problem, expected: dict[str, list[float]]) -> float | None:
    gaps = []
    for rate in problem.rates:
        values = [
            v for v, part in zip(expected[rate], problem.taking_part(rate), strict=True) if part
        ]
        if len(values) < 2:
            return None
        gaps.append(max(values) - min(values))
    return max(gaps)
