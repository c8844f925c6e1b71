"""The engine's contract: evidence, statuses, extremes, reference groups, caps, calibration,
determinism."""

from __future__ import annotations

import dataclasses

import pytest

from monitor.engine.counts import GroupCounts
from monitor.engine.disparities import DEFAULT_THRESHOLDS, METRICS, judge
from monitor.engine.evaluate import EngineConfig, evaluate


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
    small = evaluate(
        "m", "w", 0, 1, {("a", "x"): counts(20, 6), ("a", "y"): counts(20, 10)},
        EngineConfig(min_group_size=20),  # below the default 30, so 20 rows are judged at all
    )  # fmt: skip
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
    # 20 rows a group are enough by this minimum, but the interval straddles 0.1: undecided
    assert small_dp.status == "undecided" and large_dp.status == "breach"


@pytest.mark.parametrize(("smallest", "status"), [(29, "not_computable"), (30, "breach")])
def test_minimum_group_size(smallest, status):
    evaluation = evaluate(
        "m", "w", 0, 1, {("sex", "F"): counts(smallest, 2), ("sex", "M"): counts(500, 400)}
    )
    parity = disparity(evaluation, "demographic_parity_difference")
    assert parity.status == status
    assert parity.min_group_n == smallest
    assert parity.small_groups == (("F",) if smallest < 30 else ())


def test_a_rate_counts_the_evidence_in_its_own_denominator():
    # 200 rows each but only 10 labeled positives in F: TPR metrics cannot compare two groups,
    # selection can
    evaluation = evaluate(
        "m", "w", 0, 1,
        {("sex", "F"): counts(200, 50, positives=10), ("sex", "M"): counts(200, 100)},
    )  # fmt: skip
    assert disparity(evaluation, "equal_opportunity_difference").min_group_n == 10
    assert disparity(evaluation, "equal_opportunity_difference").status == "not_computable"
    assert disparity(evaluation, "equal_opportunity_difference").small_groups == ("F",)
    assert disparity(evaluation, "demographic_parity_difference").status == "breach"
    assert disparity(evaluation, "demographic_parity_difference").small_groups == ()


def test_point_and_confident_modes():
    # difference 0.15 > 0.1, but with 60 rows a group the interval reaches below 0.1
    window = {("sex", "F"): counts(60, 21), ("sex", "M"): counts(60, 30)}
    point = disparity(
        evaluate("m", "w", 0, 1, window, EngineConfig(mode="point")),
        "demographic_parity_difference",
    )
    confident = disparity(evaluate("m", "w", 0, 1, window), "demographic_parity_difference")
    assert point.value == pytest.approx(0.15)
    assert point.status == "breach" and point.mode == "point"
    # the default: the interval straddles the threshold, so the evidence cannot tell
    assert confident.ci_low < 0.1 < confident.ci_high
    assert confident.status == "undecided" and confident.mode == "confident"
    big = {("sex", "F"): counts(60_000, 21_000), ("sex", "M"): counts(60_000, 30_000)}
    sure = evaluate("m", "w", 0, 1, big, EngineConfig(mode="confident"))
    assert disparity(sure, "demographic_parity_difference").status == "breach"
    fair = {("sex", "F"): counts(60_000, 30_000), ("sex", "M"): counts(60_000, 30_300)}
    assert disparity(evaluate("m", "w", 0, 1, fair), "demographic_parity_difference").status == "ok"


# (intent, arguments that differ from the defaults below, expected status)
JUDGE_CASES = [
    ("point: a difference above the threshold breaches", {"value": 0.2}, "breach"),
    ("point: a difference below it is ok", {"value": 0.05}, "ok"),
    ("point: a ratio below the threshold breaches",
     {"value": 0.7, "aggregation": "ratio", "threshold": 0.8}, "breach"),
    ("point: a ratio above it is ok",
     {"value": 0.9, "aggregation": "ratio", "threshold": 0.8}, "ok"),
    ("point: a reference ratio above 1/0.8 breaches",
     {"value": 1.3, "aggregation": "reference", "threshold": 0.8}, "breach"),
    ("point: a reference ratio inside 0.8–1.25 is ok",
     {"value": 1.2, "aggregation": "reference", "threshold": 0.8}, "ok"),
    ("point: a reference ratio below 0.8 breaches",
     {"value": 0.79, "aggregation": "reference", "threshold": 0.8}, "breach"),
    ("point ignores the interval", {"value": 0.2, "low": 0.01}, "breach"),
    ("an undefined value is not computable, in either mode",
     {"value": None, "mode": "confident"}, "not_computable"),
    ("an undefined value is not computable in point mode", {"value": None}, "not_computable"),
    ("confident: an interval straddling the threshold is undecided",
     {"mode": "confident"}, "undecided"),
    ("confident: an interval wholly above it breaches",
     {"mode": "confident", "low": 0.11}, "breach"),
    ("confident: an interval wholly below it is ok",
     {"value": 0.05, "mode": "confident", "low": 0.0, "high": 0.09}, "ok"),
    ("confident: a ratio interval reaching above the threshold is undecided",
     {"value": 0.7, "aggregation": "ratio", "threshold": 0.8, "mode": "confident"}, "undecided"),
    ("confident: a ratio interval wholly below the threshold breaches",
     {"value": 0.7, "aggregation": "ratio", "threshold": 0.8, "mode": "confident",
      "low": 0.6, "high": 0.79}, "breach"),
    ("confident: a ratio interval wholly above the threshold is ok",
     {"value": 0.9, "aggregation": "ratio", "threshold": 0.8, "mode": "confident",
      "low": 0.85, "high": 0.95}, "ok"),
    ("confident: a reference ratio interval inside 0.8–1.25 is ok",
     {"value": 1.0, "aggregation": "reference", "threshold": 0.8, "mode": "confident",
      "low": 0.85, "high": 1.2}, "ok"),
    ("confident: a reference ratio interval wholly above 1.25 breaches",
     {"value": 1.5, "aggregation": "reference", "threshold": 0.8, "mode": "confident",
      "low": 1.3, "high": 1.7}, "breach"),
    ("confident: a reference ratio interval across 1.25 is undecided",
     {"value": 1.3, "aggregation": "reference", "threshold": 0.8, "mode": "confident",
      "low": 1.1, "high": 1.5}, "undecided"),
    ("confident: a missing interval is undecided",
     {"mode": "confident", "low": None, "high": None}, "undecided"),
    ("without a threshold nothing breaches", {"threshold": None}, "ok"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [pytest.param(kwargs, expected, id=intent) for intent, kwargs, expected in JUDGE_CASES],
)
def test_judge_table(kwargs, expected):
    arguments = {
        "value": 0.2, "low": 0.05, "high": 0.9, "threshold": 0.1,
        "aggregation": "difference", "mode": "point",
    }  # fmt: skip
    arguments.update(kwargs)
    assert judge(**arguments) == expected


def test_reference_ratios_default_to_the_most_favoured_group_and_apply_four_fifths():
    window = {
        ("race", "A"): counts(10_000, 5000),  # 0.50 / 0.65 = 0.77: breach
        ("race", "B"): counts(300, 105),  # 0.35 / 0.65 = 0.54: breach
        ("race", "C"): counts(3000, 1800),  # 0.60 / 0.65 = 0.92: ok
        ("race", "D"): counts(3000, 1950),  # 0.65, the most favoured group with enough rows
        ("race", "E"): counts(12, 12),  # 1.00, but too small to be the reference
    }
    evaluation = evaluate("m", "w", 0, 1, window)
    ratios = {
        d.group: d
        for d in evaluation.disparities
        if d.metric == "selection_rate_ratio_to_reference"
    }
    assert set(ratios) == {"A", "B", "C", "D", "E"}
    assert all(d.reference_group == "D" for d in ratios.values())
    assert (ratios["D"].value, ratios["D"].ci_low, ratios["D"].status) == (1.0, 1.0, "ok")
    assert ratios["B"].value == pytest.approx(0.35 / 0.65) and ratios["B"].status == "breach"
    assert ratios["A"].value == pytest.approx(0.5 / 0.65) and ratios["A"].status == "breach"
    assert ratios["C"].status == "ok"
    assert ratios["B"].ci_low < ratios["B"].value < ratios["B"].ci_high
    assert (ratios["B"].highest_group, ratios["B"].lowest_group) == ("D", "B")
    # the small group keeps its ratio and interval, named as small, and is not judged
    assert ratios["E"].value == pytest.approx(1 / 0.65) and ratios["E"].ci_low is not None
    assert ratios["E"].status == "not_computable" and ratios["E"].small_groups == ("E",)
    configured = evaluate("m", "w", 0, 1, window, EngineConfig(reference_groups={"race": "C"}))
    assert {d.group for d in configured.disparities if d.group} == {"A", "B", "C", "D", "E"}
    upper = {d.group: d for d in configured.disparities if d.group}
    assert upper["D"].value == pytest.approx(0.65 / 0.6) and upper["D"].status == "ok"
    absent = evaluate("m", "w", 0, 1, window, EngineConfig(reference_groups={"race": "Z"}))
    missing = [d for d in absent.disparities if d.metric.endswith("to_reference")]
    # a row per group, as with a reference: a later evaluation replaces each
    assert [(d.group, d.value, d.status, d.reference_group) for d in missing] == [
        (group, None, "not_computable", "Z") for group in sorted({g for _a, g in window})
    ]


def test_a_reference_needs_a_group_with_enough_rows():
    window = {("race", "A"): counts(10, 5), ("race", "B"): counts(12, 3)}
    evaluation = evaluate("m", "w", 0, 1, window)
    ratios = [d for d in evaluation.disparities if d.metric.endswith("to_reference")]
    assert [ratio.group for ratio in ratios] == ["A", "B"]
    for ratio in ratios:
        assert ratio.status == "not_computable" and ratio.small_groups == ("A", "B")


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
    parity = disparity(uncapped, "demographic_parity_difference", "race&sex")
    # the small intersection is left out; the other three are compared
    assert parity.small_groups == ("Black&M",) and parity.min_group_n == 100
    assert parity.value == pytest.approx(0.5 - 0.3)
    assert (parity.highest_group, parity.lowest_group) == ("White&M", "Black&F")


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
        "m", "w", 0, 1, {("s", "a"): counts(1000, 300), ("s", "b"): counts(1000, 500)}, config
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
        {"favourable_prediction": 2},
        {"favourable_predictions": {"m": -1}},
    ],
)
def test_config_validation(change):
    with pytest.raises(ValueError):
        dataclasses.replace(EngineConfig(), **change)
