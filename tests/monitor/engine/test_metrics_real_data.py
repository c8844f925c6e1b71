"""The engine equals fairlearn on real data: UCI Adult with a simple model, COMPAS, German credit.

The data come from the repository (tests/datasets.py; sources and licences in
tests/data/NOTICE.md): UCI Adult is the copy the demo ships, COMPAS and German credit are vendored.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fairlearn import metrics as flm
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from monitor.engine.counts import GroupCounts, count_batch
from monitor.engine.evaluate import EngineConfig, evaluate
from monitor.engine.groups import group_codes
from tests.datasets import GERMAN_NUMERIC, adult, compas, german
from tests.monitor.engine.test_metrics_fairlearn import assert_close, check_against_fairlearn

pytestmark = pytest.mark.slow  # fairlearn's per-group metrics on 16k rows take seconds

NUMERIC = ["age", "education_num", "capital_gain", "capital_loss", "hours_per_week"]


@pytest.fixture(scope="module")
def adult_test() -> pd.DataFrame:
    train, test = adult("train"), adult("test")
    assert (len(train), len(test)) == (32561, 16281)
    scaler = StandardScaler().fit(train[NUMERIC])
    model = LogisticRegression(max_iter=500).fit(scaler.transform(train[NUMERIC]), train["label"])
    test = test.copy()
    test["prediction"] = model.predict(scaler.transform(test[NUMERIC])).astype(int)
    return test


def evaluate_frame(frame: pd.DataFrame, attributes: list[str], intersections=()):
    prediction = frame["prediction"].to_numpy()
    label = frame["label"].to_numpy()
    counts: dict[tuple[str, str], GroupCounts] = {}
    for name, codes, names in group_codes(
        {a: frame[a].to_numpy(dtype=object) for a in attributes}, attributes, intersections
    ):
        matrix = count_batch(codes, len(names), prediction, label)
        counts.update({(name, g): GroupCounts.from_row(matrix[i]) for i, g in enumerate(names)})
    return evaluate("model", "all", 0.0, 1.0, counts, EngineConfig(min_group_size=0))


def test_adult_with_a_logistic_model_equals_fairlearn(adult_test):
    evaluation = evaluate_frame(adult_test, ["sex", "race"], [["sex", "race"]])
    prediction, label = adult_test["prediction"].to_numpy(), adult_test["label"].to_numpy()
    for attribute in ("sex", "race"):
        check_against_fairlearn(
            attribute, evaluation, adult_test[attribute].to_numpy(), prediction, label
        )
    # fairlearn's own intersection (two sensitive features) names the same groups
    frame = flm.MetricFrame(
        metrics=flm.selection_rate,
        y_true=label,
        y_pred=prediction,
        sensitive_features=adult_test[["race", "sex"]],
    )
    ours = {
        g.group: g.rates["selection_rate"] for g in evaluation.groups if g.attribute == "race&sex"
    }
    theirs = {"&".join(index): value for index, value in frame.by_group.items()}
    assert ours.keys() == theirs.keys()
    for group, value in theirs.items():
        assert_close(ours[group], value, group)
    disparities = {(d.attribute, d.metric): d for d in evaluation.disparities if d.group is None}
    expected = flm.equalized_odds_difference(
        label, prediction, sensitive_features=adult_test[["race", "sex"]], agg="worst_case"
    )
    assert_close(disparities[("race&sex", "equalized_odds_difference")].value, expected, "eod")
    # the model selects men more often; with 16k rows the interval is tight and excludes 0
    dp = disparities[("sex", "demographic_parity_difference")]
    assert 0 < dp.ci_low <= dp.value <= dp.ci_high
    assert dp.ci_high - dp.ci_low < 0.03


def test_compas_decile_score_equals_fairlearn():
    frame = compas()[["sex", "race", "decile_score", "two_year_recid"]]
    assert len(frame) == 7214
    frame["prediction"] = (frame["decile_score"] >= 5).astype(int)
    frame["label"] = frame["two_year_recid"].astype(int)
    evaluation = evaluate_frame(frame, ["race", "sex"])
    for attribute in ("race", "sex"):
        check_against_fairlearn(
            attribute,
            evaluation,
            frame[attribute].to_numpy(),
            frame["prediction"].to_numpy(),
            frame["label"].to_numpy(),
        )
    by_group = {(g.attribute, g.group): g for g in evaluation.groups}
    black, white = by_group[("race", "African-American")], by_group[("race", "Caucasian")]
    # ProPublica's finding: a higher false positive rate for African-American defendants
    assert black.rates["fpr"] > white.rates["fpr"]
    assert black.intervals["fpr"][0] > white.intervals["fpr"][1]
    small = [g for g in evaluation.groups if g.attribute == "race" and g.n < 30]
    assert small, "COMPAS has race groups below the minimum size (Asian, Native American)"
    judged = evaluate(
        "m",
        "w",
        0,
        1,
        {("race", g.group): _counts(g) for g in evaluation.groups if g.attribute == "race"},
        EngineConfig(),
    )
    # the small groups are left out of the comparisons they cannot support; the rest is judged
    odds = next(d for d in judged.disparities if d.metric == "equalized_odds_difference")
    assert odds.status == "breach" and odds.small_groups == ("Asian", "Native American")


def _counts(group) -> GroupCounts:
    return GroupCounts(group.n, group.predicted_positive, group.tp, group.fp, group.tn, group.fn)


def test_counting_matches_pandas_groupby(adult_test):
    codes, names = group_codes({"race": adult_test["race"].to_numpy(dtype=object)}, ["race"])[0][1:]
    matrix = count_batch(
        codes, len(names), adult_test["prediction"].to_numpy(), adult_test["label"].to_numpy()
    )
    expected = adult_test.groupby("race").agg(n=("label", "size"), pp=("prediction", "sum"))
    for index, name in enumerate(names):
        assert matrix[index, 0] == expected.loc[name, "n"]
        assert matrix[index, 1] == expected.loc[name, "pp"]
    assert np.all(matrix[:, 2:].sum(axis=1) == matrix[:, 0])


def test_german_credit_with_a_logistic_model_equals_fairlearn():
    frame = german()
    assert len(frame) == 1000
    assert frame["sex"].value_counts().to_dict() == {"male": 690, "female": 310}
    scaler = StandardScaler().fit(frame[list(GERMAN_NUMERIC)])
    features = scaler.transform(frame[list(GERMAN_NUMERIC)])
    model = LogisticRegression(max_iter=500).fit(features, frame["label"])
    frame["prediction"] = model.predict(features).astype(int)
    evaluation = evaluate_frame(frame, ["sex", "age_group"], [["sex", "age_group"]])
    prediction, label = frame["prediction"].to_numpy(), frame["label"].to_numpy()
    for attribute in ("sex", "age_group"):
        check_against_fairlearn(
            attribute, evaluation, frame[attribute].to_numpy(), prediction, label
        )
    by_group = {(g.attribute, g.group): g for g in evaluation.groups}
    for group, rows in frame.groupby("age_group"):
        counted = by_group[("age_group", group)]
        assert counted.n == len(rows)
        assert counted.tp == int(((rows["prediction"] == 1) & (rows["label"] == 1)).sum())
        assert counted.fp == int(((rows["prediction"] == 1) & (rows["label"] == 0)).sum())
