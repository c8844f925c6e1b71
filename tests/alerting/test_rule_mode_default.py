"""A rule's mode when it is left out: sequential where the rule can be, else point."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from alerting.config import parse_alerting_config
from fairwatch.cli import main


def mode_of(**rule: Any) -> str | None:
    config = parse_alerting_config({"rules": [{"name": "r", **rule}]})
    return config.rules[0].mode


def test_a_difference_on_one_tumbling_window_is_sequential() -> None:
    assert mode_of(selector={"window": "5m"}, condition="demographic_parity_difference > 0.1") == (
        "sequential"
    )
    assert (
        mode_of(selector={"window": "1h", "metric": "equalized_odds_difference"}, condition="> 0.1")
        == "sequential"
    )


@pytest.mark.parametrize(
    ("rule", "why"),
    [
        (
            {"selector": {"window": "1h/5m"}, "condition": "demographic_parity_difference > 0.1"},
            "a sliding window",
        ),
        ({"condition": "demographic_parity_difference > 0.1"}, "any window (a glob)"),
        (
            {"selector": {"window": "1h"}, "condition": "selection_rate_ratio_to_reference < 0.8"},
            "a ratio below a threshold",
        ),
        (
            {
                "selector": {"window": "1h", "group": "A"},
                "condition": "demographic_parity_difference > 0.1",
            },
            "one group",
        ),
    ],
)
def test_rules_sequential_cannot_serve_are_point(rule: dict[str, Any], why: str) -> None:
    assert mode_of(**rule) == "point", why


def test_a_mode_given_is_kept() -> None:
    rule = {"selector": {"window": "5m"}, "condition": "demographic_parity_difference > 0.1"}
    assert mode_of(**rule, mode="point") == "point"
    assert mode_of(**rule, mode="confident") == "confident"


def test_sequential_settings_on_a_rule_that_defaults_to_point_are_refused() -> None:
    with pytest.raises(ValueError, match="arl: applies only to mode: sequential"):
        mode_of(
            selector={"window": "1h/5m"}, condition="demographic_parity_difference > 0.1", arl="7d"
        )


def test_check_config_names_each_rules_mode(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = {
        "windows": ["5m", "1h/5m"],
        "sensitive": {"attributes": ["sex"]},
        "embedded_sink": {"path": str(tmp_path / "m.sqlite")},
        "state_dir": str(tmp_path / "state"),
        "alerting": {
            "rules": [
                {
                    "name": "dp",
                    "selector": {"window": "5m"},
                    "condition": "demographic_parity_difference > 0.1",
                },
                {
                    "name": "dp-sliding",
                    "selector": {"window": "1h/5m"},
                    "condition": "demographic_parity_difference > 0.1",
                    "mode": "confident",
                },
            ]
        },
    }
    path = tmp_path / "fairwatch.yaml"
    path.write_text(yaml.safe_dump(document))
    assert main(["check-config", str(path)]) == 0
    out = capsys.readouterr().out
    assert "rule dp: mode sequential (default)" in out
    assert "rule dp-sliding: mode confident (set)" in out
