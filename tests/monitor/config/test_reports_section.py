"""The ``reports:`` section: keyword schedules carry their period, a cron expression needs one,
names are unique, and the secrets it names are checked at start like every other."""

from __future__ import annotations

from typing import Any

import pytest

from monitor.config import ConfigError, config_from_dict, unset_secrets

BASE: dict[str, Any] = {"sensitive": {"attributes": ["sex"]}, "embedded_sink": {"path": "m"}}


def reports(*entries: dict[str, Any]) -> Any:
    return config_from_dict({**BASE, "reports": list(entries)}, environ={}).reports


def test_no_section_means_no_report() -> None:
    assert config_from_dict(BASE, environ={}).reports == []


@pytest.mark.parametrize(
    ("schedule", "cron", "period"),
    [
        ("daily", "0 6 * * *", "day"),
        ("weekly", "0 6 * * mon", "week"),
        ("monthly", "0 6 1 * *", "month"),
    ],
)
def test_a_keyword_schedule_is_a_cron_expression_and_a_period(
    schedule: str, cron: str, period: str
) -> None:
    [report] = reports({"name": "r", "schedule": schedule})
    assert (report.cron, report.period) == (cron, period)
    assert report.format == "html" and report.models == [] and report.directory is None
    assert report.max_wait == 6 * 3600 and report.max_catch_up == 12


def test_a_cron_schedule_names_its_period() -> None:
    [report] = reports({"name": "r", "schedule": "0  7 2 * *", "period": "month"})
    assert (report.cron, report.period) == ("0 7 2 * *", "month")


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({"name": "r", "schedule": "0 7 2 * *"}, "reports[0].period: is required with a cron"),
        ({"name": "r", "schedule": "fortnightly"}, "reports[0].schedule: expected daily, weekly"),
        ({"name": "r", "schedule": "61 * * * *"}, "reports[0].schedule: expected daily, weekly"),
        ({"name": "a report"}, "reports[0].name: expected letters, digits"),
        ({"name": "r", "format": "pdf"}, "reports[0].format:"),
        ({"name": "r", "slack": {"token_env": "T"}}, "reports[0].slack.channel: is required"),
        (
            {"name": "r", "webhook": {"url_env": "https://x"}},
            "reports[0].webhook.url_env: expected",
        ),
        ({"name": "r", "max_wait": "soon"}, "reports[0].max_wait: expected a duration"),
        ({"name": "r", "every": "week"}, "reports[0].every: unknown key"),
    ],
)
def test_a_bad_entry_names_its_key(entry: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError) as error:
        reports(entry)
    assert expected in str(error.value)


def test_names_are_unique() -> None:
    with pytest.raises(ConfigError, match="reports: report names must be unique: w repeated"):
        reports({"name": "w"}, {"name": "w", "schedule": "monthly"})


def test_the_secrets_a_report_posts_with_must_be_set() -> None:
    config = config_from_dict(
        {
            **BASE,
            "reports": [
                {"name": "w", "slack": {"channel": "C1", "token_env": "R_TOKEN"}},
                {"name": "m", "webhook": {"url_env": "R_HOOK"}},
            ],
        },
        environ={},
    )
    assert unset_secrets(config, {"R_TOKEN": "x"}) == [
        "reports[1].webhook.url_env: environment variable R_HOOK is not set "
        "(report 'm' posts with it)"
    ]
    assert len(unset_secrets(config, {})) == 2
    assert unset_secrets(config, {"R_TOKEN": "x", "R_HOOK": "https://h"}) == []
