"""Posting a scheduled report: a Slack file upload (slack-sdk ``files_upload_v2``: the file
itself, with its period and hash in the message) or a webhook POST (JSON with the report's
path, its URL when ``public_url`` is set, and its hash). A failed post raises
:class:`PublishError`; the scheduler tries it again later, never a post that went out.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Protocol

import httpx

from fairwatch.compliance.period import format_time
from fairwatch.compliance.schedule.runs import MadeReport
from monitor import __version__
from monitor.config import ReportSettings, SlackReportTarget, WebhookReportTarget


class PublishError(Exception):
    """A post failed; the message says where and why (never a secret)."""


@dataclass(frozen=True)
class Publication:
    """What a post says about one report made."""

    report: MadeReport
    settings: ReportSettings

    @property
    def url(self) -> str | None:
        base = self.settings.public_url
        return None if base is None else base.rstrip("/") + "/" + self.report.path.name

    @property
    def title(self) -> str:
        key = self.report.key
        return (
            f"fairwatch report {key.name}: {key.subject}, "
            f"{format_time(key.period_start)} to {format_time(key.period_end)}"
        )

    def body(self) -> dict[str, object]:
        key = self.report.key
        return {
            "report": key.name,
            "model": None if key.subject == "all" else key.subject,
            "period": {"from": format_time(key.period_start), "to": format_time(key.period_end)},
            "format": key.format,
            "file": self.report.path.name,
            "path": str(self.report.path),
            "url": self.url,
            "sha256": self.report.sha256,
            "config_sha256": key.config_hash,
            "version": __version__,
        }

    @property
    def idempotency_key(self) -> str:
        key = self.report.key
        period = f"{key.period_start:.0f}-{key.period_end:.0f}"
        return f"{key.name}:{key.subject}:{period}:{key.format}:{key.config_hash[:16]}"


class Publisher(Protocol):
    name: str  # recorded per post: ``slack`` or ``webhook``

    def publish(self, publication: Publication) -> None: ...


def _secret(variable: str, what: str) -> str:
    value = os.environ.get(variable, "")
    if not value:
        raise PublishError(f"{what}: environment variable {variable} is not set")
    return value


class SlackPublisher:
    """Uploads the report file to a Slack channel (``files:write``)."""

    name = "slack"

    def __init__(self, target: SlackReportTarget) -> None:
        self.target = target

    def publish(self, publication: Publication) -> None:
        from slack_sdk import WebClient
        from slack_sdk.errors import SlackApiError, SlackClientError

        token = _secret(self.target.token_env, "slack.token_env")
        client = WebClient(
            token=token, base_url=self.target.base_url, timeout=int(self.target.timeout)
        )
        comment = f"{publication.title}\nsha256 `{publication.report.sha256}`"
        if publication.url:
            comment += f"\n{publication.url}"
        try:
            client.files_upload_v2(
                channel=self.target.channel,
                file=str(publication.report.path),
                filename=publication.report.path.name,
                title=publication.title,
                initial_comment=comment,
            )
        except SlackApiError as error:
            reason = error.response.get("error", "unknown") if error.response else "unknown"
            raise PublishError(f"slack upload to {self.target.channel} failed: {reason}") from None
        except (SlackClientError, OSError) as error:
            raise PublishError(
                f"slack upload to {self.target.channel} failed: {type(error).__name__}: {error}"
            ) from None


class WebhookPublisher:
    """POSTs the report's name, period, path, URL and hash as JSON (with an
    ``Idempotency-Key`` header: the same report always has the same key)."""

    name = "webhook"

    def __init__(self, target: WebhookReportTarget) -> None:
        self.target = target

    def publish(self, publication: Publication) -> None:
        url = _secret(self.target.url_env, "webhook.url_env")
        body = json.dumps(publication.body(), sort_keys=True).encode()
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": publication.idempotency_key,
            "User-Agent": f"fairwatch/{__version__}",
        }
        try:
            response = httpx.post(url, content=body, headers=headers, timeout=self.target.timeout)
        except httpx.HTTPError as error:
            raise PublishError(f"webhook post failed: {type(error).__name__}") from None
        if not 200 <= response.status_code < 300:
            raise PublishError(f"webhook post failed: HTTP {response.status_code}")


def publishers(settings: ReportSettings) -> list[Publisher]:
    """Where ``settings`` posts its reports, in a fixed order."""
    found: list[Publisher] = []
    if settings.slack is not None:
        found.append(SlackPublisher(settings.slack))
    if settings.webhook is not None:
        found.append(WebhookPublisher(settings.webhook))
    return found
