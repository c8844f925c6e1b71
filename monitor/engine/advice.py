"""Threshold advice: per-group decision thresholds that bring a window's disparity within a target.

When an alert fires on a disparity of decisions (selection rates, TPR, FPR, FNR; differences,
ratios and the four-fifths rule), :func:`advise` answers "which thresholds, per group, would have
brought this window within the rule's clear threshold, at what accuracy?" from the window's score
histograms (:class:`monitor.engine.results.ScoreHistogram`), with the exact search of
``fairwatch mitigate`` (:mod:`monitor.engine.thresholds`): the candidates are the bin edges, each
weighted by its bins' counts, and the objective is the accuracy over the attribute's labeled rows.

The after-figures are exact for the window's rows: a threshold at a bin edge selects exactly the
rows of the bins above it, so the counts after the change are sums of bins; they are evaluated
by the engine itself (:func:`monitor.engine.evaluate.evaluate`) with the window's configuration,
so the value, interval and status are what the engine would have reported. Groups that take
part in none of the metric's comparisons (too few rows) keep their decisions. Nothing here
applies the thresholds: the advice is information for whoever runs the model.

:func:`advise` returns :class:`Declined` with a reason when it cannot advise: a metric a
threshold does not move (PPV, accuracy, calibration), a window whose compared groups lack
scores for some rows, or without labeled rows (no accuracy to weigh the change against).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from monitor.engine.config import EngineConfig
from monitor.engine.counts import GroupCounts
from monitor.engine.counts.layout import bin_edges
from monitor.engine.disparities import REFERENCE_SUFFIX
from monitor.engine.evaluate import evaluate
from monitor.engine.results import Disparity, GroupResult, WindowEvaluation
from monitor.engine.thresholds.candidates import (
    SELECT_NONE,
    Aggregation,
    GroupCandidates,
    Problem,
    binned_candidates,
    fixed_candidate,
)
from monitor.engine.thresholds.search import search

Op = Literal[">", ">=", "<", "<="]

#: Metric → (constraint of the search, aggregation): the disparities a threshold moves.
ADVISED_METRICS: Mapping[str, tuple[str, Aggregation]] = {
    "demographic_parity_difference": ("demographic_parity", "difference"),
    "demographic_parity_ratio": ("demographic_parity", "ratio"),
    "equalized_odds_difference": ("equalized_odds", "difference"),
    "equalized_odds_ratio": ("equalized_odds", "ratio"),
    "equal_opportunity_difference": ("equal_opportunity", "difference"),
    "equal_opportunity_ratio": ("equal_opportunity", "ratio"),
    "false_negative_rate_difference": ("false_negative_rate_parity", "difference"),
    "selection_rate" + REFERENCE_SUFFIX: ("demographic_parity", "ratio"),
    "tpr" + REFERENCE_SUFFIX: ("equal_opportunity", "ratio"),
    "fpr" + REFERENCE_SUFFIX: ("false_positive_rate_parity", "ratio"),
}
DECISION_RULE = "score >= threshold"


@dataclass(frozen=True)
class Target:
    """Where the metric must be for the alert to clear: ``value op bound`` (e.g. ``<= 0.08`` for
    a difference, ``>= 0.8`` for a ratio)."""

    op: Op
    bound: float

    def met(self, value: float | None) -> bool:
        if value is None:
            return False
        return {
            ">": value > self.bound,
            ">=": value >= self.bound,
            "<": value < self.bound,
            "<=": value <= self.bound,
        }[self.op]


@dataclass(frozen=True)
class GroupAdvice:
    """One group's threshold (``None``: it keeps its decisions, too few rows to compare) and its
    compared rates before and after (``None`` when undefined)."""

    group: str
    threshold: float | None
    n: int
    before: dict[str, float | None]
    after: dict[str, float | None]


@dataclass(frozen=True)
class Figures:
    """The metric (value, interval, status as the engine judges it) and the accuracy over the
    attribute's labeled rows."""

    value: float | None
    ci: tuple[float, float] | None
    status: str
    accuracy: float


@dataclass(frozen=True)
class Advice:
    """Thresholds for every group of ``attribute`` and what they give on the window's rows."""

    attribute: str
    metric: str
    group: str | None
    target: Target
    score_bins: int
    groups: tuple[GroupAdvice, ...]
    before: Figures
    after: Figures

    @property
    def meets_target(self) -> bool:
        return self.target.met(self.after.value)

    @property
    def thresholds(self) -> dict[str, float | None]:
        return {advice.group: advice.threshold for advice in self.groups}


@dataclass(frozen=True)
class Declined:
    """No advice, and why."""

    reason: str


def advisable(metric: str) -> bool:
    """Whether a threshold moves ``metric`` (advice can be computed for it)."""
    return metric in ADVISED_METRICS


def has_scores(evaluation: WindowEvaluation, attribute: str) -> bool:
    """Whether any group of ``attribute`` has scores in the window (a model with scores)."""
    return any(
        group.score_histogram is not None
        for group in evaluation.groups
        if group.attribute == attribute
    )


def advise(
    evaluation: WindowEvaluation,
    attribute: str,
    metric: str,
    target: Target,
    config: EngineConfig,
    group: str | None = None,
) -> Advice | Declined:
    """Per-group thresholds that bring ``metric`` of ``attribute`` (of ``group``, for a ratio to
    the reference group) in ``evaluation`` to ``target``, at the best accuracy."""
    if metric not in ADVISED_METRICS:
        return Declined(f"{metric} is not moved by decision thresholds")
    constraint, aggregation = ADVISED_METRICS[metric]
    tolerance = _tolerance(target, aggregation)
    if tolerance is None:
        return Declined(f"the target {target.op} {target.bound:g} cannot be advised for {metric}")
    results = sorted(
        (result for result in evaluation.groups if result.attribute == attribute),
        key=lambda result: result.group,
    )
    problem = Problem(
        groups=(),
        constraint=constraint,
        objective="accuracy",
        min_group_size=config.min_group_size,
        baseline=SELECT_NONE,
        positives=sum(result.tp + result.fn for result in results),
        negatives=sum(result.fp + result.tn for result in results),
        aggregation=aggregation,
        favourable=config.favourable(evaluation.model_id),
    )
    if problem.positives + problem.negatives == 0:
        return Declined("the window has no labeled rows: no accuracy to weigh a change against")
    candidates = _candidates(results, problem)
    if isinstance(candidates, Declined):
        return candidates
    problem = replace(problem, groups=candidates)
    found = search(problem, tolerance)
    searched = problem.searched().tolist()
    after_counts = {
        (attribute, result.group): _counts_after(result, candidate, index)
        for result, candidate, index in zip(results, candidates, found.indices, strict=True)
    }
    # the window's own configuration: the intervals are drawn as for the window itself
    evaluated = evaluate(
        evaluation.model_id,
        evaluation.window,
        evaluation.window_start,
        evaluation.window_end,
        after_counts,
        config,
    )
    before = _disparity(evaluation.disparities, attribute, metric, group)
    after = _disparity(evaluated.disparities, attribute, metric, group)
    return Advice(
        attribute=attribute,
        metric=metric,
        group=group,
        target=target,
        score_bins=_bins(results),
        groups=tuple(
            _group_advice(result, candidate, index, flag, problem.rates)
            for result, candidate, index, flag in zip(
                results, candidates, found.indices, searched, strict=True
            )
        ),
        before=_figures(before, _accuracy(results)),
        after=_figures(after, found.accuracy),
    )


def _tolerance(target: Target, aggregation: Aggregation) -> float | None:
    """The search's tolerance for ``target``: a strict bound becomes the next float inside."""
    bound = target.bound
    if aggregation == "difference":
        if target.op not in ("<", "<="):
            return None
        tolerance = bound if target.op == "<=" else float(np.nextafter(bound, -np.inf))
        return tolerance if tolerance >= 0 else None
    if target.op not in (">", ">="):
        return None
    tolerance = bound if target.op == ">=" else float(np.nextafter(bound, np.inf))
    return tolerance if 0 < tolerance <= 1 else None


def _taking_part(result: GroupResult, problem: Problem) -> bool:
    denominators = {
        "selection_rate": result.n,
        "favourable_rate": result.n,
        "tpr": result.tp + result.fn,
        "fnr": result.tp + result.fn,
        "fpr": result.fp + result.tn,
    }
    least = max(problem.min_group_size, 1)
    return any(denominators[rate] >= least for rate in problem.rates)


def _candidates(
    results: Sequence[GroupResult], problem: Problem
) -> tuple[GroupCandidates, ...] | Declined:
    """Binned candidates for the groups the search moves (their every row scored), the counts
    they have for the others."""
    candidates = []
    for result in results:
        positives, negatives = result.tp + result.fn, result.fp + result.tn
        if not _taking_part(result, problem):
            kept = fixed_candidate(
                result.group, result.n, result.predicted_positive, result.tp, result.fp,
                positives, negatives,
            )  # fmt: skip
            candidates.append(kept)
            continue
        histogram = result.score_histogram
        if histogram is None:
            return Declined(f"group {result.group} has no scores in the window")
        scored = (sum(histogram.predictions), sum(histogram.positives), sum(histogram.negatives))
        if scored != (result.n, positives, negatives):
            return Declined(
                f"group {result.group} has rows without a score in the window "
                f"({scored[0]} of {result.n} predictions scored, {scored[1] + scored[2]} of "
                f"{positives + negatives} labeled rows): thresholds cannot decide them"
            )
        edges = bin_edges(histogram.bins)
        binned = binned_candidates(
            result.group, edges, histogram.predictions, histogram.negatives, histogram.positives
        )
        candidates.append(binned)
    return tuple(candidates)


def _counts_after(result: GroupResult, candidate: GroupCandidates, index: int) -> GroupCounts:
    selected, tp, fp = (int(candidate.selected[index]), int(candidate.tp[index]),
                        int(candidate.fp[index]))  # fmt: skip
    positives, negatives = candidate.positives, candidate.negatives
    return GroupCounts(result.n, selected, tp, fp, negatives - fp, positives - tp)


def _disparity(
    disparities: Sequence[Disparity], attribute: str, metric: str, group: str | None
) -> Disparity | None:
    return next(
        (
            disparity
            for disparity in disparities
            if disparity.attribute == attribute
            and disparity.metric == metric
            and disparity.group == group
        ),
        None,
    )


def _figures(disparity: Disparity | None, accuracy: float) -> Figures:
    if disparity is None:
        return Figures(None, None, "not_computable", accuracy)
    ci = None
    if disparity.ci_low is not None and disparity.ci_high is not None:
        ci = (disparity.ci_low, disparity.ci_high)
    return Figures(disparity.value, ci, disparity.status, accuracy)


def _accuracy(results: Sequence[GroupResult]) -> float:
    correct = sum(result.tp + result.tn for result in results)
    return correct / sum(result.n_labeled for result in results)


def _bins(results: Sequence[GroupResult]) -> int:
    return next((result.score_histogram.bins for result in results if result.score_histogram), 0)


def _group_advice(
    result: GroupResult,
    candidate: GroupCandidates,
    index: int,
    searched: bool,
    rates: Sequence[str],
) -> GroupAdvice:
    before = {rate: _rate_before(result, rate) for rate in rates}
    after = {rate: _value(candidate.rate(rate)[index]) for rate in rates}
    return GroupAdvice(
        group=result.group,
        threshold=float(candidate.thresholds[index]) if searched else None,
        n=result.n,
        before=before,
        after=after if searched else dict(before),
    )


def _rate_before(result: GroupResult, rate: str) -> float | None:
    if rate == "favourable_rate":
        return (result.n - result.predicted_positive) / result.n if result.n else None
    return result.rates.get(rate)


def _value(value: float) -> float | None:
    return None if value != value else float(value)


__all__ = [
    "ADVISED_METRICS",
    "DECISION_RULE",
    "Advice",
    "Declined",
    "Figures",
    "GroupAdvice",
    "Target",
    "advisable",
    "advise",
    "has_scores",
]
