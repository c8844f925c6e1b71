"""PagerDuty Events API v2: one ``trigger`` or ``resolve`` event per alert, ``dedup_key`` = the
alert's fingerprint, so PagerDuty folds repeats of one alert into one incident and a resolve
closes it."""

from __future__ import annotations

from typing import Any, Literal

import httpx
import orjson
from pydantic import Field, field_validator

from alerting.model import AlertSnapshot, Notification
from alerting.receivers.common import (
    DeliveryContext,
    DeliveryResult,
    EnvNameValidated,
    check_http_url,
    post_json,
    read_secret,
)
from alerting.render import alert_line, group_rows, iso_time

PagerDutySeverity = Literal["critical", "error", "warning", "info"]


def _default_severities() -> dict[str, PagerDutySeverity]:
    return {"critical": "critical", "warning": "warning", "info": "info"}


class PagerDutyConfig(EnvNameValidated):
    """``type: pagerduty``. The integration's routing key is read from ``routing_key_env``."""

    type: Literal["pagerduty"] = "pagerduty"
    routing_key_env: str
    url: str = "https://events.pagerduty.com/v2/enqueue"
    source: str = "fairwatch"
    severity_map: dict[str, PagerDutySeverity] = Field(default_factory=_default_severities)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        check_http_url(value)
        return value


class PagerDutyReceiver:
    kind: Literal["notify", "retrain"] = "notify"

    def __init__(self, config: PagerDutyConfig) -> None:
        self._config = config
        self.name = config.name
        self._routing_key = read_secret(config.name, "routing_key_env", config.routing_key_env)
        self._client = httpx.Client(timeout=config.timeout)

    @property
    def config(self) -> PagerDutyConfig:
        return self._config

    def event(self, alert: AlertSnapshot, test: bool = False) -> dict[str, Any]:
        """The Events API v2 body for one alert."""
        if alert.status == "resolved":
            return {
                "routing_key": self._routing_key,
                "event_action": "resolve",
                "dedup_key": alert.fingerprint,
            }
        links = [
            {"href": alert.annotations[key], "text": text}
            for key, text in (("dashboard_url", "Dashboard"), ("runbook_url", "Runbook"))
            if alert.annotations.get(key)
        ]
        rows = group_rows(alert)
        return {
            "routing_key": self._routing_key,
            "event_action": "trigger",
            "dedup_key": alert.fingerprint,
            "payload": {
                "summary": ("[TEST] " if test else "") + alert_line(alert)[:1000],
                "source": self._config.source,
                "severity": self._config.severity_map.get(alert.severity, "warning"),
                "timestamp": iso_time(alert.starts_at),
                "component": alert.model_id,
                "group": alert.attribute,
                "class": alert.metric,
                "custom_details": {
                    "rule": alert.rule,
                    "value": alert.value,
                    "ci": list(alert.ci) if alert.ci else None,
                    "threshold": alert.threshold,
                    "window": alert.window,
                    "extremes": alert.extremes,
                    "small_groups": list(alert.small_groups),
                    "groups": [dict(zip(rows[0], row, strict=True)) for row in rows[1:]],
                    "labels": alert.labels,
                    "annotations": alert.annotations,
                    "advice": alert.advice,
                },
            },
            "links": links,
            "client": "fairwatch",
        }

    def send(self, notification: Notification, context: DeliveryContext) -> DeliveryResult:
        for alert in notification.alerts:
            body = orjson.dumps(self.event(alert, notification.test))
            post_json(self._client, self._config.url, body, {})
        return DeliveryResult(detail=f"{len(notification.alerts)} event(s) accepted")

    def close(self) -> None:
        self._client.close()
