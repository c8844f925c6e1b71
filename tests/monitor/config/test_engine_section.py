"""The ``engine:`` section is EngineConfig: every field a key, with the same default and check.

The tests iterate EngineConfig's fields, so a field added to the engine without a sample value
here, or a key documented without its field (or the reverse), fails them.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import pytest
import yaml

from monitor.config import ConfigError, config_from_dict, load_config
from monitor.config.engine import ENGINE_KEYS, FROM_MODELS
from monitor.engine.config import FIELD_CHECKS, EngineConfig
from tests.paths import ROOT

BASE: dict[str, Any] = {"sensitive": {"attributes": ["sex"]}, "embedded_sink": {"path": "m"}}
FIELDS = [field.name for field in dataclasses.fields(EngineConfig)]

# a valid value other than the default, for every field the engine section sets
SAMPLES: dict[str, Any] = {
    "min_group_size": 5,
    "ci_level": 0.9,
    "mode": "point",
    "thresholds": {"demographic_parity_difference": 0.2},
    "reference_groups": {"sex": "Female"},
    "reference_rates": ["tpr", "fpr"],
    "max_groups": 7,
    "bootstrap_samples": 200,
    "seed": 7,
    "metrics": ["demographic_parity_difference"],
    "score_bins": 20,
    "calibration_bins": 5,
}
# a value each field's check refuses
REFUSED: dict[str, Any] = {
    "min_group_size": -1,
    "ci_level": 1.5,
    "mode": "strict",
    "reference_rates": ["npv"],
    "max_groups": 0,
    "bootstrap_samples": 5,
    "metrics": ["parity"],
    "favourable_prediction": 2,
    "favourable_predictions": {"m": -1},
    "score_bins": 0,
    "calibration_bins": 0,
}


def engine(section: Any = None, **changes: Any) -> EngineConfig:
    document = {**BASE, **changes}
    if section is not None:
        document["engine"] = section
    return config_from_dict(document).engine


def test_every_field_is_a_key_or_set_per_model() -> None:
    assert set(ENGINE_KEYS) | set(FROM_MODELS) == set(FIELDS)
    assert set(SAMPLES) == set(ENGINE_KEYS), "add a sample value for each new EngineConfig field"
    assert set(REFUSED) == set(FIELD_CHECKS) <= set(FIELDS)


def test_defaults_are_the_engines_own(tmp_path: Any) -> None:
    assert engine() == engine({}) == EngineConfig()
    path = tmp_path / "fw.yaml"
    path.write_text(yaml.safe_dump({**BASE, "engine": {}}))
    assert load_config(path).engine == EngineConfig()


@pytest.mark.parametrize("name", ENGINE_KEYS)
def test_each_key_sets_its_field(name: str) -> None:
    value = SAMPLES[name]
    expected = tuple(value) if isinstance(value, list) else value
    assert getattr(EngineConfig(), name) != expected, "the sample must differ from the default"
    configured = engine({name: value})
    assert getattr(configured, name) == expected
    assert configured == dataclasses.replace(EngineConfig(), **{name: expected})


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_each_check_refuses_alike_in_yaml_and_in_python(name: str) -> None:
    with pytest.raises(ValueError, match=f"^{name}: "):
        EngineConfig(**{name: REFUSED[name]})
    if name in FROM_MODELS:
        return
    with pytest.raises(ConfigError, match=rf"^engine\.{name}: "):
        engine({name: REFUSED[name]})


def test_the_favourable_prediction_is_set_per_model() -> None:
    configured = engine(models={"risk": {"favourable_prediction": 0}, "credit": {}})
    assert configured.favourable_predictions == {"risk": 0}
    assert (configured.favourable("risk"), configured.favourable("credit")) == (0, 1)
    assert configured.favourable("unlisted") == EngineConfig().favourable_prediction
    for key in FROM_MODELS:
        with pytest.raises(ConfigError, match=rf"^engine\.{key}: is set per model, in models"):
            engine({key: 0})


def test_calibration_bins_must_divide_the_score_bins() -> None:
    assert EngineConfig().calibration_bins_in_use == 10
    assert EngineConfig(score_bins=15).calibration_bins_in_use == 15  # 10 does not divide 15
    assert EngineConfig(score_bins=20, calibration_bins=20).calibration_bins_in_use == 20
    with pytest.raises(ConfigError, match=r"^engine\.calibration_bins: must divide score_bins"):
        engine({"score_bins": 50, "calibration_bins": 7})


def test_unknown_and_deprecated_keys() -> None:
    with pytest.raises(ConfigError, match=r"^engine\.min_groupsize: unknown key"):
        engine({"min_groupsize": 3})
    assert engine({"small_groups": "gate"}) == EngineConfig()
    with pytest.raises(ConfigError, match=r"^engine\.small_groups: "):
        engine({"small_groups": "drop"})


def documented_engine_defaults() -> dict[str, str]:
    """key → default cell of the ``engine`` table in docs/configuration.md."""
    text = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    section = text.split("## `engine`", 1)[1].split("\n## ", 1)[0]
    return dict(re.findall(r"^\| `(\w+)` \| ([^|]+?) \|", section, re.MULTILINE))


def test_docs_list_each_key_once_with_its_default() -> None:
    documented = documented_engine_defaults()
    assert set(documented) == {*ENGINE_KEYS, "small_groups"}
    for name in ENGINE_KEYS:
        default = getattr(EngineConfig(), name)
        cell = documented[name].strip("`")
        shown = None if cell == "all" else yaml.safe_load(cell)
        assert shown == (list(default) if isinstance(default, tuple) else default), name
