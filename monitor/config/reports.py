"""The ``reports:`` section: compliance reports made on a schedule by ``fairwatch run``.

Each entry makes the report of the previous period (day, week or month, UTC) when its schedule
fires, writes it into ``directory`` and, optionally, posts it to Slack (a file upload) or a
webhook (its path or URL and its hash). ``fairwatch.compliance.schedule`` runs them.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from monitor.config.durations import Duration
from monitor.config.sections import Section

#: A schedule's keywords: the cron expression (UTC) each stands for and the period it reports.
SCHEDULE_KEYWORDS: dict[str, tuple[str, Literal["day", "week", "month"]]] = {
    "daily": ("0 6 * * *", "day"),
    "weekly": ("0 6 * * mon", "week"),
    "monthly": ("0 6 1 * *", "month"),
}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _env_name(value: str) -> str:
    if not _ENV_NAME.match(value):
        raise ValueError(f"expected the NAME of an environment variable, got {value!r}")
    return value


class SlackReportTarget(Section):
    """Upload the report as a file to ``channel`` (a channel id) with the bot token held in the
    variable ``token_env`` (scope ``files:write``)."""

    channel: str = Field(min_length=1)
    token_env: str = "SLACK_BOT_TOKEN"
    base_url: str = "https://slack.com/api/"
    timeout: Duration = Field(default=30.0, gt=0)

    @field_validator("token_env")
    @classmethod
    def _token_env(cls, value: str) -> str:
        return _env_name(value)


class WebhookReportTarget(Section):
    """POST the report's name, period, path or URL and hash (JSON) to the URL held in the
    variable ``url_env``."""

    url_env: str
    timeout: Duration = Field(default=10.0, gt=0)

    @field_validator("url_env")
    @classmethod
    def _url_env(cls, value: str) -> str:
        return _env_name(value)


class ReportSettings(Section):
    """One scheduled report (see docs/reports.md)."""

    name: str
    # daily, weekly, monthly (06:00 UTC; Mondays; the 1st) or a 5-field cron expression (UTC)
    schedule: str = "weekly"
    # the period reported when the schedule fires: the previous whole day, week or month (UTC);
    # set by a keyword schedule, required with a cron expression
    period: Literal["day", "week", "month"] | None = None
    # one report per model; empty: one report of every model
    models: list[str] = Field(default_factory=list)
    format: Literal["html", "json"] = "html"
    # where reports are written (default: <state_dir>/reports)
    directory: str | None = None
    # the URL `directory` is served at, if any: posts then carry the report's URL
    public_url: str | None = None
    slack: SlackReportTarget | None = None
    webhook: WebhookReportTarget | None = None
    # a report waits for the pipeline's event time to pass the period's end (all its windows
    # closed) at most this long after the schedule fired, then is made with what is there
    max_wait: Duration = Field(default=6 * 3600.0, ge=0.0)
    # after downtime, at most this many missed runs are made up (the most recent ones)
    max_catch_up: int = Field(default=12, ge=1)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(f"expected letters, digits, '.', '_' or '-', got {value!r}")
        return value

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        text = " ".join(value.split())
        if text in SCHEDULE_KEYWORDS:
            return text
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(text, timezone="UTC")
        except ValueError as error:
            raise ValueError(
                f"expected daily, weekly, monthly or a cron expression such as '0 6 * * mon', "
                f"got {value!r} ({error})"
            ) from None
        return text

    @model_validator(mode="after")
    def _period(self) -> ReportSettings:
        if self.period is None:
            keyword = SCHEDULE_KEYWORDS.get(self.schedule)
            if keyword is None:
                raise ValueError(
                    "period: is required with a cron schedule (day, week or month: the "
                    "previous one is reported)"
                )
            object.__setattr__(self, "period", keyword[1])
        return self

    @property
    def cron(self) -> str:
        """The schedule as a cron expression (UTC)."""
        return SCHEDULE_KEYWORDS.get(self.schedule, (self.schedule, "week"))[0]


def check_report_names(reports: list[ReportSettings]) -> list[ReportSettings]:
    """Names are unique (each keeps its own record of the runs it made)."""
    names = [report.name for report in reports]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"report names must be unique: {', '.join(repeated)} repeated")
    return reports
