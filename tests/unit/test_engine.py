"""The engine's contract: gates, statuses, reference groups, caps, calibration, determinism."""

from __future__ import annotations

import dataclasses

import pytest

from monitor.counts import GroupCounts
from monitor.disparities import DEFAULT_THRESHOLDS, METRICS, judge
from monitor.engine import EngineConfig, evaluate


def counts(n: int, selected: int, positives: int | None = None, tp: int = 0, fp: int = 0):
    """A fully labeled group: ``selected`` predicted 1, ``positives`` with label 1."""
    positives = n // 2 if positives is None else positives
    if not tp and not fp:
        tp = min(selected, positives)
        fp = selected - tp
    return GroupCounts(n, selected, tp, fp, n - positives - fp, positives - tp)


def disparity(evaluation, metric, attribute="sex", group=None):
    matches = [
        d
        for d in evaluation.disparities
        if d.metric == metric and d.attribute == attribute and d.group == group
    ]
    assert len(matches) == 1, matches
    return matches[0]


def test_every_declared_metric_is_reported_with_its_default_threshold():
    evaluation = evaluate(
        "m", "1h", 0, 3600, {("sex", "F"): counts(100, 30), ("sex", "M"): counts(100, 50)}
    )
    names = {d.metric for d in evaluation.disparities if d.group is None}
    assert names == {metric.name for metric in METRICS}
    assert disparity(evaluation, "demographic_parity_difference").threshold == 0.1
    assert disparity(evaluation, "demographic_parity_ratio").threshold == 0.8
    assert DEFAULT_THRESHOLDS["selection_rate_ratio_to_reference"] == 0.8
    assert (evaluation.model_id, evaluation.window, evaluation.window_end) == ("m", "1h", 3600)


def test_values_and_intervals():
    evaluation = evaluate(
        "m", "w", 0, 1, {("sex", "F"): counts(400, 120), ("sex", "M"): counts(600, 300)}
    )
    dp = disparity(evaluation, "demographic_parity_difference")
    assert dp.value == pytest.approx(0.5 - 0.3)
    assert 0 <= dp.ci_low < dp.value < dp.ci_high <= 1
    ratio = disparity(evaluation, "demographic_parity_ratio")
    assert ratio.value == pytest.approx(0.6)
    assert ratio.ci_low < 0.6 < ratio.ci_high <= 1
    assert dp.status == "breach" and ratio.status == "breach"
    assert dp.min_group_n == 400


def test_interval_width_tells_40_rows_from_4_million():
    small = evaluate("m", "w", 0, 1, {("a", "x"): counts(20, 6), ("a", "y"): counts(20, 10)})
    large = evaluate(
        "m",
        "w",
        0,
        1,
        {("a", "x"): counts(2_000_000, 600_000), ("a", "y"): counts(2_000_000, 1_000_000)},
    )
    small_dp = disparity(small, "demographic_parity_difference", "a")
    large_dp = disparity(large, "demographic_parity_difference", "a")
    assert small_dp.value == pytest.approx(large_dp.value)
    small_width = small_dp.ci_high - small_dp.ci_low
    large_width = large_dp.ci_high - large_dp.ci_low
    assert small_width > 100 * large_width
    assert small_dp.status == "insufficient_data" and large_dp.status == "breach"


@pytest.mark.parametrize(("smallest", "status"), [(29, "insufficient_data"), (30, "breach")])
def test_minimum_group_size_gate(smallest, status):
    evaluation = evaluate(
        "m", "w", 0, 1, {("sex", "F"): counts(smallest, 2), ("sex", "M"): counts(500, 400)}
    )
    assert disparity(evaluation, "demographic_parity_difference").status == status
    assert disparity(evaluation, "demographic_parity_difference").min_group_n == smallest


def test_rate_gate_uses_the_rates_own_denominator():
    # 200 rows each but only 10 labeled positives in F: TPR metrics are gated, selection is not
    evaluation = evaluate(
        "m", "w", 0, 1,
        {("sex", "F"): counts(200, 50, positives=10), ("sex", "M"): counts(200, 100)},
    )  # fmt: skip
    assert disparity(evaluation, "equal_opportunity_difference").min_group_n == 10
    assert disparity(evaluation, "equal_opportunity_difference").status == "insufficient_data"
    assert disparity(evaluation, "demographic_parity_difference").status == "breach"


def test_point_and_confident_modes():
    # difference 0.15 > 0.1, but with 60 rows a group the interval reaches below 0.1
    window = {("sex", "F"): counts(60, 21), ("sex", "M"): counts(60, 30)}
    point = disparity(evaluate("m", "w", 0, 1, window), "demographic_parity_difference")
    confident = disparity(
        evaluate("m", "w", 0, 1, window, EngineConfig(mode="confident")),
        "demographic_parity_difference",
    )
    assert point.value == pytest.approx(0.15)
    assert point.status == "breach" and point.mode == "point"
    assert confident.ci_low < 0.1 and confident.status == "ok" and confident.mode == "confident"
    big = {("sex", "F"): counts(60_000, 21_000), ("sex", "M"): counts(60_000, 30_000)}
    sure = evaluate("m", "w", 0, 1, big, EngineConfig(mode="confident"))
    assert disparity(sure, "demographic_parity_difference").status == "breach"


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"value": 0.2, "aggregation": "difference"}, "breach"),
        ({"value": 0.05, "aggregation": "difference"}, "ok"),
        ({"value": 0.7, "aggregation": "ratio", "threshold": 0.8}, "breach"),
        ({"value": 0.9, "aggregation": "ratio", "threshold": 0.8}, "ok"),
        ({"value": 1.3, "aggregation": "reference", "threshold": 0.8}, "breach"),  # > 1.25
        ({"value": 1.2, "aggregation": "reference", "threshold": 0.8}, "ok"),
        ({"value": 0.79, "aggregation": "reference", "threshold": 0.8}, "breach"),
        ({"value": None, "aggregation": "difference"}, "insufficient_data"),
        ({"value": 0.5, "aggregation": "difference", "min_group_n": 3}, "insufficient_data"),
        ({"value": 0.2, "aggregation": "difference", "mode": "confident"}, "ok"),  # low 0.05
        ({"value": 0.2, "aggregation": "difference", "mode": "confident", "low": 0.11}, "breach"),
        ({"value": 0.7, "aggregation": "ratio", "threshold": 0.8, "mode": "confident"}, "ok"),
        (
            {
                "value": 0.7,
                "aggregation": "ratio",
                "threshold": 0.8,
                "mode": "confident",
                "high": 0.79,
            },
            "breach",
        ),
    ],
)
def test_judge_table(kwargs, expected):
    arguments = {
        "value": 0.2, "low": 0.05, "high": 0.9, "min_group_n": 100, "threshold": 0.1,
        "aggregation": "difference", "mode": "point", "min_group_size": 30,
    }  # fmt: skip
    arguments.update(kwargs)
    assert judge(**arguments) == expected


def test_reference_ratios_default_to_the_largest_group_and_apply_four_fifths():
    window = {
        ("race", "A"): counts(1000, 500),
        ("race", "B"): counts(300, 105),  # 0.35 / 0.5 = 0.7: breach
        ("race", "C"): counts(300, 135),  # 0.45 / 0.5 = 0.9: ok
        ("race", "D"): counts(300, 195),  # 0.65 / 0.5 = 1.3: breach (above 1.25)
    }
    evaluation = evaluate("m", "w", 0, 1, window)
    ratios = {
        d.group: d
        for d in evaluation.disparities
        if d.metric == "selection_rate_ratio_to_reference"
    }
    assert set(ratios) == {"B", "C", "D"}
    assert all(d.reference_group == "A" for d in ratios.values())
    assert ratios["B"].value == pytest.approx(0.7) and ratios["B"].status == "breach"
    assert ratios["C"].status == "ok" and ratios["D"].status == "breach"
    assert ratios["B"].ci_low < 0.7 < ratios["B"].ci_high
    configured = evaluate("m", "w", 0, 1, window, EngineConfig(reference_groups={"race": "C"}))
    assert {d.group for d in configured.disparities if d.group} == {"A", "B", "D"}
    absent = evaluate("m", "w", 0, 1, window, EngineConfig(reference_groups={"race": "Z"}))
    missing = [d for d in absent.disparities if d.metric.endswith("to_reference")]
    assert [(d.value, d.status, d.reference_group) for d in missing] == [
        (None, "insufficient_data", "Z")
    ]


def test_intersections_cap_and_ordering():
    window = {
        ("sex", "F"): counts(300, 100),
        ("sex", "M"): counts(400, 200),
        ("race&sex", "Black&F"): counts(100, 30),
        ("race&sex", "White&F"): counts(200, 70),
        ("race&sex", "Black&M"): counts(10, 5),
        ("race&sex", "White&M"): counts(390, 195),
    }
    evaluation = evaluate("m", "w", 0, 1, window, EngineConfig(max_groups=3))
    assert [(g.attribute, g.group) for g in evaluation.groups] == [
        ("sex", "F"), ("sex", "M"), ("race&sex", "Black&F"), ("race&sex", "White&F"),
        ("race&sex", "White&M"),
    ]  # fmt: skip
    assert evaluation.dropped_groups == 1
    uncapped = evaluate("m", "w", 0, 1, window)
    small = disparity(uncapped, "demographic_parity_difference", "race&sex")
    assert small.status == "insufficient_data" and small.min_group_n == 10


def test_undefined_rates_are_none_and_groups_without_labels_are_reported():
    window = {("sex", "F"): GroupCounts(n=50, predicted_positive=10), ("sex", "M"): counts(50, 20)}
    evaluation = evaluate("m", "w", 0, 1, window)
    female = evaluation.groups[0]
    assert female.n_labeled == 0 and female.label_coverage == 0.0
    assert female.rates["tpr"] is None and female.intervals["tpr"] is None
    assert female.rates["selection_rate"] == 0.2
    assert disparity(evaluation, "equal_opportunity_difference").value is None
    assert disparity(evaluation, "equal_opportunity_difference").ci_low is None
    empty = evaluate("m", "w", 0, 1, {})
    assert empty.groups == () and empty.disparities == ()


def test_expected_calibration_error_from_histograms():
    calibrated = GroupCounts(
        n=20, predicted_positive=10, tp=6, fp=4, tn=6, fn=4,
        score_histogram=((8, 2), (2, 8)),  # bin [0, .5): 2 of 10 positive; [.5, 1): 8 of 10
    )  # fmt: skip
    evaluation = evaluate("m", "w", 0, 1, {("a", "x"): calibrated})
    # |0.2 − 0.25| · 10/20 + |0.8 − 0.75| · 10/20
    assert evaluation.groups[0].ece == pytest.approx(0.05)
    assert evaluate("m", "w", 0, 1, {("a", "x"): counts(10, 5)}).groups[0].ece is None


def test_same_counts_give_the_same_evaluation_in_any_order():
    window = {
        ("sex", "F"): counts(80, 20),
        ("sex", "M"): counts(90, 50),
        ("race", "A"): counts(170, 70),
    }
    reordered = dict(reversed(list(window.items())))
    assert evaluate("m", "w", 0, 1, window) == evaluate("m", "w", 0, 1, reordered)
    # a late label changes only the counts it touches; the other attribute is untouched
    late = dict(window)
    late[("sex", "F")] = window[("sex", "F")] + GroupCounts(tp=1)
    before = [d for d in evaluate("m", "w", 0, 1, window).disparities if d.attribute == "race"]
    after = [d for d in evaluate("m", "w", 0, 1, late).disparities if d.attribute == "race"]
    assert before == after


def test_custom_thresholds_and_metric_selection():
    config = EngineConfig(
        thresholds={"demographic_parity_difference": 0.3},
        metrics=("demographic_parity_difference",),
        reference_rates=(),
    )
    evaluation = evaluate(
        "m", "w", 0, 1, {("s", "a"): counts(100, 30), ("s", "b"): counts(100, 50)}, config
    )
    assert [(d.metric, d.threshold, d.status) for d in evaluation.disparities] == [
        ("demographic_parity_difference", 0.3, "ok")
    ]


@pytest.mark.parametrize(
    "change",
    [
        {"mode": "sometimes"},
        {"ci_level": 1.5},
        {"min_group_size": -1},
        {"bootstrap_samples": 1},
        {"max_groups": 0},
        {"metrics": ("parity_of_vibes",)},
        {"reference_rates": ("npv",)},
    ],
)
def test_config_validation(change):
    with pytest.raises(ValueError):
        dataclasses.replace(EngineConfig(), **change)
