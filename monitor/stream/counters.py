"""The counters and gauges of the pipeline, the daemon and the closed-window gate, declared once.

The same samples feed the ``fairwatch_pipeline`` measurement of the sinks (one field per metric
name) and the Prometheus ``/metrics`` endpoint (one family per metric name). Counters are totals
since the process started (they restart at 0 with the process: the sinks tag each point with the
``instance`` and its ``incarnation``, so totals over restarts are the sum of each incarnation's
last value); gauges are current values. The naming convention is in :mod:`monitor.counters`.
"""

from __future__ import annotations

from monitor.counters import Counters, Metric

EVENTS_CONSUMED = Metric(
    "fairwatch_pipeline_events_consumed_total",
    "counter",
    "Records read from the input topics.",
    ("topic",),
)
EVENTS_INVALID = Metric(
    "fairwatch_pipeline_events_invalid_total",
    "counter",
    "Records rejected, by reason (too_late: older than the state still holds).",
    ("topic", "reason"),
)
EVENTS_DEAD_LETTERED = Metric(
    "fairwatch_pipeline_events_dead_lettered_total",
    "counter",
    "Rejected records forwarded to the dead-letter topic.",
)
EVENTS_LATE = Metric(
    "fairwatch_pipeline_events_late_total",
    "counter",
    "Predictions counted after their windows had closed (the windows were revised).",
    ("window",),
)
EVENTS_DUPLICATE = Metric(
    "fairwatch_pipeline_events_duplicate_total",
    "counter",
    "Predictions or labels already seen (ignored).",
    ("kind",),
)
LABELS_JOINED = Metric(
    "fairwatch_pipeline_labels_joined_total",
    "counter",
    "Labels added to the counts of their prediction.",
)
LABELS_ORPHANED = Metric(
    "fairwatch_pipeline_labels_orphaned_total",
    "counter",
    "Labels whose prediction never arrived (or was retired) within the horizon.",
)
PREDICTIONS_EXPIRED_UNLABELED = Metric(
    "fairwatch_pipeline_predictions_expired_unlabeled_total",
    "counter",
    "Predictions whose label never came within the horizon.",
)
PREDICTIONS_AWAITING_LABEL = Metric(
    "fairwatch_pipeline_predictions_awaiting_label",
    "gauge",
    "Predictions waiting for their label.",
)
LABELS_AWAITING_PREDICTION = Metric(
    "fairwatch_pipeline_labels_awaiting_prediction",
    "gauge",
    "Labels waiting for their prediction.",
)
CONSUMER_LAG = Metric(
    "fairwatch_pipeline_consumer_lag_records",
    "gauge",
    "Records in the input topics not yet consumed.",
    ("topic",),
)
WINDOWS_EVALUATED = Metric(
    "fairwatch_pipeline_windows_evaluated_total",
    "counter",
    "Window evaluations handed to the sinks and the alert manager.",
)
CHECKPOINTS = Metric(
    "fairwatch_pipeline_checkpoints_total",
    "counter",
    "Checkpoints committed (state and offsets).",
)
WATERMARK = Metric(
    "fairwatch_pipeline_event_time_watermark_seconds",
    "gauge",
    "Event time (epoch seconds) reached by every active prediction partition minus the "
    "allowed lateness.",
)
CONSUMPTION_PAUSED = Metric(
    "fairwatch_pipeline_consumption_paused",
    "gauge",
    "1 while consumption is paused because the sink buffer is full.",
)
PARTITIONS_IDLE = Metric(
    "fairwatch_pipeline_partitions_idle",
    "gauge",
    "Prediction partitions idle now (not holding event time back).",
)
PARTITIONS_BECAME_IDLE = Metric(
    "fairwatch_pipeline_partitions_became_idle_total",
    "counter",
    "Times a prediction partition was declared idle.",
)
PANES_UPDATED = Metric(
    "fairwatch_pipeline_panes_updated_total",
    "counter",
    "Pane counts read from the pane topic that changed a pane (kafka.mode: pane_counts).",
)
PANES_IGNORED = Metric(
    "fairwatch_pipeline_panes_ignored_total",
    "counter",
    "Pane counts read from the pane topic and not used, by reason (retired: older than the "
    "state still holds; unknown_step, unknown_attribute: the job was rendered from another "
    "configuration).",
    ("reason",),
)

#: The pipeline's metrics, in the order they are reported.
PIPELINE_METRICS: tuple[Metric, ...] = (
    EVENTS_CONSUMED,
    EVENTS_INVALID,
    EVENTS_LATE,
    EVENTS_DUPLICATE,
    LABELS_JOINED,
    LABELS_ORPHANED,
    PREDICTIONS_EXPIRED_UNLABELED,
    PREDICTIONS_AWAITING_LABEL,
    LABELS_AWAITING_PREDICTION,
    WINDOWS_EVALUATED,
    CHECKPOINTS,
    WATERMARK,
    PARTITIONS_IDLE,
    PARTITIONS_BECAME_IDLE,
    PANES_UPDATED,
    PANES_IGNORED,
)

#: The daemon's metrics (what it does around the pipeline), in the order they are reported.
DAEMON_METRICS: tuple[Metric, ...] = (EVENTS_DEAD_LETTERED, CONSUMER_LAG, CONSUMPTION_PAUSED)

# The closed-window gate (monitor/stream/closed_windows.py) in front of the alert rules.
WINDOWS_RELEASED = Metric(
    "fairwatch_alert_windows_released_total",
    "counter",
    "Closed windows handed to the alert rules.",
)
WINDOWS_REVISIONS_IGNORED = Metric(
    "fairwatch_alert_windows_revisions_ignored_total",
    "counter",
    "Revisions of windows the alert rules had already judged.",
)
WINDOWS_HELD = Metric(
    "fairwatch_alert_windows_held",
    "gauge",
    "Open windows waiting to close (plus pipeline.alert_delay) before the rules judge them.",
)

GATE_METRICS: tuple[Metric, ...] = (WINDOWS_RELEASED, WINDOWS_REVISIONS_IGNORED, WINDOWS_HELD)


def _declare_unlabelled(counters: Counters, metrics: tuple[Metric, ...]) -> None:
    for metric in metrics:
        if not metric.labels and metric is not WATERMARK:
            counters.declare(metric)


class PipelineCounters(Counters):
    """The pipeline's counters; :meth:`samples` reports them.

    Every series whose labels are known in advance is reported from the start, at 0; the
    watermark only once there is one, series by topic, reason or window once they counted.
    """

    def __init__(self) -> None:
        super().__init__(PIPELINE_METRICS)
        for kind in ("prediction", "label"):
            self.declare(EVENTS_DUPLICATE, kind=kind)
        _declare_unlabelled(self, PIPELINE_METRICS)


class DaemonCounters(Counters):
    """The daemon's counters (dead letters sent, consumer lag, paused); :meth:`samples` reports
    them. The dead letters and the pause are reported from the start, at 0; the lag by topic
    once it is known."""

    def __init__(self) -> None:
        super().__init__(DAEMON_METRICS)
        _declare_unlabelled(self, DAEMON_METRICS)
