"""The alert manager's counters and gauges, declared once (convention in :mod:`monitor.counters`).

They are kept in a :class:`monitor.counters.Counters` and reported with the pipeline's on
``/metrics`` and in the ``fairwatch_pipeline`` measurement. Labels:

- ``receiver``: the receiver's name; ``status``: ``firing``, ``resolved`` or ``retrain``;
- ``reason`` of a failure: ``auth``, ``rate_limited``, ``client``, ``server``, ``timeout``,
  ``connection``; of a drop: a failure kind that is not retried, ``expired``,
  ``unknown_receiver``; of a deferral: ``rate_limit``; of a suppression: ``silenced``,
  ``cooldown``, ``nothing_firing``;
- ``rule`` and ``to`` (``pending``, ``firing``, ``resolved``, ``inactive``) of a transition;
- ``state`` of an alert instance (``pending``, ``firing``, ``resolved``) and ``status`` of an
  outbox row (``pending``, ``delivered``, ``failed``).
"""

from __future__ import annotations

from monitor.counters import Metric

NOTIFICATIONS_SENT = Metric(
    "fairwatch_alert_notifications_sent_total",
    "counter",
    "Notifications delivered, by receiver and status.",
    ("receiver", "status"),
)
NOTIFICATIONS_FAILED = Metric(
    "fairwatch_alert_notifications_failed_total",
    "counter",
    "Failed delivery attempts by reason.",
    ("receiver", "reason"),
)
NOTIFICATIONS_DROPPED = Metric(
    "fairwatch_alert_notifications_dropped_total",
    "counter",
    "Notifications given up by reason.",
    ("receiver", "reason"),
)
NOTIFICATIONS_DEFERRED = Metric(
    "fairwatch_alert_notifications_deferred_total",
    "counter",
    "Deliveries delayed by a local rate limit.",
    ("receiver", "reason"),
)
NOTIFICATIONS_SUPPRESSED = Metric(
    "fairwatch_alert_notifications_suppressed_total",
    "counter",
    "Notifications not sent, by reason.",
    ("reason",),
)
TRANSITIONS = Metric(
    "fairwatch_alert_transitions_total",
    "counter",
    "Alert state transitions, by rule and new state.",
    ("rule", "to"),
)
EVALUATIONS_REJECTED = Metric(
    "fairwatch_alert_evaluations_rejected_total",
    "counter",
    "Malformed evaluations skipped.",
)
INSTANCES = Metric(
    "fairwatch_alert_instances",
    "gauge",
    "Alert instances by state.",
    ("state",),
)
OUTBOX_NOTIFICATIONS = Metric(
    "fairwatch_alert_outbox_notifications",
    "gauge",
    "Notifications in the outbox by status.",
    ("status",),
)

ALERTING_METRICS: tuple[Metric, ...] = (
    NOTIFICATIONS_SENT,
    NOTIFICATIONS_FAILED,
    NOTIFICATIONS_DROPPED,
    NOTIFICATIONS_DEFERRED,
    NOTIFICATIONS_SUPPRESSED,
    TRANSITIONS,
    EVALUATIONS_REJECTED,
    INSTANCES,
    OUTBOX_NOTIFICATIONS,
)
