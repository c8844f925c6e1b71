"""Enqueue: the end of the notification path, the durable outbox (``alerting.store``).

A tick's group notifications are collected (:class:`Queue`) and written with their log entries
in one transaction; a retraining trigger is written at once with its episode and the model's
cooldown (:class:`QueueTrigger`), so that the next alert of the same model sees the cooldown.
Delivery (retries, rate limits) is ``alerting.delivery``'s.
"""

from __future__ import annotations

import logging

from alerting.notify.batch import Batch
from alerting.notify.trigger import model_of
from alerting.store import Enqueue
from alerting.types import TriggerLog

log = logging.getLogger("fairwatch.alerting")


class Queue:
    """Collects each batch as an outbox row (and its log entry) until :meth:`drain`."""

    def __init__(self) -> None:
        self._items: list[Enqueue] = []

    def process(self, batch: Batch) -> Batch | None:
        notification = batch.notification
        if notification is None:
            self._items.append(Enqueue(batch.receiver, batch.group_key, log=batch.log))
            return batch
        self._items.append(
            Enqueue(batch.receiver, batch.group_key, batch.idempotency_key, notification, batch.log)
        )
        log.info(
            "event=notification_queued receiver=%s group=%s status=%s reason=%s alerts=%d",
            batch.receiver,
            batch.group_key,
            notification.status,
            batch.reason,
            len(notification.alerts),
        )
        return batch

    def drain(self) -> list[Enqueue]:
        """The rows collected since the last drain, oldest first."""
        items, self._items = self._items, []
        return items


class QueueTrigger:
    """Writes a retraining trigger (or an advice message) to the outbox with its episode and
    cooldown; ``event`` names the log line."""

    def __init__(self, triggers: TriggerLog, event: str = "retraining_queued") -> None:
        self._triggers = triggers
        self._event = event

    def process(self, batch: Batch) -> Batch | None:
        assert batch.notification is not None and batch.episode is not None
        [alert] = batch.alerts
        item = Enqueue(batch.receiver, batch.group_key, batch.idempotency_key, batch.notification)
        self._triggers.enqueue_trigger(item, model_of(batch), batch.episode, batch.now)
        log.info(
            "event=%s receiver=%s model_id=%s rule=%s fingerprint=%s",
            self._event,
            batch.receiver,
            model_of(batch),
            alert.rule.name,
            alert.fingerprint,
        )
        return batch
