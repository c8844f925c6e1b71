"""Which prediction is favourable, per model, and the reference group it makes: ratios of
selection rates (the four-fifths rule) compare favourable rates against the most favoured group."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fairlearn import metrics as flm

from monitor.config import MonitorConfig
from monitor.engine.counts import GroupCounts
from monitor.engine.evaluate import EngineConfig, evaluate
from monitor.engine.results import Disparity, WindowEvaluation


def group(n: int, selected: int) -> GroupCounts:
    positives = n // 2
    tp = min(selected, positives)
    fp = selected - tp
    return GroupCounts(n, selected, tp, fp, n - positives - fp, positives - tp)


# prediction 1 = "high risk": A is flagged 60% of the time, B 30%
RISK = {("race", "A"): group(2000, 1200), ("race", "B"): group(2000, 600)}


def ratios(evaluation: WindowEvaluation) -> dict[str, Disparity]:
    return {
        d.group or "": d
        for d in evaluation.disparities
        if d.metric == "selection_rate_ratio_to_reference"
    }


def find(evaluation: WindowEvaluation, metric: str) -> Disparity:
    (match,) = [d for d in evaluation.disparities if d.metric == metric and d.group is None]
    return match


def test_with_prediction_0_favourable_the_ratio_compares_the_shares_rated_low_risk() -> None:
    adverse = evaluate("risk-model", "1h", 0, 1, RISK)
    favourable = evaluate("risk-model", "1h", 0, 1, RISK, EngineConfig(favourable_prediction=0))
    # taking 1 as favourable: B gets "high risk" half as often as A and looks disadvantaged
    assert ratios(adverse)["B"].reference_group == "A"
    assert ratios(adverse)["B"].value == pytest.approx(0.3 / 0.6)
    # taking 0 as favourable: A is rated low risk 40% of the time against B's 70%
    ratio = ratios(favourable)["A"]
    assert ratios(favourable)["B"].value == 1.0  # the reference itself
    assert (ratio.group, ratio.reference_group) == ("A", "B")
    assert ratio.value == pytest.approx(0.4 / 0.7)
    assert ratio.rate == "favourable_rate"
    assert (ratio.highest_group, ratio.highest_rate) == ("B", pytest.approx(0.7))
    assert ratio.status == "breach"
    parity = find(favourable, "demographic_parity_ratio")
    assert parity.value == pytest.approx(0.4 / 0.7) and parity.lowest_group == "A"
    # differences do not depend on which outcome is favourable
    assert find(favourable, "demographic_parity_difference").value == pytest.approx(0.3)
    assert find(favourable, "demographic_parity_difference").rate == "selection_rate"


def favourable_rate(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(flm.selection_rate(y_true, y_pred, pos_label=0))


def test_the_favourable_ratio_equals_fairlearns_with_pos_label_0() -> None:
    rng = np.random.default_rng(3)
    groups = rng.choice(["a", "b", "c"], 3000)
    prediction = (rng.random(3000) < np.where(groups == "a", 0.7, 0.4)).astype(int)
    counts = {
        ("g", name): GroupCounts(int((groups == name).sum()), int(prediction[groups == name].sum()))
        for name in ("a", "b", "c")
    }
    evaluation = evaluate("m", "w", 0, 1, counts, EngineConfig(favourable_prediction=0))
    frame = flm.MetricFrame(
        metrics=favourable_rate,
        y_true=np.zeros(3000),
        y_pred=prediction,
        sensitive_features=pd.Series(groups, name="g"),
    )
    assert find(evaluation, "demographic_parity_ratio").value == pytest.approx(
        frame.ratio(), abs=1e-9
    )


def test_the_reference_is_the_most_favoured_group_with_enough_rows() -> None:
    counts = {
        ("race", "large"): group(5000, 2000),  # 0.40
        ("race", "favoured"): group(400, 240),  # 0.60
        ("race", "tiny"): group(10, 10),  # 1.00 on 10 rows: not a reference
    }
    evaluation = evaluate("m", "w", 0, 1, counts)
    assert {d.reference_group for d in ratios(evaluation).values()} == {"favoured"}
    assert ratios(evaluation)["large"].value == pytest.approx(0.4 / 0.6)
    configured = evaluate("m", "w", 0, 1, counts, EngineConfig(reference_groups={"race": "large"}))
    assert {d.reference_group for d in ratios(configured).values()} == {"large"}


def test_each_model_has_its_own_favourable_prediction() -> None:
    config = MonitorConfig.model_validate(
        {
            "sensitive": {"attributes": ["race"]},
            "models": {"recidivism": {"favourable_prediction": 0}, "credit": {"threshold": 0.6}},
        }
    )
    engine = config.engine
    assert (engine.favourable("recidivism"), engine.favourable("credit")) == (0, 1)
    assert engine.favourable("unlisted") == 1
    risk = evaluate("recidivism", "1h", 0, 1, RISK, engine)
    credit = evaluate("credit", "1h", 0, 1, RISK, engine)
    assert {d.reference_group for d in ratios(risk).values()} == {"B"}
    assert {d.reference_group for d in ratios(credit).values()} == {"A"}


def test_a_favourable_prediction_other_than_0_or_1_is_refused() -> None:
    with pytest.raises(ValueError, match="favourable_prediction"):
        MonitorConfig.model_validate(
            {"sensitive": {"attributes": ["race"]}, "models": {"m": {"favourable_prediction": 2}}}
        )
    with pytest.raises(ValueError, match="favourable_prediction"):
        EngineConfig(favourable_prediction=-1)
