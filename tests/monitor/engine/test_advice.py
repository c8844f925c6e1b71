"""Threshold advice on a breached window: applied to the window's histogram and to its rows, the
advised thresholds give the advised figures, recomputed by the engine, within the target."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from monitor.engine.advice import Advice, Declined, Target, advise, has_scores
from monitor.engine.config import EngineConfig
from monitor.engine.counts import GroupCounts, bin_edges
from monitor.engine.evaluate import evaluate
from monitor.engine.results import Disparity, WindowEvaluation
from tests.monitor.engine.advice_windows import GROUPS, recount, scored_rows, window_of

CONFIG = EngineConfig(reference_rates=("selection_rate", "tpr", "fpr"), bootstrap_samples=200)

# (metric, group of a ratio to the reference, target, favourable prediction); with prediction 0
# favourable, group B is the most favoured (the reference) and A's favourable rate the lowest
CASES = [
    ("demographic_parity_difference", None, Target("<=", 0.08), 1),
    ("demographic_parity_difference", None, Target("<=", 0.08), 0),
    ("demographic_parity_ratio", None, Target(">=", 0.85), 1),
    ("demographic_parity_ratio", None, Target(">=", 0.85), 0),
    ("equalized_odds_difference", None, Target("<=", 0.05), 1),
    ("equalized_odds_ratio", None, Target(">=", 0.8), 1),
    ("equal_opportunity_difference", None, Target("<", 0.03), 1),
    ("equal_opportunity_ratio", None, Target(">=", 0.95), 1),
    ("false_negative_rate_difference", None, Target("<=", 0.02), 1),
    ("selection_rate_ratio_to_reference", "B", Target(">=", 0.9), 1),
    ("selection_rate_ratio_to_reference", "A", Target(">", 0.8), 0),
    ("tpr_ratio_to_reference", "B", Target(">", 0.9), 1),
    ("fpr_ratio_to_reference", "B", Target(">=", 0.8), 1),
]


def disparity_of(evaluation: WindowEvaluation, metric: str, group: str | None) -> Disparity:
    (found,) = [d for d in evaluation.disparities if d.metric == metric and d.group == group]
    return found


def from_histograms(
    evaluation: WindowEvaluation, thresholds: dict[str, float | None], config: EngineConfig
) -> WindowEvaluation:
    """The window re-evaluated by the engine with each group's counts after its threshold,
    summed from its histogram bins at and above the threshold's edge (a group without a
    threshold keeps its counts)."""
    counts = {}
    for result in evaluation.groups:
        threshold = thresholds[result.group]
        if threshold is None:
            counts[(result.attribute, result.group)] = GroupCounts(
                result.n, result.predicted_positive, result.tp, result.fp, result.tn, result.fn
            )
            continue
        histogram = result.score_histogram
        assert histogram is not None
        first = int(np.searchsorted(bin_edges(histogram.bins), threshold, side="left"))
        selected = sum(histogram.predictions[first:])
        tp, fp = sum(histogram.positives[first:]), sum(histogram.negatives[first:])
        positives, negatives = sum(histogram.positives), sum(histogram.negatives)
        counts[(result.attribute, result.group)] = GroupCounts(
            result.n, selected, tp, fp, negatives - fp, positives - tp
        )
    return evaluate(evaluation.model_id, "1h", 0.0, 3600.0, counts, config)


def labeled_accuracy(evaluation: WindowEvaluation) -> float:
    correct = sum(group.tp + group.tn for group in evaluation.groups)
    return correct / sum(group.n_labeled for group in evaluation.groups)


@pytest.mark.parametrize(("metric", "group", "target", "favourable"), CASES)
def test_the_advice_brings_the_breached_window_within_the_target(
    metric: str, group: str | None, target: Target, favourable: int
) -> None:
    config = replace(CONFIG, favourable_prediction=favourable)
    rows = scored_rows()
    window = window_of(rows, config)
    before = disparity_of(window, metric, group)
    assert before.value is not None and not target.met(before.value), "the window must breach"

    advice = advise(window, "group", metric, target, config, group=group)

    assert isinstance(advice, Advice), advice
    assert advice.meets_target
    assert advice.before.value == before.value and advice.before.status == before.status
    assert advice.before.accuracy == labeled_accuracy(window)
    thresholds = advice.thresholds
    edges = set(bin_edges(config.score_bins).tolist())
    assert thresholds["C"] is None  # too few rows to compare: keeps its decisions
    assert {thresholds["A"], thresholds["B"]} <= edges
    # the engine, on the same histograms: the advised figures, within the target
    on_histograms = from_histograms(window, thresholds, config)
    value = disparity_of(on_histograms, metric, group).value
    assert value == advice.after.value and target.met(value)
    assert labeled_accuracy(on_histograms) == advice.after.accuracy
    # the thresholds applied to the rows themselves: the same, exactly (they are bin edges)
    on_rows = recount(rows, thresholds, config)
    assert disparity_of(on_rows, metric, group).value == advice.after.value
    assert labeled_accuracy(on_rows) == advice.after.accuracy
    expected = disparity_of(on_rows, metric, group)
    assert advice.after.ci == (expected.ci_low, expected.ci_high)
    assert advice.after.status == expected.status


def test_each_group_is_reported_with_its_rates_before_and_after() -> None:
    rows = scored_rows()
    window = window_of(rows, CONFIG)
    advice = advise(window, "group", "equalized_odds_difference", Target("<=", 0.05), CONFIG)
    assert isinstance(advice, Advice)
    assert [g.group for g in advice.groups] == list(GROUPS)
    assert advice.score_bins == CONFIG.score_bins
    after = recount(rows, advice.thresholds, CONFIG)
    for item in advice.groups:
        (result,) = [g for g in window.groups if g.group == item.group]
        (changed,) = [g for g in after.groups if g.group == item.group]
        assert item.n == result.n
        assert set(item.before) == set(item.after) == {"tpr", "fpr"}
        for rate in ("tpr", "fpr"):
            assert item.before[rate] == result.rates[rate]
            assert item.after[rate] == changed.rates[rate]


def test_a_tighter_target_costs_accuracy_a_looser_one_keeps_more() -> None:
    window = window_of(scored_rows(), CONFIG)
    tight = advise(window, "group", "demographic_parity_difference", Target("<=", 0.01), CONFIG)
    loose = advise(window, "group", "demographic_parity_difference", Target("<=", 0.2), CONFIG)
    assert isinstance(tight, Advice) and isinstance(loose, Advice)
    assert tight.after.value is not None and loose.after.value is not None
    assert tight.after.value <= 0.01 < loose.after.value <= 0.2
    assert tight.after.accuracy <= loose.after.accuracy


def test_finer_bins_advise_at_least_as_well() -> None:
    """10 bins (thresholds in steps of 0.1) against 50 on the same rows: the finer histogram's
    search has every coarse edge among its candidates."""
    rows = scored_rows(seed=4)
    found = {}
    for bins in (10, 50):
        config = replace(CONFIG, score_bins=bins)
        advice = advise(
            window_of(rows, config), "group", "demographic_parity_difference",
            Target("<=", 0.03), config,
        )  # fmt: skip
        assert isinstance(advice, Advice) and advice.meets_target
        found[bins] = advice.after.accuracy
    assert found[50] >= found[10]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ("ppv", "not moved by decision thresholds"),
        ("unscored", "rows without a score"),
        ("unlabeled", "no labeled rows"),
        ("target", "cannot be advised"),
    ],
)
def test_advice_is_declined_with_a_reason(change: str, reason: str) -> None:
    rows = scored_rows()
    metric, target = "demographic_parity_difference", Target("<=", 0.08)
    if change == "ppv":
        metric = "predictive_parity_difference"
    elif change == "unscored":
        score = rows.score.copy()
        score[np.flatnonzero(rows.codes == 1)[:5]] = np.nan
        rows = replace(rows, score=score)
    elif change == "unlabeled":
        rows = replace(rows, label=np.full(rows.label.shape, -1, dtype=np.int8))
    else:
        target = Target(">=", 0.08)  # a difference cannot be held above a bound
    window = window_of(rows, CONFIG)
    declined = advise(window, "group", metric, target, CONFIG)
    assert isinstance(declined, Declined)
    assert reason in declined.reason


def test_a_model_without_scores_has_no_histograms() -> None:
    window = window_of(scored_rows(), CONFIG)
    assert has_scores(window, "group")
    plain = {
        ("group", g.group): GroupCounts(g.n, g.predicted_positive, g.tp, g.fp, g.tn, g.fn)
        for g in window.groups
    }
    unscored = evaluate("m", "1h", 0.0, 3600.0, plain, CONFIG)
    assert not has_scores(unscored, "group")
    assert all(group.score_histogram is None for group in unscored.groups)
