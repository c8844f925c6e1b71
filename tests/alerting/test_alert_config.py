"""The ``alerting:`` config: defaults, accepted forms, errors that name the key path, and the
example in docs/alerting.md (loaded here so that it cannot rot)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from alerting.config import parse_alerting_config
from alerting.errors import ConfigError
from alerting.receivers import PagerDutyConfig, RetrainingConfig, SlackConfig, WebhookConfig

DOCS = Path(__file__).resolve().parents[2] / "docs" / "alerting.md"


def example_section() -> dict:
    text = DOCS.read_text(encoding="utf-8")
    match = re.search(r"<!-- example-config -->\s*```yaml\n(.*?)```", text, re.DOTALL)
    assert match, "docs/alerting.md must hold the example config after <!-- example-config -->"
    return yaml.safe_load(match.group(1))["alerting"]


def test_documented_example_loads() -> None:
    config = parse_alerting_config(example_section())
    kinds = {type(receiver) for receiver in config.receivers}
    assert kinds == {SlackConfig, PagerDutyConfig, WebhookConfig, RetrainingConfig}
    assert {rule.mode for rule in config.rules} == {"point", "confident"}
    assert any(rule.low_volume for rule in config.rules)
    assert any(rule.for_.evaluations for rule in config.rules)
    assert any(rule.selector.metric.endswith("_ratio_to_reference") for rule in config.rules)


def test_defaults() -> None:
    config = parse_alerting_config({})
    assert config.rules == [] and config.receivers == []
    assert config.routing.group_by == ["rule", "model_id"]
    assert (
        config.routing.group_wait,
        config.routing.group_interval,
        config.routing.repeat_interval,
    ) == (30, 300, 14400)
    assert config.storage.path == "alerting.sqlite"
    assert config.advice.topic is None and not config.advice.selects("any")  # not published


def test_the_advice_topic_selects_rules_by_glob() -> None:
    advice = parse_alerting_config({"advice": {"topic": "fw-advice", "rules": ["dp*"]}}).advice
    assert (advice.topic, advice.timeout) == ("fw-advice", 10.0)
    assert advice.selects("dp-credit") and not advice.selects("calibration")


@pytest.mark.parametrize(
    ("condition", "metric", "op", "threshold"),
    [
        ("demographic_parity_difference > 0.10", "demographic_parity_difference", ">", 0.10),
        ("selection_rate_ratio_to_reference < 0.8", "selection_rate_ratio_to_reference", "<", 0.8),
        (">= 0.2", None, ">=", 0.2),
        ({"op": "<=", "threshold": -1}, None, "<=", -1.0),
    ],
)
def test_condition_forms(condition, metric, op, threshold) -> None:
    (rule,) = parse_alerting_config({"rules": [{"name": "r", "condition": condition}]}).rules
    assert (rule.condition.metric, rule.condition.op, rule.condition.threshold) == (
        metric,
        op,
        threshold,
    )
    assert rule.selector.metric == (metric or "*")


@pytest.mark.parametrize(
    ("value", "seconds", "evaluations", "windows"),
    [
        ("3 evaluations", 0, 3, 0),
        ("1 window", 0, 0, 1),
        ("2 windows", 0, 0, 2),
        ("15m", 900, 0, 0),
        (90, 90, 0, 0),
        ("90", 90, 0, 0),  # a bare number is seconds, as in every section
        ({"seconds": 60, "evaluations": 2}, 60, 2, 0),
        ({"windows": 2, "evaluations": 3}, 0, 3, 2),
    ],
)
def test_for_forms(value, seconds, evaluations, windows) -> None:
    (rule,) = parse_alerting_config(
        {"rules": [{"name": "r", "condition": "> 0.1", "for": value}]}
    ).rules
    assert (rule.for_.seconds, rule.for_.evaluations, rule.for_.windows) == (
        seconds,
        evaluations,
        windows,
    )


RULE = {"name": "r", "condition": "> 0.1"}
# (intent, alerting section, expected message fragment naming the path)
ERRORS = [
    (
        "unknown operator",
        {"rules": [{"name": "r", "condition": {"op": "=", "threshold": 1}}]},
        "alerting.rules[0].condition.op: Input should be '>', '>=', '<' or '<='",
    ),
    (
        "unparsable condition string",
        {"rules": [{"name": "r", "condition": "dp is high"}]},
        "alerting.rules[0].condition: expected 'METRIC OP NUMBER'",
    ),
    (
        "misspelt key",
        {"rules": [{**RULE, "serverity": "critical"}]},
        "alerting.rules[0].serverity: unknown key",
    ),
    (
        "bad severity",
        {"rules": [{**RULE, "severity": "page"}]},
        "alerting.rules[0].severity: Input should be 'info', 'warning' or 'critical'",
    ),
    (
        "clear threshold on the wrong side",
        {"rules": [{**RULE, "clear_threshold": 0.2}]},
        "alerting.rules[0]: clear_threshold 0.2 must be at or below the threshold 0.1",
    ),
    (
        "bad `for`",
        {"rules": [{**RULE, "for": "a while"}]},
        "alerting.rules[0].for: expected a duration (30s, 5m, 2h) or a count of windows",
    ),
    (
        "rule naming an unknown receiver",
        {"rules": [{**RULE, "receivers": ["ops"]}]},
        "alerting.rules[0].receivers: unknown receiver 'ops'",
    ),
    (
        "bad duration",
        {"routing": {"repeat_interval": "daily"}},
        "alerting.routing.repeat_interval: expected a duration such as 30s",
    ),
    (
        "unknown receiver type",
        {"receivers": [{"type": "sms", "name": "x"}]},
        "alerting.receivers[0]: expected type to be one of slack, pagerduty, webhook, retraining",
    ),
    (
        "secret given instead of an env var name",
        {"receivers": [{"type": "pagerduty", "name": "pd", "routing_key_env": "R0UT1NG KEY!"}]},
        "alerting.receivers[0].routing_key_env: expected the NAME of an environment variable",
    ),
    (
        "missing required key",
        {"receivers": [{"type": "pagerduty", "name": "pd"}]},
        "alerting.receivers[0].routing_key_env: is required",
    ),
    (
        "webhook without a URL",
        {"receivers": [{"type": "webhook", "name": "w"}]},
        "alerting.receivers[0]: expected exactly one of url, url_env",
    ),
    (
        "webhook URL that is not http(s)",
        {"receivers": [{"type": "webhook", "name": "w", "url": "ftp://example.com/x"}]},
        "alerting.receivers[0].url: expected an absolute http:// or https:// URL",
    ),
    (
        "Slack with both modes",
        {
            "receivers": [
                {
                    "type": "slack",
                    "name": "s",
                    "token_env": "T",
                    "channel": "#c",
                    "webhook_url_env": "H",
                }
            ]
        },
        "alerting.receivers[0]: expected either token_env and channel (Web API) or webhook_url_env",
    ),
    (
        "duplicate receiver names",
        {"receivers": [{"type": "webhook", "name": "w", "url": "http://127.0.0.1/"}] * 2},
        "alerting: receiver names must be unique, repeated: w",
    ),
    (
        "a receiver named like the advice topic",
        {"receivers": [{"type": "webhook", "name": "advice-topic", "url": "http://127.0.0.1/"}]},
        "alerting: receiver name 'advice-topic' is reserved for the advice topic",
    ),
    (
        "an empty advice topic",
        {"advice": {"topic": ""}},
        "alerting.advice.topic:",
    ),
    (
        "retraining webhook listed as a rule receiver",
        {
            "rules": [{**RULE, "receivers": ["retrain"]}],
            "receivers": [
                {
                    "type": "retraining",
                    "name": "retrain",
                    "url": "http://127.0.0.1/",
                    "rules": ["r"],
                }
            ],
        },
        "alerting.rules[0].receivers: 'retrain' is a retraining webhook",
    ),
]


@pytest.mark.parametrize(
    ("section", "fragment"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS]
)
def test_errors_name_the_key_path(section, fragment) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_alerting_config(section)
    assert fragment in str(raised.value)


def test_not_a_mapping() -> None:
    with pytest.raises(ConfigError, match="alerting: expected a mapping"):
        parse_alerting_config(["rules"])  # type: ignore[arg-type]
