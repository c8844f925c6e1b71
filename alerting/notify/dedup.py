"""Dedup: whether the receiver needs to hear about this group now, from the notification log.

The decision is the pure :func:`alerting.dedup.decide` (after Alertmanager's
``DedupStage.needsUpdate``); this stage reads the log entry, counts what it holds back and, when
the batch goes on, says which log entry sending it implies.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from alerting.dedup import GroupView, LogEntry, decide
from alerting.metrics import NOTIFICATIONS_SUPPRESSED
from alerting.notify.batch import Batch
from alerting.types import NotificationLog
from monitor.counters import Counters

log = logging.getLogger("fairwatch.alerting")


class Dedup:
    """Stops a batch that would tell the receiver nothing new (counted as suppressed by reason,
    except ``unchanged``, the usual case between two ``repeat_interval``s)."""

    def __init__(self, notification_log: NotificationLog, counters: Counters) -> None:
        self._log = notification_log
        self._counters = counters

    def process(self, batch: Batch) -> Batch | None:
        firing, resolved = batch.firing, batch.resolved
        entry = self._log.log_entry(batch.receiver, batch.group_key)
        view = GroupView(firing, resolved, batch.repeat_interval, batch.send_resolved)
        decision = decide(entry, view, batch.now)
        log.debug(
            "event=notify_decision receiver=%s group=%s notify=%s reason=%s",
            batch.receiver,
            batch.group_key,
            decision.notify,
            decision.reason,
        )
        if not decision.notify:
            if decision.reason != "unchanged":
                self._counters.inc(NOTIFICATIONS_SUPPRESSED, reason=decision.reason)
            return None
        return replace(batch, reason=decision.reason, log=LogEntry(firing, resolved, batch.now))
