"""One ConfigError for every section, one ``key.path: problem`` formatter, and each default that
a stage also uses without a configuration defined once."""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from pydantic import Field, ValidationError, field_validator

import alerting
import alerting.errors
from alerting.config import parse_alerting_config
from monitor.config import ConfigError, MonitorConfig, config_from_dict
from monitor.config.errors import describe
from monitor.config.pipeline import PipelineSettings
from monitor.config.sections import InfluxSettings, Section
from monitor.sinks.influx import InfluxSink
from monitor.stream.decode import DecodeRules
from monitor.stream.state import StateStore, connect


def test_one_config_error_class() -> None:
    assert alerting.errors.ConfigError is alerting.ConfigError is ConfigError
    with pytest.raises(ConfigError, match=r"^alerting\.rules\[0\]\.condition: "):
        parse_alerting_config({"rules": [{"name": "r", "condition": "nonsense"}]})
    with pytest.raises(ValueError, match=r"^kafka\.grup_id: unknown key"):
        config_from_dict({"sensitive": {"attributes": ["a"]}, "kafka": {"grup_id": "x"}})


class Item(Section):
    port: int = 0
    secret: int = 0


class Document(Section):
    items: list[Item] = Field(default_factory=list)
    window: str = "1h"

    @field_validator("window")
    @classmethod
    def _window(cls, value: str) -> str:
        if value == "whole":
            raise ValueError("checks the whole section")
        if value != "1h":
            raise ValueError(f"size.step: expected 1h, got {value!r}")  # names a nested key
        return value


def problems(data: Any, **options: Any) -> str:
    with pytest.raises(ValidationError) as error:
        Document.model_validate(data)
    return describe(error.value, **options)


@pytest.mark.parametrize(
    ("data", "options", "expected"),
    [
        ({"items": [{"port": "x"}]}, {}, "items[0].port: Input should be a valid integer"),
        ({"items": [{"port": "x"}]}, {}, "(got 'x')"),
        ({"items": [{"prot": 1}]}, {}, "items[0].prot: unknown key (check its spelling; docs/"),
        ({"window": "2h"}, {}, "window.size.step: expected 1h, got '2h'"),
        ({"window": "whole"}, {}, "window: checks the whole section"),
        ({"window": "2h"}, {"root": "alerting"}, "alerting.window.size.step: expected 1h"),
        ({"items": 3}, {}, "items: Input should be a valid list"),
    ],
)
def test_describe_names_the_key_path(data: Any, options: Any, expected: str) -> None:
    assert expected in problems(data, **options)


def test_describe_joins_every_problem_on_one_line_and_can_hide_values() -> None:
    line = problems({"items": [{"port": "x", "secret": "s3cr3t"}], "window": "2h"})
    assert line.count("; ") == 2 and "\n" not in line and "s3cr3t" in line
    assert "s3cr3t" not in problems({"items": [{"secret": "s3cr3t"}]}, echo_input=False)


def test_a_required_key_and_the_top_level() -> None:
    with pytest.raises(ValidationError) as error:
        MonitorConfig.model_validate({})
    assert describe(error.value) == "sensitive: is required"
    with pytest.raises(ConfigError, match=r"^alerting\.receivers\[0\]\.routing_key_env: is req"):
        parse_alerting_config({"receivers": [{"type": "pagerduty", "name": "pd"}]})


def default_of(function: Any, parameter: str) -> Any:
    return inspect.signature(function).parameters[parameter].default


def test_stage_defaults_are_the_configurations() -> None:
    pipeline = PipelineSettings()
    assert DecodeRules().max_event_bytes == pipeline.max_event_bytes
    threshold = MonitorConfig.model_fields["default_threshold"].default
    assert DecodeRules().default_threshold == threshold
    assert default_of(StateStore, "cache_mb") == default_of(connect, "cache_mb")
    assert default_of(StateStore, "cache_mb") == pipeline.state_cache_mb
    influx = InfluxSettings(url="http://influxdb:8086", org="o", bucket="b")
    assert default_of(InfluxSink, "batch_size") == influx.batch_size
    assert default_of(InfluxSink, "flush_interval") == influx.flush_interval
    assert default_of(InfluxSink, "max_backlog") == influx.buffer_points
