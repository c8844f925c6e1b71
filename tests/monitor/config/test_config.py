"""Configuration: the example file loads; bad files are refused with the key and expected form."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fairwatch.app import load
from fairwatch.cli import main
from monitor.config import ConfigError, config_from_dict, load_config, parse_window
from tests.paths import ROOT

EXAMPLE = ROOT / "deploy/config/fairwatch.yaml"


def test_example_config_loads_and_passes_every_check(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "broker-1:9092,broker-2:9092")
    monkeypatch.setenv("INFLUXDB_TOKEN", "secret-token")
    monkeypatch.setenv("FAIRWATCH_WEBHOOK_URL", "https://hooks.example.com/fairwatch")
    config = load(str(EXAMPLE))
    assert config.kafka.bootstrap_servers == ["broker-1:9092", "broker-2:9092"]
    assert config.thresholds == {"credit-v3": 0.5, "credit-v4": 0.62}
    assert [spec.name for spec in config.windows] == ["1h", "1d/1h"]
    assert config.label_horizon == 30 * 86400 and config.allowed_lateness == 600
    assert config.influxdb is not None and config.influxdb.token() == "secret-token"
    assert config.engine.thresholds["demographic_parity_difference"] == 0.1
    assert config.alerting is not None


def test_check_config_command(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INFLUXDB_TOKEN", "secret-token")
    monkeypatch.setenv("FAIRWATCH_WEBHOOK_URL", "https://hooks.example.com/fairwatch")
    assert main(["check-config", str(EXAMPLE)]) == 0
    assert "ok" in capsys.readouterr().out
    bad = tmp_path / "bad.yaml"
    bad.write_text("sensitive: {attributes: [sex]}\nwindows: [1h, 90x]\n")
    assert main(["check-config", str(bad)]) == 2
    assert "windows[1]" in capsys.readouterr().err


BASE: dict[str, Any] = {
    "sensitive": {"attributes": ["sex", "race"]},
    "embedded_sink": {"path": "m"},
}


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"windows": ["1h", "soon"]}, "windows[1]: expected a duration such as"),
        ({"windows": ["1h/25m"]}, "windows[0]: window size must be a whole multiple"),
        ({"windows": []}, "windows: expected a non-empty list"),
        ({"label_horizon": "a month"}, "label_horizon: expected a duration"),
        ({"kafka": {"max_poll_records": 0}}, "kafka.max_poll_records:"),
        ({"kafka": {"grup_id": "x"}}, "kafka.grup_id: unknown key"),
        ({"models": {"m": {"threshold": 1.5}}}, "models.m.threshold:"),
        ({"sensitive": {"attributes": []}}, "sensitive.attributes:"),
        (
            {"sensitive": {"attributes": ["sex"], "intersections": [["sex", "age"]]}},
            "intersections[0] names ['age']",
        ),
        ({"engine": {"mode": "strict"}}, "engine.mode:"),
        ({"engine": {"metrics": ["parity"]}}, "unknown disparity metrics ['parity']"),
        ({"influxdb": {"url": "http://x"}}, "influxdb.org: is required"),
        ({"health": {"port": 70000}}, "health.port:"),
        (
            {"influxdb": {"url": "${NO_SUCH_VARIABLE_X}", "org": "o", "bucket": "b"}},
            "influxdb.url: environment variable NO_SUCH_VARIABLE_X is not set",
        ),
    ],
)
def test_bad_config_names_the_key(changes: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError) as error:
        config_from_dict({**BASE, **changes}, environ={})
    assert expected in str(error.value)


def test_environment_substitution_with_default() -> None:
    config = config_from_dict(
        {**BASE, "state_dir": "${STATE:-/tmp/default}", "kafka": {"group_id": "g-${ENVIRONMENT}"}},
        environ={"ENVIRONMENT": "prod"},
    )
    assert config.state_dir == "/tmp/default" and config.kafka.group_id == "g-prod"


def test_alerting_section_is_validated_by_the_alert_manager(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        "sensitive: {attributes: [sex]}\nembedded_sink: {path: m.sqlite}\n"
        "alerting: {rules: [{name: r, condition: 'nonsense'}]}\n"
    )
    with pytest.raises(ConfigError, match="alerting"):
        load(str(path))


def test_unreadable_and_invalid_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.yaml")
    path = tmp_path / "broken.yaml"
    path.write_text("kafka: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(path)


def test_window_forms() -> None:
    assert parse_window("1h").name == "1h" and not parse_window("1h").sliding
    sliding = parse_window("1d/1h")
    assert (sliding.size, sliding.step, sliding.name) == (86400, 3600, "1d/1h")
    assert parse_window({"size": "2h", "step": "30m"}).name == "2h/30m"
