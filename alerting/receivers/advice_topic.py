"""The advice topic: the threshold advice of firing alerts published to Kafka for a serving system.

``alerting.advice.topic`` names a topic (compacted, keyed by model id: the latest advice of each
model stays readable); each alert episode of a selected rule whose advice was computed
(``alerting.advice``, status ``advised``) publishes one message, through the outbox like a
notification (retried until the broker acknowledges it). fairwatch never applies the thresholds:
whoever serves the model decides. The producer (``alerting.types.MessageProducer``) is built by
the composition root with the daemon's Kafka settings (``fairwatch.advice_topic``).

Message key: the model id (UTF-8). Value (JSON)::

    {"version": "1", "type": "threshold_advice", "model_id": "credit-v3", "rule": "dp",
     "fingerprint": "…", "severity": "critical", "fired_at": "…", "published_at": "…",
     "advice": {… the advice object of docs/alerting.md …}}
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any, Literal

import orjson
from pydantic import Field

from alerting.errors import ReceiverError
from alerting.model import Notification
from alerting.receivers.common import (
    DeliveryContext,
    DeliveryResult,
    ReceiverConfigBase,
    RetryConfig,
)
from alerting.render import iso_time
from alerting.types import MessageProducer
from monitor.config.durations import Duration
from monitor.config.sections import Section

#: The outbox's name of the advice topic (no configured receiver may take it).
ADVICE_RECEIVER = "advice-topic"
MESSAGE_VERSION = "1"


class AdviceConfig(Section):
    """``alerting.advice``: publish the threshold advice of firing alerts of ``rules`` (names or
    globs) to the Kafka ``topic``, with the daemon's ``kafka:`` connection settings. Unset
    ``topic`` (the default): nothing is published. ``timeout`` bounds the wait for the broker's
    acknowledgement; ``retry`` is the outbox's backoff, as for receivers."""

    topic: str | None = Field(default=None, min_length=1)
    rules: list[str] = Field(default_factory=lambda: ["*"])
    timeout: Duration = Field(default=10.0, gt=0)
    retry: RetryConfig = RetryConfig()

    def selects(self, rule: str) -> bool:
        return self.topic is not None and any(fnmatchcase(rule, glob) for glob in self.rules)


def advice_message(notification: Notification) -> tuple[bytes, bytes]:
    """The key (model id) and value (JSON) of the message of a notification's one alert."""
    [alert] = notification.alerts
    value: dict[str, Any] = {
        "version": MESSAGE_VERSION,
        "type": "threshold_advice",
        "model_id": alert.model_id,
        "rule": alert.rule,
        "fingerprint": alert.fingerprint,
        "severity": alert.severity,
        "fired_at": iso_time(alert.starts_at),
        "published_at": iso_time(notification.created_at),
        "advice": alert.advice,
    }
    return alert.model_id.encode(), orjson.dumps(value)


class AdviceTopicReceiver:
    """Publishes each notification's advice with ``producer`` (a failure is retried)."""

    kind: Literal["notify", "retrain"] = "notify"

    def __init__(self, config: AdviceConfig, producer: MessageProducer) -> None:
        if config.topic is None:
            raise ValueError("alerting.advice.topic is not set")
        self.name = ADVICE_RECEIVER
        self.topic = config.topic
        self._producer = producer
        self._config = ReceiverConfigBase(
            name=ADVICE_RECEIVER, send_resolved=False, timeout=config.timeout, retry=config.retry
        )

    @property
    def config(self) -> ReceiverConfigBase:
        return self._config

    def send(self, notification: Notification, context: DeliveryContext) -> DeliveryResult:
        key, value = advice_message(notification)
        try:
            self._producer.publish(self.topic, key, value)
        except Exception as error:  # the broker away, a timeout: the outbox retries
            raise ReceiverError(
                "connection", f"cannot publish to topic {self.topic}: {type(error).__name__}"
            ) from None
        return DeliveryResult(detail=f"published to {self.topic} key={key.decode()}")

    def close(self) -> None:
        self._producer.close()
