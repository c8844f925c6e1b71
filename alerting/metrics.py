"""Counters of the alert manager, reported as ``monitor.types.CounterSample`` for /metrics.

=============================================  =======  ==========================================
name                                           kind     labels
=============================================  =======  ==========================================
fairwatch_alert_notifications_sent_total       counter  receiver, status (firing|resolved|retrain)
fairwatch_alert_notifications_failed_total     counter  receiver, reason (auth, rate_limited,
                                                        client, server, timeout, connection)
fairwatch_alert_notifications_dropped_total    counter  receiver, reason (a failure kind that is
                                                        not retried, expired, unknown_receiver)
fairwatch_alert_notifications_deferred_total   counter  receiver, reason (rate_limit)
fairwatch_alert_notifications_suppressed_total counter  reason (silenced, cooldown, unchanged…)
fairwatch_alert_transitions_total              counter  rule, to (pending|firing|resolved|inactive)
fairwatch_alert_evaluations_rejected_total     counter  (malformed evaluations skipped)
fairwatch_alerts                               gauge    state (pending|firing|resolved)
fairwatch_alert_outbox                         gauge    status (pending|delivered|failed)
=============================================  =======  ==========================================
"""

from __future__ import annotations

import threading

from monitor.types import CounterSample

HELP = {
    "fairwatch_alert_notifications_sent_total": "Notifications delivered, by receiver and status.",
    "fairwatch_alert_notifications_failed_total": "Failed delivery attempts by reason.",
    "fairwatch_alert_notifications_dropped_total": "Notifications given up by reason.",
    "fairwatch_alert_notifications_deferred_total": "Deliveries delayed by a local rate limit.",
    "fairwatch_alert_notifications_suppressed_total": "Notifications not sent, by reason.",
    "fairwatch_alert_transitions_total": "Alert state transitions, by rule and new state.",
    "fairwatch_alert_evaluations_rejected_total": "Malformed evaluations skipped.",
    "fairwatch_alerts": "Alert instances by state.",
    "fairwatch_alert_outbox": "Outbox rows by status.",
}

LabelKey = tuple[tuple[str, str], ...]


class Counters:
    """Thread-safe monotonic counters keyed by name and labels."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[tuple[str, LabelKey], float] = {}

    def inc(self, name: str, amount: float = 1.0, **labels: str) -> None:
        with self._lock:
            key = (name, tuple(sorted(labels.items())))
            self._values[key] = self._values.get(key, 0.0) + amount

    def get(self, name: str, **labels: str) -> float:
        with self._lock:
            return self._values.get((name, tuple(sorted(labels.items()))), 0.0)

    def samples(self) -> list[CounterSample]:
        with self._lock:
            items = sorted(self._values.items())
        return [
            CounterSample(name, value, dict(labels), "counter", HELP.get(name, ""))
            for (name, labels), value in items
        ]


def gauge(name: str, value: float, **labels: str) -> CounterSample:
    return CounterSample(name, value, dict(labels), "gauge", HELP.get(name, ""))
