"""The outbox: queued notifications delivered in order with retries, backoff and rate limits.

Each pass takes the pending rows oldest first. Rows of one (receiver, group) are delivered in
order: while the oldest waits for a retry, later ones (e.g. its resolve) wait too. A failure the
receiver may recover from (5xx, 429, timeout, connection) is retried after an exponential,
jittered backoff (at least ``Retry-After``); other failures are dropped, logged and counted.
A row is marked delivered in the same transaction that records the Slack thread, so a restart
never delivers it twice unless the process died between the receiver's answer and that commit
(then the idempotency key / PagerDuty dedup_key lets the receiver fold the repeat).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Mapping

from alerting.errors import ReceiverError
from alerting.metrics import (
    NOTIFICATIONS_DEFERRED,
    NOTIFICATIONS_DROPPED,
    NOTIFICATIONS_FAILED,
    NOTIFICATIONS_SENT,
)
from alerting.receivers.common import DeliveryContext, RetryConfig
from alerting.store import AlertStore, OutboxItem
from alerting.types import Receiver
from monitor.counters import Counters

log = logging.getLogger("fairwatch.alerting")


def backoff(
    attempt: int,
    retry: RetryConfig,
    retry_after: float | None = None,
    rand: Callable[[], float] = random.random,
) -> float:
    """Seconds to wait after failed attempt ``attempt`` (1-based): exponential with "equal
    jitter" (half fixed, half random) capped at ``max_backoff``, never below ``retry_after``."""
    ceiling = min(retry.max_backoff, retry.initial_backoff * 2 ** max(attempt - 1, 0))
    delay = ceiling / 2 + rand() * ceiling / 2
    if retry_after is not None:
        delay = max(delay, retry_after)
    return delay


class Outbox:
    """Delivers what ``AlertStore.pending`` holds to ``receivers``."""

    def __init__(
        self,
        store: AlertStore,
        receivers: Mapping[str, Receiver],
        counters: Counters,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self._store = store
        self._receivers = receivers
        self._counters = counters
        self._rand = rand

    def deliver_due(self, now: float) -> int:
        """Attempt every due row once; return how many were delivered."""
        delivered = 0
        blocked: set[tuple[str, str]] = set()
        for item in self._store.pending():
            lane = (item.receiver, item.group_key)
            if lane in blocked:
                continue
            if item.next_attempt_at > now:
                blocked.add(lane)
                continue
            if self._attempt(item, now):
                delivered += 1
            else:
                blocked.add(lane)
        return delivered

    def _attempt(self, item: OutboxItem, now: float) -> bool:
        receiver = self._receivers.get(item.receiver)
        if receiver is None:
            self._drop(item, "unknown_receiver", "receiver is no longer configured")
            return True  # nothing later in this lane can be delivered either; let them drop too
        config = receiver.config
        if now - item.created_at > config.retry.max_age:
            self._drop(item, "expired", f"undelivered after {config.retry.max_age:g}s")
            return True
        limit = config.rate_limit
        if limit is not None:
            recent = self._store.delivered_since(item.receiver, now - limit.per)
            if len(recent) >= limit.max_notifications:
                self._store.defer(item, recent[0] + limit.per)
                self._counters.inc(
                    NOTIFICATIONS_DEFERRED,
                    receiver=item.receiver,
                    reason="rate_limit",
                )
                log.info(
                    "event=notification_deferred receiver=%s id=%d reason=rate_limit",
                    item.receiver,
                    item.id,
                )
                return False
        context = DeliveryContext(
            idempotency_key=item.idempotency_key,
            attempt=item.attempts + 1,
            now=now,
            thread_ref=self._store.thread(item.receiver, item.group_key),
        )
        try:
            result = receiver.send(item.notification, context)
        except ReceiverError as error:
            self._counters.inc(
                NOTIFICATIONS_FAILED,
                receiver=item.receiver,
                reason=error.kind,
            )
            if not error.retryable:
                self._drop(item, error.kind, str(error))
                return True
            delay = backoff(context.attempt, config.retry, error.retry_after, self._rand)
            self._store.reschedule(item, now + delay, str(error))
            log.warning(
                "event=notification_retry receiver=%s id=%d attempt=%d reason=%s retry_in=%.1fs "
                "error=%r",
                item.receiver,
                item.id,
                context.attempt,
                error.kind,
                delay,
                str(error),
            )
            return False
        self._store.mark_delivered(item, now, result.thread_ref, result.clear_thread)
        status = "retrain" if receiver.kind == "retrain" else item.notification.status
        self._counters.inc(NOTIFICATIONS_SENT, receiver=item.receiver, status=status)
        log.info(
            "event=notification_sent receiver=%s id=%d status=%s group=%s attempts=%d detail=%r",
            item.receiver,
            item.id,
            status,
            item.group_key,
            context.attempt,
            result.detail,
        )
        return True

    def _drop(self, item: OutboxItem, reason: str, message: str) -> None:
        self._store.mark_failed(item, message)
        self._counters.inc(NOTIFICATIONS_DROPPED, receiver=item.receiver, reason=reason)
        log.error(
            "event=notification_dropped receiver=%s id=%d reason=%s error=%r",
            item.receiver,
            item.id,
            reason,
            message,
        )
