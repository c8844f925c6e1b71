"""Dashboard 4, *Pipeline health*: the declared counters of the pipeline, the sinks and the alert
manager (throughput, lag, invalid and late events, labels waiting, backlog, failures).
"""

from __future__ import annotations

import json
from typing import Any

from alerting.metrics import NOTIFICATIONS_FAILED
from dashboards.blocks import (
    GREEN,
    ORANGE,
    RED,
    dashboard,
    flux,
    panel,
    thresholds,
)
from dashboards.names import PIPELINE
from monitor.counters import Metric
from monitor.sinks.counters import BACKLOG_ROWS, WRITE_FAILURES
from monitor.stream.counters import (
    CONSUMER_LAG,
    CONSUMPTION_PAUSED,
    EVENTS_CONSUMED,
    EVENTS_DEAD_LETTERED,
    EVENTS_INVALID,
    EVENTS_LATE,
    LABELS_AWAITING_PREDICTION,
    LABELS_JOINED,
    LABELS_ORPHANED,
    PREDICTIONS_AWAITING_LABEL,
    WATERMARK,
)


def pipeline_health() -> dict[str, Any]:
    def series(metric: Metric, *steps: str) -> str:
        """The metric's series (one per label set), each keeping its labels."""
        keep = json.dumps(["_time", "_value", *metric.labels])
        return flux(
            f'filter(fn: (r) => r._measurement == "{PIPELINE}" and r._field == "{metric.name}")',
            *steps,
            f"keep(columns: {keep})",
        )

    def per_second(metric: Metric) -> str:
        return series(metric, "derivative(unit: 1s, nonNegative: true)")

    def per_minute(metric: Metric) -> str:
        return series(metric, "derivative(unit: 1m, nonNegative: true)")

    def named(template: str) -> dict[str, Any]:
        return {"displayName": template, "color": {"mode": "palette-classic"}}

    watermark_lag = flux(
        f'filter(fn: (r) => r._measurement == "{PIPELINE}" and r._field == "{WATERMARK.name}")',
        "last()",
        "map(fn: (r) => ({_time: r._time, _value: r._value * 1000.0}))",
    )
    panels = [
        panel(
            "timeseries",
            "Throughput (events/s)",
            per_second(EVENTS_CONSUMED),
            (0, 0, 12, 8),
            unit="suffix: ev/s",
            defaults=named("${__field.labels.topic}"),
            description="Records read per second from each input topic.",
        ),
        panel(
            "timeseries",
            "Consumer lag (records)",
            series(CONSUMER_LAG),
            (12, 0, 12, 8),
            unit="short",
            defaults={
                **named("${__field.labels.topic}"),
                "thresholds": thresholds((None, GREEN), (100_000, ORANGE), (1_000_000, RED)),
            },
            custom={"thresholdsStyle": {"mode": "dashed"}},
            description="Records in the input topics not yet consumed.",
        ),
        panel(
            "timeseries",
            "Invalid events by reason (per minute)",
            per_minute(EVENTS_INVALID),
            (0, 8, 12, 8),
            unit="short",
            defaults=named("${__field.labels.reason} (${__field.labels.topic})"),
            custom={"drawStyle": "bars", "fillOpacity": 60, "stacking": {"mode": "normal"}},
            description="Records the decoder rejected; each went to the dead-letter topic.",
        ),
        panel(
            "timeseries",
            "Dead-lettered and late events (per minute)",
            [per_minute(EVENTS_DEAD_LETTERED), per_minute(EVENTS_LATE)],
            (12, 8, 12, 8),
            unit="short",
            overrides=[
                {
                    "matcher": {"id": "byFrameRefID", "options": "A"},
                    "properties": [
                        {"id": "displayName", "value": "dead-lettered"},
                        {"id": "color", "value": {"mode": "fixed", "fixedColor": RED}},
                    ],
                },
                {
                    "matcher": {"id": "byFrameRefID", "options": "B"},
                    "properties": [
                        {"id": "displayName", "value": "late (${__field.labels.window})"}
                    ],
                },
            ],
            description="Late events were too late for every open window (count, not "
            "dropped silently).",
        ),
        panel(
            "timeseries",
            "Labels waiting",
            [series(PREDICTIONS_AWAITING_LABEL), series(LABELS_AWAITING_PREDICTION)],
            (0, 16, 12, 8),
            unit="short",
            overrides=[
                {
                    "matcher": {"id": "byFrameRefID", "options": "A"},
                    "properties": [
                        {"id": "displayName", "value": "predictions waiting for a label"}
                    ],
                },
                {
                    "matcher": {"id": "byFrameRefID", "options": "B"},
                    "properties": [
                        {"id": "displayName", "value": "labels waiting for a prediction"}
                    ],
                },
            ],
            description="The delayed-label join's pending store.",
        ),
        panel(
            "timeseries",
            "Labels joined and orphaned (per minute)",
            [per_minute(LABELS_JOINED), per_minute(LABELS_ORPHANED)],
            (12, 16, 12, 8),
            unit="short",
            overrides=[
                {
                    "matcher": {"id": "byFrameRefID", "options": "A"},
                    "properties": [{"id": "displayName", "value": "joined"}],
                },
                {
                    "matcher": {"id": "byFrameRefID", "options": "B"},
                    "properties": [
                        {"id": "displayName", "value": "orphaned"},
                        {"id": "color", "value": {"mode": "fixed", "fixedColor": ORANGE}},
                    ],
                },
            ],
            description="Orphans are labels whose prediction never arrived within the horizon.",
        ),
        panel(
            "timeseries",
            "Notification failures (per minute)",
            per_minute(NOTIFICATIONS_FAILED),
            (0, 24, 12, 8),
            unit="short",
            defaults=named("${__field.labels.receiver}: ${__field.labels.reason}"),
            custom={"drawStyle": "bars", "fillOpacity": 60, "stacking": {"mode": "normal"}},
            description="Failed delivery attempts to Slack, PagerDuty and webhooks by "
            "reason (retried unless the reason is permanent).",
        ),
        panel(
            "timeseries",
            "Sink backlog (rows)",
            series(BACKLOG_ROWS),
            (12, 24, 12, 8),
            unit="short",
            defaults={
                **named("${__field.labels.sink}"),
                "thresholds": thresholds((None, GREEN), (50_000, ORANGE), (200_000, RED)),
            },
            custom={"thresholdsStyle": {"mode": "dashed"}},
            description="Rows waiting to be written; consumption pauses when it is full.",
        ),
        panel(
            "timeseries",
            "Sink write failures (per minute)",
            per_minute(WRITE_FAILURES),
            (0, 32, 12, 8),
            unit="short",
            defaults=named("${__field.labels.sink}: ${__field.labels.reason}"),
            custom={"drawStyle": "bars", "fillOpacity": 60, "stacking": {"mode": "normal"}},
            description="Failed writes (retried with backoff; nothing is dropped).",
        ),
        panel(
            "stat",
            "Event-time watermark",
            watermark_lag,
            (12, 32, 6, 8),
            unit="dateTimeFromNow",
            description="Largest event time seen minus the allowed lateness.",
        ),
        panel(
            "state-timeline",
            "Consumption paused",
            series(CONSUMPTION_PAUSED),
            (18, 32, 6, 8),
            defaults={
                "mappings": [
                    {
                        "type": "value",
                        "options": {
                            "0": {"text": "running", "color": GREEN},
                            "1": {"text": "paused (sink full)", "color": RED},
                        },
                    }
                ],
                "color": {"mode": "thresholds"},
                "displayName": "consumer",
            },
            description="1 while the sink's buffer is full and consumption waits.",
        ),
    ]
    return dashboard(
        "fairwatch-pipeline",
        "fairwatch / Pipeline health",
        "Throughput, consumer lag, invalid and dead-lettered events, labels waiting, late "
        "events, sink backlog and notification failures.",
        panels,
        [],
        time_from="now-6h",
    )
