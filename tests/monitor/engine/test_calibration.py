"""Calibration from exact score sums: per-bin means, ECE, the calibration gap and its difference
across groups (value, interval, status, extremes), its alerts and its InfluxDB rows.

UCI Adult (Becker & Kohavi 1996, CC BY 4.0) is read from the copy shipped with the demo.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from alerting.config import parse_alerting_config
from alerting.model import AlertState
from alerting.render import alert_line
from alerting.rules import observe, snapshot
from fairwatch.audit.fail_on import KNOWN
from monitor.engine.counts import (
    BASE_WIDTH,
    SCORE_SCALE,
    GroupCounts,
    count_batch,
    row_width,
    widen,
)
from monitor.engine.evaluate import EngineConfig, evaluate
from monitor.engine.results import Disparity, WindowEvaluation
from monitor.sinks.points import DISPARITY_MEASUREMENT, FIELD_TYPES, evaluation_rows
from tests.paths import ADULT

ADULT_COLUMNS = [
    "age", "workclass", "fnlwgt", "education", "education-num", "marital-status", "occupation",
    "relationship", "race", "sex", "capital-gain", "capital-loss", "hours-per-week",
    "native-country", "income",
]  # fmt: skip
NUMERIC = ["age", "education-num", "capital-gain", "capital-loss", "hours-per-week"]
BINS = 10


def read_adult(name: str) -> pd.DataFrame:
    frame = pd.read_csv(
        ADULT / name, header=None, names=ADULT_COLUMNS, sep=",", skipinitialspace=True,
        comment="|", na_values="?",
    )  # fmt: skip
    frame["label"] = frame["income"].str.rstrip(".").eq(">50K").astype(int)
    return frame


@pytest.fixture(scope="module")
def adult() -> pd.DataFrame:
    """The Adult test split scored by a logistic regression fitted on the training split."""
    train, test = read_adult("adult.data.gz"), read_adult("adult.test.gz")
    scaler = StandardScaler().fit(train[NUMERIC])
    model = LogisticRegression(max_iter=500).fit(scaler.transform(train[NUMERIC]), train["label"])
    test = test.copy()
    test["score"] = model.predict_proba(scaler.transform(test[NUMERIC]))[:, 1]
    # a third of the rows unlabeled: only labeled rows count towards calibration
    test["observed"] = np.where(np.arange(len(test)) % 3 == 0, -1, test["label"])
    return test


def counts_of(groups: np.ndarray, scores: np.ndarray, labels: np.ndarray, attribute: str):
    names = sorted(set(groups.tolist()))
    codes = np.searchsorted(names, groups)
    matrix = count_batch(codes, len(names), (scores >= 0.5).astype(int), labels, scores)
    return {(attribute, name): GroupCounts.from_row(matrix[i]) for i, name in enumerate(names)}


def calibration(evaluation: WindowEvaluation, attribute: str = "g") -> Disparity:
    (disparity,) = [
        d
        for d in evaluation.disparities
        if d.metric == "calibration_difference" and d.attribute == attribute
    ]
    return disparity


def test_bin_means_ece_and_gap_equal_a_direct_computation_on_adult(adult: pd.DataFrame) -> None:
    counts: dict = {}
    for attribute in ("sex", "race"):
        counts |= counts_of(
            adult[attribute].to_numpy(dtype=object), adult["score"].to_numpy(),
            adult["observed"].to_numpy(), attribute,
        )  # fmt: skip
    # min_group_size 0: every group's exact figures are compared, the small ones included
    evaluation = evaluate("adult", "all", 0.0, 1.0, counts, EngineConfig(min_group_size=0))
    away_from_centre = 0.0
    for group in evaluation.groups:
        rows = adult[(adult[group.attribute] == group.group) & (adult["observed"] >= 0)]
        scores, labels = rows["score"].to_numpy(), rows["label"].to_numpy()
        bins = np.minimum((scores * BINS).astype(int), BINS - 1)
        assert len(group.reliability) == BINS
        ece = 0.0
        for b, item in enumerate(group.reliability):
            inside = bins == b
            assert item.n == int(inside.sum())
            assert (item.lower, item.upper) == pytest.approx((b / BINS, (b + 1) / BINS))
            if not inside.any():
                assert item.mean_score is None and item.observed_rate is None
                continue
            mean, rate = scores[inside].mean(), labels[inside].mean()
            assert item.mean_score == pytest.approx(mean, abs=1e-6)  # micro-units: 5e-7 at most
            assert item.observed_rate == pytest.approx(rate, abs=1e-12)
            away_from_centre = max(away_from_centre, abs(mean - (b + 0.5) / BINS))
            ece += inside.sum() * abs(rate - mean)
        assert group.ece == pytest.approx(ece / len(rows), abs=1e-6)
        assert group.calibration_gap == pytest.approx(scores.mean() - labels.mean(), abs=1e-6)
    assert away_from_centre > 0.01  # the bin centres would have been off by this much


batches = st.lists(
    st.tuples(
        st.integers(0, 2),  # group
        st.integers(-1, 1),  # label
        st.one_of(st.floats(0, 1), st.just(float("nan"))),  # score
    ),
    max_size=80,
)


@settings(max_examples=100, deadline=None)
@given(first=batches, second=batches, bins=st.integers(1, 12))
def test_score_sums_stay_exact_under_pane_arithmetic(first, second, bins) -> None:
    def count(rows):
        if not rows:
            return np.zeros((3, row_width(bins)), dtype=np.int64)
        groups, labels, scores = (np.array(column) for column in zip(*rows, strict=True))
        predictions = np.zeros(len(rows), dtype=int)
        return count_batch(groups, 3, predictions, labels, scores.astype(float), score_bins=bins)

    one, two, both = count(first), count(second), count(first + second)
    np.testing.assert_array_equal(one + two, both)  # two panes (or partitions) = one batch
    np.testing.assert_array_equal(both - two, one)  # retiring a pane is exact
    total = GroupCounts.from_row(both[0])
    assert total - GroupCounts.from_row(one[0]) - GroupCounts.from_row(two[0]) == (
        GroupCounts.zero(bins)
    )
    offsets = both[:, BASE_WIDTH + 2 * bins :]
    # at most half a bin from the centre per row, plus rounding to whole micro-units
    assert np.abs(offsets).max(initial=0) <= (SCORE_SCALE / (2 * bins) + 1) * len(first + second)


def test_widen_reads_the_earlier_layout_as_scores_at_the_centres() -> None:
    legacy = np.arange(2 * (BASE_WIDTH + 2 * 3)).reshape(2, -1)
    widened = widen(legacy, 3)
    assert widened.shape == (2, row_width(3))
    np.testing.assert_array_equal(widened[:, : legacy.shape[1]], legacy)
    assert not widened[:, legacy.shape[1] :].any()
    assert widen(np.ones((1, BASE_WIDTH)), 3).shape == (1, row_width(3))
    with pytest.raises(ValueError, match="score bins"):
        widen(np.ones((1, BASE_WIDTH + 5)), 3)


def synthetic(rng: np.random.Generator, shifts: dict[str, float], size: int = 3000) -> dict:
    """``size`` scored labeled rows per group; a group's true rate is its score minus its
    shift (0: calibrated; 0.15: the scores overstate its risk by 0.15)."""
    counts = {}
    for name, amount in shifts.items():
        scores = rng.beta(2, 3, size)
        labels = (rng.random(size) < np.clip(scores - amount, 0, 1)).astype(int)
        counts |= counts_of(np.array([name] * size, dtype=object), scores, labels, "g")
    return counts


def test_the_difference_flags_a_model_miscalibrated_for_one_group() -> None:
    rng = np.random.default_rng(3)
    fair = evaluate("m", "w", 0, 1, synthetic(rng, {"a": 0.0, "b": 0.0, "c": 0.0}))
    disparity = calibration(fair)
    assert disparity.status == "ok"
    assert disparity.value is not None and disparity.value < 0.05
    assert disparity.ci_low is not None and disparity.ci_high is not None
    assert disparity.ci_low <= disparity.value <= disparity.ci_high <= 0.1
    assert disparity.threshold == 0.1 and disparity.rate == "calibration_gap"

    unfair = evaluate("m", "w", 0, 1, synthetic(rng, {"a": 0.0, "b": 0.0, "c": 0.15}))
    disparity = calibration(unfair)
    assert disparity.status == "breach"
    assert disparity.ci_low is not None and disparity.ci_low > 0.1
    assert disparity.highest_group == "c"  # its scores overstate its outcome rate
    assert disparity.highest_rate == pytest.approx(
        next(g.calibration_gap for g in unfair.groups if g.group == "c")
    )
    assert disparity.lowest_group in ("a", "b")
    assert "calibration gap c +0.1" in (disparity.extremes or "")
    # the point mode judges the value alone
    point = evaluate(
        "m", "w", 0, 1, synthetic(rng, {"a": 0.0, "c": 0.15}), EngineConfig(mode="point")
    )
    assert calibration(point).status == "breach"


def test_small_groups_are_left_out_and_one_group_is_not_computable() -> None:
    rng = np.random.default_rng(4)
    counts = synthetic(rng, {"big": 0.0, "other": 0.0})
    counts |= synthetic(rng, {"tiny": 0.3}, size=12)
    evaluation = evaluate("m", "w", 0, 1, counts)
    disparity = calibration(evaluation)
    assert disparity.small_groups == ("tiny",)
    assert disparity.value is not None and disparity.min_group_n == 3000
    tiny = next(g for g in evaluation.groups if g.group == "tiny")
    assert "calibration_gap" in tiny.small_rates and tiny.calibration_gap is not None
    alone = evaluate("m", "w", 0, 1, synthetic(rng, {"only": 0.0}) | synthetic(rng, {"few": 0}, 5))
    disparity = calibration(alone)
    assert disparity.status == "not_computable" and disparity.value is None
    assert disparity.highest_group is None and disparity.min_group_n == 5


def test_no_calibration_without_labeled_scored_rows() -> None:
    plain = {("g", "a"): GroupCounts(100, 40, 20, 20, 40, 20), ("g", "b"): GroupCounts(90, 30)}
    evaluation = evaluate("m", "w", 0, 1, plain)
    assert all(d.metric != "calibration_difference" for d in evaluation.disparities)
    assert all(g.calibration_gap is None and g.reliability == () for g in evaluation.groups)
    unlabeled = {key: GroupCounts(c.n, c.predicted_positive, score_histogram=((0,) * 10,) * 2)
                 for key, c in plain.items()}  # fmt: skip
    evaluation = evaluate("m", "w", 0, 1, unlabeled)
    assert all(d.metric != "calibration_difference" for d in evaluation.disparities)
    assert all("calibration_gap" not in g.small_rates for g in evaluation.groups)


def test_the_metric_is_declared_like_the_others() -> None:
    assert "calibration_difference" in KNOWN  # --fail-on calibration_difference
    config = EngineConfig(metrics=("calibration_difference",), thresholds={})
    assert config.threshold("calibration_difference") == 0.1
    counts = synthetic(np.random.default_rng(5), {"a": 0.0, "b": 0.1})
    only = evaluate("m", "w", 0, 1, counts, config)
    assert {d.metric for d in only.disparities} == {
        "calibration_difference", "selection_rate_ratio_to_reference",
    }  # fmt: skip
    stricter = EngineConfig(thresholds={"calibration_difference": 0.02}, mode="point")
    assert calibration(evaluate("m", "w", 0, 1, counts, stricter)).threshold == 0.02
    again = evaluate("m", "w", 0, 1, counts, config)
    assert calibration(again) == calibration(only)  # the same counts, the same interval


def test_interval_coverage_on_a_small_simulation() -> None:
    """Windows drawn afresh from known populations: the 95% interval should contain the true
    difference in about 95% of them (at least 90% here, with 200 windows per case)."""
    rng = np.random.default_rng(20240611)
    # min_group_size 0: the interval's coverage is measured whatever the group sizes
    config = EngineConfig(min_group_size=0, metrics=("calibration_difference",))
    cases = {  # per group: rows, shift of the true rate below the score
        "calibrated 300+3000": ((300, 0.0), (3000, 0.0)),
        "shifted 0.08, 500+500": ((500, 0.0), (500, 0.08)),
        "three groups 100/400/1600": ((100, 0.02), (400, -0.03), (1600, 0.0)),
    }
    for name, groups in cases.items():
        population = rng.beta(2, 3, 2_000_000)
        gaps = [population.mean() - np.clip(population - s, 0, 1).mean() for _, s in groups]
        truth = max(gaps) - min(gaps)
        covered = 0
        for _window in range(200):
            counts: dict = {}
            for index, (size, amount) in enumerate(groups):
                scores = rng.beta(2, 3, size)
                labels = (rng.random(size) < np.clip(scores - amount, 0, 1)).astype(int)
                counts |= counts_of(np.array([f"g{index}"] * size, dtype=object), scores,
                                    labels, "g")  # fmt: skip
            disparity = calibration(evaluate("m", "w", 0, 1, counts, config))
            assert disparity.ci_low is not None and disparity.ci_high is not None
            covered += disparity.ci_low <= truth <= disparity.ci_high
        assert covered / 200 >= 0.90, (name, covered)


T0 = 1_700_000_000.0


def test_a_rule_alerts_on_the_calibration_difference() -> None:
    rule = parse_alerting_config(
        {"rules": [{"name": "calibration", "condition": "calibration_difference > 0.05",
                    "mode": "confident"}]}
    ).rules[0]  # fmt: skip
    counts = synthetic(np.random.default_rng(6), {"a": 0.0, "c": 0.15})
    evaluation = evaluate("credit", "1d", T0 - 86400, T0, counts)
    (observation,) = observe([rule], evaluation)
    assert observation.kind == "breach"
    assert observation.extremes is not None
    assert observation.extremes["rate"] == "calibration_gap"
    assert observation.extremes["highest_group"] == "c"
    state = AlertState(
        key=observation.key, status="firing", active_at=T0, fired_at=T0, last=observation
    )
    line = alert_line(snapshot(rule, state, "firing"))
    assert "calibration_difference of g > 0.05" in line
    assert "calibration gap c +0.1" in line


def test_influxdb_rows_carry_the_gap_and_the_difference() -> None:
    counts = synthetic(np.random.default_rng(7), {"a": 0.0, "c": 0.15})
    rows = evaluation_rows([evaluate("credit", "1h", T0 - 3600, T0, counts)])
    groups = [row for row in rows if row.measurement != DISPARITY_MEASUREMENT]
    assert all(isinstance(row.fields["calibration_gap"], float) for row in groups)
    (row,) = [row for row in rows if row.tags.get("metric") == "calibration_difference"]
    assert row.fields["rate"] == "calibration_gap" and row.fields["highest_group"] == "c"
    assert row.fields["status"] == "breach"
    for current in rows:
        for name, value in current.fields.items():
            assert type(value) is FIELD_TYPES[current.measurement][name], name
