"""Mute: alerts a silence matches are held back; so are alerts with nothing to tell.

As Alertmanager's mute stage: a batch whose alerts are all muted stops here, before the
notification log is read or written, so that when the silence ends a still-firing alert is
notified as if it were new to the receiver.
"""

from __future__ import annotations

from dataclasses import replace

from alerting.metrics import NOTIFICATIONS_SUPPRESSED
from alerting.notify.batch import Batch
from alerting.silences import muted
from alerting.types import SilenceSource
from monitor.counters import Counters


class Mute:
    """Drops the alerts an active silence matches, each counted
    (``fairwatch_alert_notifications_suppressed_total{reason="silenced"}``)."""

    def __init__(self, silences: SilenceSource, counters: Counters) -> None:
        self._silences = silences
        self._counters = counters

    def process(self, batch: Batch) -> Batch | None:
        active = self._silences.silences(batch.now, include_expired=False)
        kept = []
        for alert in batch.alerts:
            if muted(active, alert.labels, batch.now):
                self._counters.inc(NOTIFICATIONS_SUPPRESSED, reason="silenced")
            else:
                kept.append(alert)
        return replace(batch, alerts=tuple(kept)) if kept else None


class Notifiable:
    """Keeps the alerts with something to tell a receiver: firing or resolved (an alert of the
    group may be pending again, or inactive, by the time the group is flushed)."""

    def process(self, batch: Batch) -> Batch | None:
        kept = tuple(alert for alert in batch.alerts if alert.status in ("firing", "resolved"))
        return replace(batch, alerts=kept) if kept else None
