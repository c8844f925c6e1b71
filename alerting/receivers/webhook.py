"""Generic webhook: POSTs the documented JSON payload (docs/alerting.md), optionally signed.

Signature (when ``hmac_secret_env`` is set), Stripe-style and replay-safe::

    X-Fairwatch-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>

The receiver recomputes the HMAC over the timestamp and the raw body and rejects a request
whose timestamp is older than its tolerance (``verify_signature`` does both).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any, Literal

import httpx
import orjson
from pydantic import Field, field_validator, model_validator

from alerting.model import Notification
from alerting.receivers.common import (
    DeliveryContext,
    DeliveryResult,
    EnvNameValidated,
    check_http_url,
    post_json,
    read_secret,
)
from alerting.render import alert_payload, iso_time

SIGNATURE_HEADER = "X-Fairwatch-Signature"
PAYLOAD_VERSION = "1"


class WebhookConfig(EnvNameValidated):
    """``type: webhook``. ``url`` or ``url_env`` (when the URL itself holds a token)."""

    type: Literal["webhook"] = "webhook"
    url: str | None = None
    url_env: str | None = None
    hmac_secret_env: str | None = None
    signature_header: str = SIGNATURE_HEADER
    headers: dict[str, str] = Field(default_factory=dict)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return check_http_url(value)

    @model_validator(mode="after")
    def _one_url(self) -> WebhookConfig:
        if (self.url is None) == (self.url_env is None):
            raise ValueError("expected exactly one of url, url_env")
        return self


def notification_body(notification: Notification) -> dict[str, Any]:
    """The webhook JSON: the fields of the message's primary alert at the top level (its first
    firing alert, else its first alert), and every alert of the group in ``alerts``."""
    alerts = [alert_payload(alert) for alert in notification.alerts]
    primary_index = next(
        (i for i, alert in enumerate(notification.alerts) if alert.status == "firing"), 0
    )
    return {
        "version": PAYLOAD_VERSION,
        **(alerts[primary_index] if alerts else {"status": notification.status}),
        "receiver": notification.receiver,
        "group_key": notification.group_key,
        "group_labels": notification.group_labels,
        "test": notification.test,
        "sent_at": iso_time(notification.created_at),
        "alert_count": len(alerts),
        "alerts": alerts,
    }


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify_signature(
    secret: str, header: str | None, body: bytes, now: float, tolerance: float = 300.0
) -> bool:
    """Whether ``header`` signs ``body`` with ``secret`` and is at most ``tolerance`` seconds old
    (or in the future). Use it in the service that receives the webhook."""
    if not header:
        return False
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(fields["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, fields.get("v1", ""))


class WebhookReceiver:
    kind: Literal["notify", "retrain"] = "notify"

    def __init__(self, config: WebhookConfig) -> None:
        self._config = config
        self.name = config.name
        self._url = config.url or read_secret(config.name, "url_env", config.url_env or "")
        self._secret = (
            read_secret(config.name, "hmac_secret_env", config.hmac_secret_env)
            if config.hmac_secret_env
            else None
        )
        self._client = httpx.Client(timeout=config.timeout)

    @property
    def config(self) -> WebhookConfig:
        return self._config

    def body(self, notification: Notification) -> dict[str, Any]:
        return notification_body(notification)

    def send(self, notification: Notification, context: DeliveryContext) -> DeliveryResult:
        body = orjson.dumps(self.body(notification))
        headers = {**self._config.headers, "Idempotency-Key": context.idempotency_key}
        if self._secret is not None:
            headers[self._config.signature_header] = sign(self._secret, int(context.now), body)
        response = post_json(self._client, self._url, body, headers)
        return DeliveryResult(detail=f"HTTP {response.status_code}")

    def close(self) -> None:
        self._client.close()
