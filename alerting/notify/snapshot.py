"""Snapshot: the batch rendered as the ``Notification`` its receiver gets.

Each alert is shown as it is now (``Alert.snapshot``, labels as routed and muted), resolved
alerts only to a receiver with ``send_resolved``. A batch left with nothing to show (a resolve
the receiver does not want) goes on without a notification: its log entry is still written, so
that the log forgets the alerts that fired.
"""

from __future__ import annotations

from dataclasses import asdict, replace
from typing import Any

from alerting.model import Notification
from alerting.notify.batch import Batch
from alerting.render import iso_time
from alerting.rules import Alert


class Snapshot:
    """Builds the batch's notification; with ``evidence`` (retraining) it carries the alert's
    recent windows too."""

    def __init__(self, evidence: bool = False) -> None:
        self._evidence = evidence

    def process(self, batch: Batch) -> Batch | None:
        shown = tuple(
            alert.snapshot("firing" if alert.status == "firing" else "resolved")
            for alert in batch.alerts
            if alert.status == "firing" or batch.send_resolved
        )
        if not shown:
            return batch
        notification = Notification(
            receiver=batch.receiver,
            group_key=batch.group_key,
            group_labels=dict(batch.group_labels),
            status="firing" if batch.firing else "resolved",
            alerts=shown,
            created_at=batch.now,
            evidence={"recent_windows": recent_windows(batch.alerts[0])}
            if self._evidence
            else None,
        )
        return replace(batch, notification=notification)


def recent_windows(alert: Alert) -> list[dict[str, Any]]:
    """The alert's recent windows as JSON-ready dicts (a retraining request's evidence)."""
    return [
        {
            **asdict(point),
            "window_start": iso_time(point.window_start),
            "window_end": iso_time(point.window_end),
            "ci": list(point.ci) if point.ci else None,
        }
        for point in alert.state.recent
    ]
