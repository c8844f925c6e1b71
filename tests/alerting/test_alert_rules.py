"""Rules: how a disparity is classified and which alert instances an evaluation speaks about."""

from __future__ import annotations

import pytest

from alerting.config import parse_alerting_config
from alerting.rules import classify, observe
from monitor.engine.results import Disparity
from tests.alerting.alert_builders import T0, evaluation


def rule(**fields):
    data = {"name": "r", "condition": "> 0.10", "clear_threshold": 0.08, **fields}
    return parse_alerting_config({"rules": [data]}).rules[0]


def disparity(value, ci=None, status="ok", metric="demographic_parity_difference"):
    low, high = ci if ci else (None, None)
    return Disparity("sex", metric, value, low, high, 500, status, None)


UP = rule()
CONFIDENT = rule(mode="confident")
DOWN = rule(condition="selection_rate_ratio_to_reference < 0.8", clear_threshold=0.85)

# (intent, rule, disparity, expected kind)
CASES = [
    ("above the threshold breaches", UP, disparity(0.12), "breach"),
    ("exactly at a strict threshold does not breach", UP, disparity(0.10), "hold"),
    ("between clear and fire thresholds is the hysteresis band", UP, disparity(0.09), "hold"),
    ("at or below the clear threshold clears", UP, disparity(0.08), "clear"),
    (
        "not_computable never breaches, whatever the value",
        UP,
        disparity(0.5, status="not_computable"),
        "insufficient",
    ),
    ("an undefined value never breaches", UP, disparity(None), "insufficient"),
    (
        "confident: the whole interval beyond the threshold breaches",
        CONFIDENT,
        disparity(0.15, (0.11, 0.19)),
        "breach",
    ),
    (
        "confident: an interval straddling the threshold does not breach",
        CONFIDENT,
        disparity(0.15, (0.07, 0.23)),
        "hold",
    ),
    (
        "confident: no interval means not enough evidence",
        CONFIDENT,
        disparity(0.15),
        "insufficient",
    ),
    ("confident: clearing uses the point value", CONFIDENT, disparity(0.05, (0.0, 0.2)), "clear"),
    (
        "ratio to reference below 0.8 breaches",
        DOWN,
        disparity(0.7, metric="selection_rate_ratio_to_reference"),
        "breach",
    ),
    (
        "ratio between 0.8 and the clear 0.85 holds",
        DOWN,
        disparity(0.82, metric="selection_rate_ratio_to_reference"),
        "hold",
    ),
    (
        "ratio back above 0.85 clears",
        DOWN,
        disparity(0.9, metric="selection_rate_ratio_to_reference"),
        "clear",
    ),
]


@pytest.mark.parametrize(
    ("config", "item", "kind"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_classify(config, item, kind) -> None:
    assert classify(config, item) == kind


def test_selector_globs_and_condition_metric() -> None:
    config = rule(
        selector={"model_id": "credit-*", "window": "1h"},
        condition="demographic_parity_difference > 0.1",
    )
    assert len(observe([config], evaluation(0.2, T0))) == 1
    assert observe([config], evaluation(0.2, T0, model_id="fraud-v1")) == []
    assert observe([config], evaluation(0.2, T0, window="1d")) == []
    assert observe([config], evaluation(0.2, T0, metric="equal_opportunity_difference")) == []


def test_ratio_to_reference_instances_are_per_group() -> None:
    config = rule(
        condition="selection_rate_ratio_to_reference < 0.8",
        clear_threshold=None,
        selector={"group": "fem*"},
    )
    seen = observe(
        [config], evaluation(0.7, T0, metric="selection_rate_ratio_to_reference", group="female")
    )
    assert [(o.key.group, o.kind) for o in seen] == [("female", "breach")]
    other = observe(
        [config], evaluation(0.7, T0, metric="selection_rate_ratio_to_reference", group="male")
    )
    assert other == []


def test_observation_carries_the_rule_for_and_per_group_stats() -> None:
    config = rule(**{"for": "15m"})
    (observation,) = observe([config], evaluation(0.12, T0))
    assert observation.for_seconds == 900 and observation.for_evaluations == 0
    assert observation.value == 0.12 and observation.ci == pytest.approx((0.10, 0.14))
    assert [g["group"] for g in observation.groups] == ["female", "male"]
    assert observation.groups[0]["intervals"]["selection_rate"] == pytest.approx([0.26, 0.34])


def test_low_volume_observation_breaches_only_when_every_disparity_is_starved() -> None:
    config = rule(low_volume={"after": "6h", "severity": "info"})
    starved = observe([config], evaluation(None, T0, min_group_n=12))
    low = [o for o in starved if o.key.kind == "low_volume"]
    assert [(o.kind, o.value, o.for_seconds) for o in low] == [("breach", 12.0, 21600.0)]
    fed = observe([config], evaluation(0.01, T0))
    assert [o.kind for o in fed if o.key.kind == "low_volume"] == ["clear"]
