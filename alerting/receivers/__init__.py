"""Receivers, one module each: ``slack``, ``pagerduty``, ``webhook``, ``retraining``.

Each module holds a frozen pydantic config (validated when the ``alerting:`` section loads) and a
receiver whose ``send(notification, context)`` delivers once or raises ``ReceiverError``
(the ``Receiver`` interface of ``alerting.types``); the outbox (``alerting.delivery``) owns
retries.
"""

from __future__ import annotations

from alerting.receivers.common import DeliveryContext, DeliveryResult
from alerting.receivers.pagerduty import PagerDutyConfig, PagerDutyReceiver
from alerting.receivers.retraining import RetrainingConfig, RetrainingReceiver
from alerting.receivers.slack import SlackConfig, SlackReceiver
from alerting.receivers.webhook import WebhookConfig, WebhookReceiver
from alerting.types import Receiver

ReceiverConfig = SlackConfig | PagerDutyConfig | WebhookConfig | RetrainingConfig

__all__ = [
    "DeliveryContext",
    "DeliveryResult",
    "Receiver",
    "ReceiverConfig",
    "build_receiver",
]


def build_receiver(config: ReceiverConfig) -> Receiver:
    """The receiver for ``config``; reads its secrets from the environment (``ConfigError`` when
    a variable is missing)."""
    if isinstance(config, SlackConfig):
        return SlackReceiver(config)
    if isinstance(config, PagerDutyConfig):
        return PagerDutyReceiver(config)
    if isinstance(config, RetrainingConfig):
        return RetrainingReceiver(config)
    return WebhookReceiver(config)
