"""What flows through the notification stages: alerts on their way to one receiver."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from alerting.dedup import LogEntry
from alerting.model import Notification
from alerting.rules import Alert


@dataclass(frozen=True)
class Batch:
    """Alerts on their way to one receiver as one notification, and what the stages found out.

    The first stage gets ``receiver``, ``group_key``, ``group_labels``, ``alerts`` and ``now``
    (with the route's ``repeat_interval``, or the ``episode`` of a retraining trigger); the
    later ones fill in ``reason`` and ``log`` (dedup), ``notification`` (snapshot) and
    ``idempotency_key``.
    """

    receiver: str
    group_key: str
    group_labels: Mapping[str, str]
    alerts: tuple[Alert, ...]
    now: float
    send_resolved: bool = True
    repeat_interval: float = 0.0
    episode: str | None = None  # a retraining trigger's alert episode: fingerprint@fired_at
    reason: str = ""  # why the dedup stage let it through (new_group, repeat_interval, …)
    log: LogEntry | None = None  # the notification-log entry that sending it implies
    notification: Notification | None = None  # None: nothing to show (the log entry only)
    idempotency_key: str = ""

    @property
    def firing(self) -> frozenset[str]:
        """Fingerprints of the firing alerts."""
        return frozenset(alert.fingerprint for alert in self.alerts if alert.status == "firing")

    @property
    def resolved(self) -> frozenset[str]:
        """Fingerprints of the resolved alerts."""
        return frozenset(alert.fingerprint for alert in self.alerts if alert.status == "resolved")
