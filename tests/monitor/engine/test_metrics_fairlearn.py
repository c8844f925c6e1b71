"""Per-group rates and disparities equal fairlearn's on the same rows (property-based).

The helpers here are also used by the real-data tests. Fairlearn turns an undefined rate (zero
denominator) into 0 where the engine says None, so the reference for a disparity is computed
over the groups where the rate is defined: that is the engine's contract (undefined groups do
not take part in a disparity). Where every group is defined, fairlearn's own functions
(``demographic_parity_difference``, ``equalized_odds_difference(agg="worst_case")``, …) are
compared directly.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import sklearn.metrics as skm
from fairlearn import metrics as flm
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.engine.counts import GroupCounts, count_batch
from monitor.engine.evaluate import EngineConfig, evaluate
from monitor.engine.groups import encode_column
from monitor.engine.results import WindowEvaluation

TOLERANCE = 1e-9


def base_rate(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(np.mean(y_true))


def npv(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(skm.precision_score(1 - y_true, 1 - y_pred, zero_division=0))


def ppv(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(skm.precision_score(y_true, y_pred, zero_division=0))


LABELED_RATES = {
    "tpr": flm.true_positive_rate,
    "fpr": flm.false_positive_rate,
    "fnr": flm.false_negative_rate,
    "tnr": flm.true_negative_rate,
    "ppv": ppv,
    "npv": npv,
    "accuracy": skm.accuracy_score,
    "base_rate": base_rate,
}


def counts_from_rows(
    attribute: str, groups: np.ndarray, prediction: np.ndarray, label: np.ndarray
) -> dict[tuple[str, str], GroupCounts]:
    codes, names = encode_column(groups)
    matrix = count_batch(codes, len(names), prediction, label)
    return {(attribute, name): GroupCounts.from_row(matrix[i]) for i, name in enumerate(names)}


def metric_frame(metrics: dict, y_true, y_pred, groups) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = flm.MetricFrame(
            metrics=metrics,
            y_true=np.asarray(y_true),
            y_pred=np.asarray(y_pred),
            sensitive_features=pd.Series(np.asarray(groups), name="group"),
        )
    return frame


DENOMINATOR = {
    "tpr": lambda y_true, y_pred: y_true == 1,
    "fnr": lambda y_true, y_pred: y_true == 1,
    "fpr": lambda y_true, y_pred: y_true == 0,
    "tnr": lambda y_true, y_pred: y_true == 0,
    "ppv": lambda y_true, y_pred: y_pred == 1,
    "npv": lambda y_true, y_pred: y_pred == 0,
}


def defined_groups(rate: str, groups, y_true, y_pred) -> set[str]:
    """Groups where ``rate`` has a nonzero denominator."""
    mask = DENOMINATOR.get(rate, lambda t, p: np.ones(len(t), dtype=bool))(y_true, y_pred)
    return set(np.asarray(groups)[mask])


def between_groups(by_group: pd.Series, defined: set[str], aggregation: str) -> float | None:
    """Fairlearn's ``between_groups`` aggregation (``group_max − group_min``,
    ``group_min / group_max``) of ``MetricFrame.by_group`` over the defined groups."""
    values = by_group[by_group.index.isin(defined)]
    if len(values) < 2:
        return None
    if aggregation == "difference":
        return float(values.max() - values.min())
    highest = values.max()
    return None if highest == 0 else float(values.min() / highest)


def reference_disparities(
    y_true, y_pred, groups, by_group: pd.DataFrame | None = None
) -> dict[str, float | None]:
    """Fairlearn's value of every disparity the engine computes (labeled rows only), from
    ``MetricFrame.by_group`` with the columns of :data:`LABELED_RATES` and ``selection_rate``."""
    if len(y_true) == 0:
        return {metric: None for metric in DISPARITY_RATES}
    frame = by_group
    if frame is None:
        frame = metric_frame(
            {**LABELED_RATES, "selection_rate": flm.selection_rate}, y_true, y_pred, groups
        ).by_group
    result: dict[str, float | None] = {}
    for metric, rates in DISPARITY_RATES.items():
        aggregation = "difference" if metric.endswith("difference") else "ratio"
        parts = [
            between_groups(frame[rate], defined_groups(rate, groups, y_true, y_pred), aggregation)
            for rate in rates
        ]
        if any(part is None for part in parts):
            result[metric] = None
        else:
            result[metric] = max(parts) if aggregation == "difference" else min(parts)
    return result


DISPARITY_RATES = {
    "demographic_parity_difference": ("selection_rate",),
    "demographic_parity_ratio": ("selection_rate",),
    "equal_opportunity_difference": ("tpr",),
    "equal_opportunity_ratio": ("tpr",),
    "equalized_odds_difference": ("tpr", "fpr"),
    "equalized_odds_ratio": ("tpr", "fpr"),
    "predictive_parity_difference": ("ppv",),
    "false_negative_rate_difference": ("fnr",),
    "accuracy_difference": ("accuracy",),
}


def assert_close(ours: float | None, theirs: float | None, what: str) -> None:
    if theirs is None:
        assert ours is None, f"{what}: engine {ours}, fairlearn undefined"
        return
    assert ours is not None, f"{what}: engine undefined, fairlearn {theirs}"
    assert abs(ours - theirs) <= TOLERANCE, f"{what}: engine {ours}, fairlearn {theirs}"


def named_functions(y_true, y_pred, groups) -> dict[str, float]:
    """Fairlearn's named disparity functions (valid when every group has every rate defined)."""
    between = {"sensitive_features": pd.Series(groups, name="group"), "method": "between_groups"}
    return {
        "demographic_parity_difference": flm.demographic_parity_difference(
            y_true, y_pred, **between
        ),
        "demographic_parity_ratio": flm.demographic_parity_ratio(y_true, y_pred, **between),
        "equalized_odds_difference": flm.equalized_odds_difference(
            y_true, y_pred, agg="worst_case", **between
        ),
        "equalized_odds_ratio": flm.equalized_odds_ratio(
            y_true, y_pred, agg="worst_case", **between
        ),
        "equal_opportunity_difference": flm.equal_opportunity_difference(y_true, y_pred, **between),
        "equal_opportunity_ratio": flm.equal_opportunity_ratio(y_true, y_pred, **between),
        "false_negative_rate_difference": flm.false_negative_rate_difference(
            y_true, y_pred, **between
        ),
        "accuracy_difference": flm.accuracy_score_difference(y_true, y_pred, **between),
    }


def check_against_fairlearn(
    attribute: str,
    evaluation: WindowEvaluation,
    groups: np.ndarray,
    prediction: np.ndarray,
    label: np.ndarray,
) -> None:
    """Every per-group rate and every disparity of ``attribute`` equals fairlearn's."""
    groups = np.asarray(groups, dtype=object).astype(str)
    results = {g.group: g for g in evaluation.groups if g.attribute == attribute}
    assert set(results) == set(groups)
    ones = np.ones(len(groups), dtype=int)
    selection = metric_frame({"selection_rate": flm.selection_rate}, ones, prediction, groups)
    labeled = label >= 0
    y_true, y_pred, labeled_groups = label[labeled], prediction[labeled], groups[labeled]
    frame = None
    if labeled.any():
        frame = metric_frame(
            {**LABELED_RATES, "selection_rate": flm.selection_rate},
            y_true,
            y_pred,
            labeled_groups,
        ).by_group
    for name, result in results.items():
        assert_close(
            result.rates["selection_rate"],
            float(selection.by_group.loc[name, "selection_rate"]),
            f"{name} selection_rate",
        )
        assert result.n == int((groups == name).sum())
        assert result.n_labeled == int((labeled_groups == name).sum())
        for rate in LABELED_RATES:
            counts = {
                "tpr": result.tp + result.fn,
                "fnr": result.tp + result.fn,
                "fpr": result.fp + result.tn,
                "tnr": result.fp + result.tn,
                "ppv": result.tp + result.fp,
                "npv": result.tn + result.fn,
                "accuracy": result.n_labeled,
                "base_rate": result.n_labeled,
            }[rate]
            if counts == 0:  # undefined: None here, 0 (or absent) in fairlearn
                assert result.rates[rate] is None, f"{name} {rate}"
                assert result.intervals[rate] is None
                continue
            assert frame is not None
            assert_close(result.rates[rate], float(frame.loc[name, rate]), f"{name} {rate}")
            low, high = result.intervals[rate]
            assert low <= result.rates[rate] <= high
    disparities = {
        d.metric: d for d in evaluation.disparities if d.attribute == attribute and d.group is None
    }
    reference = reference_disparities(y_true, y_pred, labeled_groups, frame)
    # selection rates use every row, labeled or not
    for aggregation in ("difference", "ratio"):
        reference[f"demographic_parity_{aggregation}"] = between_groups(
            selection.by_group["selection_rate"], set(groups), aggregation
        )
    for metric, value in reference.items():
        assert_close(disparities[metric].value, value, metric)
    all_defined = all(
        result.tp + result.fn and result.fp + result.tn and result.n_labeled == result.n
        for result in results.values()
    )
    if all_defined and len(results) > 1:
        for metric, value in named_functions(label, prediction, groups).items():
            if reference[metric] is None:
                continue  # fairlearn's NaN (0/0 ratio) leaks through min() in arbitrary order
            assert_close(disparities[metric].value, float(value), f"fairlearn.{metric}")


rows = st.integers(min_value=1, max_value=80).flatmap(
    lambda size: st.tuples(
        st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=size, max_size=size),
        st.lists(st.integers(0, 1), min_size=size, max_size=size),
        st.lists(st.integers(-1, 1), min_size=size, max_size=size),
    )
)


@settings(max_examples=15, deadline=None)
@given(data=rows)
def test_rates_and_disparities_equal_fairlearn(data):
    groups, prediction, label = (np.array(part) for part in data)
    counts = counts_from_rows("g", groups, prediction, label)
    evaluation = evaluate("m", "w", 0.0, 1.0, counts, EngineConfig(min_group_size=0))
    check_against_fairlearn("g", evaluation, groups, prediction, label)


@settings(max_examples=8, deadline=None)
@given(data=rows)
def test_fully_labeled_rows_equal_fairlearn_named_functions(data):
    groups, prediction, label = (np.array(part) for part in data)
    label = np.abs(label)  # every row labeled
    counts = counts_from_rows("g", groups, prediction, label)
    evaluation = evaluate("m", "w", 0.0, 1.0, counts, EngineConfig(min_group_size=0))
    check_against_fairlearn("g", evaluation, groups, prediction, label)


def test_groups_without_positives_or_labels_are_undefined_not_zero():
    groups = np.array(["a"] * 4 + ["b"] * 4 + ["c"] * 3)
    prediction = np.array([1, 0, 1, 0, 1, 1, 0, 0, 1, 0, 1])
    label = np.array([1, 0, 1, 0, 0, 0, 0, 0, -1, -1, -1])  # b: no positives, c: no labels
    counts = counts_from_rows("g", groups, prediction, label)
    evaluation = evaluate("m", "w", 0.0, 1.0, counts, EngineConfig(min_group_size=0))
    by_group = {g.group: g for g in evaluation.groups}
    assert by_group["b"].rates["tpr"] is None
    assert by_group["b"].rates["fpr"] == 0.5
    assert all(by_group["c"].rates[rate] is None for rate in LABELED_RATES)
    assert by_group["c"].label_coverage == 0.0
    check_against_fairlearn("g", evaluation, groups, prediction, label)
    disparities = {d.metric: d for d in evaluation.disparities if d.group is None}
    # only group a has positives: a TPR disparity needs two groups
    assert disparities["equal_opportunity_difference"].value is None
    assert disparities["equal_opportunity_difference"].status == "not_computable"
    assert disparities["equalized_odds_difference"].value is None
