"""Durations: one parser, one rule, the same in every section of the file."""

from __future__ import annotations

import math
from typing import Any

import pytest

from alerting.config import parse_alerting_config
from monitor.config import ConfigError, config_from_dict, format_duration, parse_duration

# (what the file says, seconds): a number with a unit, or a bare number of seconds
ACCEPTED: list[tuple[Any, float]] = [
    ("500ms", 0.5),
    ("90s", 90.0),
    ("5m", 300.0),
    ("1.5h", 5400.0),
    ("30d", 30 * 86400.0),
    ("2w", 14 * 86400.0),
    (" 10 m ", 600.0),  # spaces around and between are allowed
    ("0s", 0.0),
    ("90", 90.0),  # a bare number is seconds, also as text (what ${VAR} gives)
    ("1.5", 1.5),
    (90, 90.0),
    (1.5, 1.5),
    (0, 0.0),
]
# what the file says: none of these is a duration
REJECTED: list[Any] = [
    "soon",
    "",
    "1h30m",  # one unit per duration
    "5 minutes",
    "5M",  # units are lower case
    ".5h",
    "1e3",
    "-5s",
    -1,
    math.inf,
    math.nan,
    True,
    None,
    [5],
    {"seconds": 5},
]


@pytest.mark.parametrize(("value", "seconds"), ACCEPTED)
def test_accepted(value: Any, seconds: float) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize("value", REJECTED, ids=repr)
def test_rejected_naming_the_expected_form(value: Any) -> None:
    with pytest.raises(ValueError, match=r"^expected a duration such as 30s, 5m, 1h, 30d"):
        parse_duration(value)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(3600.0, "1h"), (90.0, "90s"), (5400.0, "90m"), (86400.0, "1d"), (1.5, "1.5s"), (0.0, "0s")],
)
def test_format_is_the_shortest_exact_unit(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
    assert parse_duration(text) == seconds


BASE: dict[str, Any] = {"sensitive": {"attributes": ["sex"]}, "embedded_sink": {"path": "m"}}


def in_pipeline(value: Any, environ: dict[str, str] | None = None) -> float | str:
    """``pipeline.checkpoint_interval`` in seconds, or the problem after the key."""
    try:
        config = config_from_dict(
            {**BASE, "pipeline": {"checkpoint_interval": value}}, environ=environ or {}
        )
    except ConfigError as error:
        return str(error).removeprefix("pipeline.checkpoint_interval: ")
    return config.pipeline.checkpoint_interval


def in_alerting(value: Any, environ: dict[str, str] | None = None) -> float | str:
    """``alerting.routing.group_wait`` in seconds, or the problem after the key."""
    try:
        config = config_from_dict(
            {**BASE, "alerting": {"routing": {"group_wait": value}}}, environ=environ or {}
        )
        alerting = parse_alerting_config(config.alerting)
    except ConfigError as error:
        return str(error).removeprefix("alerting.routing.group_wait: ")
    return alerting.routing.group_wait


@pytest.mark.parametrize("value", [value for value, _ in ACCEPTED] + REJECTED, ids=repr)
def test_the_alerting_and_pipeline_sections_read_a_duration_alike(value: Any) -> None:
    assert in_alerting(value) == in_pipeline(value)


def test_a_bare_number_from_the_environment_is_seconds_in_every_section() -> None:
    """Was: ``"90"`` accepted by the pipeline section and refused by the alerting section."""
    environ = {"WAIT": "90"}
    assert in_pipeline("${WAIT}", environ) == in_alerting("${WAIT}", environ) == 90.0
    config = config_from_dict(
        {
            **BASE,
            "pipeline": {"checkpoint_interval": "${WAIT}"},
            "alerting": {"routing": {"group_wait": "${WAIT}"}},
        },
        environ=environ,
    )
    alerting = parse_alerting_config(config.alerting)
    assert config.pipeline.checkpoint_interval == alerting.routing.group_wait == 90.0
