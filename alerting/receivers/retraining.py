"""Retraining webhook: asks a training pipeline to retrain a model when configured rules fire.

The body carries the evidence (the breach, the recent windows, per-group statistics) and the
threshold advice of the breach (``alerting.advice``: what thresholds alone would do). The
``Idempotency-Key`` header is derived from the receiver, the alert fingerprint and the time the
alert started firing, so every retry of one trigger carries the same key and the training service
can refuse to start two retrainings. A per-model ``cooldown`` limits triggers per model.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any, Literal

from pydantic import Field

from alerting.model import Notification
from alerting.receivers.webhook import WebhookConfig, WebhookReceiver
from alerting.render import alert_payload, iso_time
from monitor.config.durations import Duration


class RetrainingConfig(WebhookConfig):
    """``type: retraining``: a webhook triggered by ``rules`` (names or globs) whose alert fires
    and has breached for at least ``min_consecutive_windows`` windows (and, if set, at one of
    ``severities``); at most one trigger per model per ``cooldown``."""

    type: Literal["retraining"] = "retraining"  # type: ignore[assignment]
    rules: list[str] = Field(min_length=1)
    severities: list[Literal["info", "warning", "critical"]] = Field(default_factory=list)
    min_consecutive_windows: int = Field(default=1, ge=1)
    cooldown: Duration = 86400.0
    send_resolved: bool = False

    def selects(self, rule: str, severity: str) -> bool:
        if self.severities and severity not in self.severities:
            return False
        return any(fnmatchcase(rule, pattern) for pattern in self.rules)


class RetrainingReceiver(WebhookReceiver):
    kind: Literal["notify", "retrain"] = "retrain"

    def __init__(self, config: RetrainingConfig) -> None:
        super().__init__(config)
        self._retraining = config

    @property
    def config(self) -> RetrainingConfig:
        return self._retraining

    def body(self, notification: Notification) -> dict[str, Any]:
        alert = notification.alerts[0]
        evidence = notification.evidence or {}
        return {
            "version": "1",
            "type": "retraining_request",
            "test": notification.test,
            "model_id": alert.model_id,
            "rule": alert.rule,
            "severity": alert.severity,
            "reason": f"{alert.metric} of {alert.attribute} {alert.op} {alert.threshold:g}",
            "requested_at": iso_time(notification.created_at),
            "breach": alert_payload(alert),
            "recent_windows": evidence.get("recent_windows", []),
            "groups": list(alert.groups),
            "advice": alert.advice,
        }
