"""Slack via slack-sdk: the Web API (``chat.postMessage`` with a bot token, so the resolve is
posted in the thread of the firing message) or an incoming webhook (``slack_sdk.webhook``).

The message is Block Kit: model, metric, value with its interval, threshold, a per-group table,
window, and links to the dashboard and the runbook.
"""

from __future__ import annotations

import logging
import socket
import urllib.error
from typing import Any, Literal

from pydantic import field_validator, model_validator
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web.slack_response import SlackResponse
from slack_sdk.webhook import WebhookClient

from alerting.errors import FailureKind, ReceiverError, classify_status, parse_retry_after
from alerting.model import AlertSnapshot, Notification
from alerting.receivers.common import (
    DeliveryContext,
    DeliveryResult,
    EnvNameValidated,
    check_http_url,
    read_secret,
)
from alerting.render import (
    advice_line,
    alert_title,
    extremes_line,
    format_interval,
    format_time,
    format_value,
    group_rows,
    small_groups_line,
    summary,
)

MAX_ALERTS_PER_MESSAGE = 10  # Block Kit allows 50 blocks per message
_AUTH_ERRORS = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "token_revoked",
        "token_expired",
        "account_inactive",
        "missing_scope",
        "not_allowed_token_type",
    }
)
_EMOJI = {"firing": ":red_circle:", "resolved": ":large_green_circle:"}

# slack-sdk logs request URLs on failure; an incoming-webhook URL is a secret, so keep it quiet.
_SDK_LOGGER = logging.getLogger("fairwatch.alerting.slack_sdk")
_SDK_LOGGER.addHandler(logging.NullHandler())
_SDK_LOGGER.propagate = False
_SDK_LOGGER.setLevel(logging.CRITICAL)


class SlackConfig(EnvNameValidated):
    """``type: slack``: either ``token_env`` + ``channel`` (Web API, threads resolves) or
    ``webhook_url_env`` (incoming webhook). ``base_url`` points the Web API elsewhere (tests)."""

    type: Literal["slack"] = "slack"
    token_env: str | None = None
    channel: str | None = None
    webhook_url_env: str | None = None
    base_url: str = "https://slack.com/api/"
    username: str | None = None

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        check_http_url(value)
        return value

    @model_validator(mode="after")
    def _one_mode(self) -> SlackConfig:
        web_api = self.token_env is not None and self.channel is not None
        webhook = self.webhook_url_env is not None
        if web_api == webhook or (webhook and self.token_env is not None):
            raise ValueError(
                "expected either token_env and channel (Web API) or webhook_url_env "
                "(incoming webhook)"
            )
        return self


def blocks(notification: Notification) -> list[dict[str, Any]]:
    """The Block Kit blocks of a notification."""
    title = ("[TEST] " if notification.test else "") + (
        f"{notification.status.upper()}: "
        + (
            alert_title(notification.alerts[0])
            if len(notification.alerts) == 1
            else f"{len(notification.firing)} firing, {len(notification.resolved)} resolved"
        )
    )
    result: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title[:150], "emoji": True}}
    ]
    shown = notification.alerts[:MAX_ALERTS_PER_MESSAGE]
    for alert in shown:
        result.extend(_alert_blocks(alert))
    if len(notification.alerts) > len(shown):
        more = len(notification.alerts) - len(shown)
        result.append(_context(f"… and {more} more alert(s)"))
    return result


def _alert_blocks(alert: AlertSnapshot) -> list[dict[str, Any]]:
    value = f"{format_value(alert.value)} {format_interval(alert.ci)}".strip()
    fields = [
        ("Model", alert.model_id),
        ("Metric", alert.metric if alert.group is None else f"{alert.metric} ({alert.group})"),
        ("Value (95% CI)", value),
        ("Threshold", _threshold_text(alert)),
        (
            "Window",
            f"{alert.window}: {format_time(alert.window_start)} – {format_time(alert.window_end)}",
        ),
        ("Severity", alert.severity),
    ]
    who = extremes_line(alert)
    if who:
        fields.insert(3, ("Highest vs lowest", who))
    small = small_groups_line(alert)
    if small:
        fields.append(("Small groups", small))
    section = {
        "type": "section",
        "text": {
            "type": "mrkdwn",
            "text": f"{_EMOJI[alert.status]} *{alert.rule}* "
            f"({alert.attribute}) is *{alert.status}*",
        },
        "fields": [{"type": "mrkdwn", "text": f"*{name}*\n{text}"} for name, text in fields],
    }
    out: list[dict[str, Any]] = [section]
    rows = group_rows(alert)
    if len(rows) > 1:
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        table = "\n".join(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
            for row in rows
        )
        out.append({"type": "section", "text": {"type": "mrkdwn", "text": f"```{table[:2900]}```"}})
    advice = advice_line(alert)
    if advice:
        out.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*Advice*: {advice[:2900]}"}}
        )
    links = [
        f"<{alert.annotations[key]}|{text}>"
        for key, text in (("dashboard_url", "Dashboard"), ("runbook_url", "Runbook"))
        if alert.annotations.get(key)
    ]
    owner = alert.annotations.get("owner")
    context = " · ".join([*links, *([f"owner: {owner}"] if owner else [])])
    if context:
        out.append(_context(context))
    return out


def _threshold_text(alert: AlertSnapshot) -> str:
    if alert.kind == "low_volume":
        return "every group below the minimum sample size"
    return f"{alert.op} {alert.threshold:g} ({alert.mode})"


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


class SlackReceiver:
    kind: Literal["notify", "retrain"] = "notify"

    def __init__(self, config: SlackConfig) -> None:
        self._config = config
        self.name = config.name
        timeout = max(1, round(config.timeout))
        self._web: WebClient | None = None
        self._webhook: WebhookClient | None = None
        if config.webhook_url_env is not None:
            url = read_secret(config.name, "webhook_url_env", config.webhook_url_env)
            self._webhook = WebhookClient(
                url=url, timeout=timeout, retry_handlers=[], logger=_SDK_LOGGER
            )
        else:
            token = read_secret(config.name, "token_env", config.token_env or "")
            self._web = WebClient(
                token=token,
                base_url=config.base_url,
                timeout=timeout,
                retry_handlers=[],
                logger=_SDK_LOGGER,
            )

    @property
    def config(self) -> SlackConfig:
        return self._config

    def send(self, notification: Notification, context: DeliveryContext) -> DeliveryResult:
        text = summary(notification)
        message_blocks = blocks(notification)
        resolved = notification.status == "resolved"
        try:
            if self._web is not None:
                extra: dict[str, Any] = {}
                if self._config.username:
                    extra["username"] = self._config.username
                response = self._web.chat_postMessage(
                    channel=self._config.channel or "",
                    text=text,
                    blocks=message_blocks,
                    thread_ts=context.thread_ref,
                    **extra,
                )
                ts = response.get("ts")
                return DeliveryResult(
                    detail=f"posted ts={ts}",
                    thread_ref=context.thread_ref or (str(ts) if ts else None),
                    clear_thread=resolved,
                )
            assert self._webhook is not None
            hook = self._webhook.send(text=text, blocks=message_blocks)
        except SlackApiError as error:
            raise _classify_api_error(error) from None
        except TimeoutError:
            raise ReceiverError("timeout", "Slack did not answer in time") from None
        except urllib.error.URLError as error:
            if isinstance(error.reason, TimeoutError | socket.timeout):
                raise ReceiverError("timeout", "Slack did not answer in time") from None
            raise ReceiverError("connection", f"cannot reach Slack: {error.reason}") from None
        except OSError as error:
            raise ReceiverError(
                "connection", f"cannot reach Slack: {type(error).__name__}"
            ) from None
        kind = classify_status(hook.status_code)
        if kind is not None:
            raise ReceiverError(
                kind,
                f"incoming webhook answered HTTP {hook.status_code}: {hook.body[:200]}",
                status=hook.status_code,
                retry_after=parse_retry_after(
                    hook.headers.get("Retry-After") or hook.headers.get("retry-after")
                ),
            )
        return DeliveryResult(detail=f"webhook HTTP {hook.status_code}")

    def close(self) -> None:
        return None


def _classify_api_error(error: SlackApiError) -> ReceiverError:
    response: SlackResponse = error.response
    status = int(response.status_code or 0)
    data = response.data
    code = data.get("error", "") if isinstance(data, dict) else ""
    headers = response.headers or {}
    retry_after = parse_retry_after(headers.get("Retry-After") or headers.get("retry-after"))
    kind: FailureKind
    if status == 429 or code == "ratelimited":
        kind = "rate_limited"
    elif code in _AUTH_ERRORS or status in (401, 403):
        kind = "auth"
    elif status >= 500:
        kind = "server"
    else:
        kind = "client"
    message = f"Slack API answered HTTP {status} error={code or 'unknown'}"
    return ReceiverError(kind, message, status=status, retry_after=retry_after)
