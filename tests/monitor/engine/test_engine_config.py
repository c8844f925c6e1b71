"""The engine's configuration (:mod:`monitor.engine.config`): defaults, checks, lookups."""

from __future__ import annotations

import pytest

from monitor.engine.config import EngineConfig
from monitor.engine.disparities import METRICS


def test_defaults_and_thresholds() -> None:
    config = EngineConfig()
    assert (config.min_group_size, config.ci_level, config.mode) == (30, 0.95, "confident")
    assert config.threshold("demographic_parity_difference") == 0.1
    assert config.threshold("demographic_parity_ratio") == 0.8
    assert config.threshold("selection_rate_ratio_to_reference") == 0.8
    assert config.threshold("no_such_metric") is None
    changed = EngineConfig(thresholds={"demographic_parity_difference": 0.05})
    assert changed.threshold("demographic_parity_difference") == 0.05
    assert changed.threshold("equalized_odds_difference") == 0.1
    for metric in METRICS:
        assert config.threshold(metric.name) is not None, metric.name


def test_the_favourable_prediction_per_model() -> None:
    config = EngineConfig(favourable_prediction=1, favourable_predictions={"risk": 0})
    assert config.favourable("risk") == 0 and config.favourable("credit") == 1


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"mode": "strict"}, "mode: must be"),
        ({"ci_level": 1.0}, "ci_level"),
        ({"min_group_size": -1}, "min_group_size"),
        ({"bootstrap_samples": 5}, "bootstrap_samples"),
        ({"max_groups": 0}, "max_groups"),
        ({"metrics": ("parity",)}, "unknown disparity metrics"),
        ({"reference_rates": ("fnr",)}, "reference_rates"),
        ({"favourable_prediction": 2}, "favourable_prediction"),
        ({"favourable_predictions": {"m": 3}}, "favourable_prediction"),
    ],
)
def test_bad_settings_are_refused_with_the_setting_named(changes, message) -> None:
    with pytest.raises(ValueError, match=message):
        EngineConfig(**changes)
