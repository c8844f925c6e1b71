"""The operational counters of the pipeline and of the daemon driving it, reported as
:class:`monitor.types.CounterSample`.

The same samples feed the ``fairwatch_pipeline`` measurement of the sinks and the Prometheus
``/metrics`` endpoint. Counters are totals since the process started (they restart at 0 with the
process: the sinks tag each point with the ``instance`` and its ``incarnation``, so totals over
restarts are the sum of each incarnation's last value); gauges are current values.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from monitor.stream.decode.reasons import Reason
from monitor.types import CounterSample

HELP = {
    "events_consumed": "records read from the input topics",
    "events_invalid": "records rejected, by reason (too_late: older than the state still holds)",
    "events_dead_lettered": "rejected records forwarded to the dead-letter topic",
    "events_late": "predictions counted after their windows had closed (the windows were revised)",
    "events_duplicate": "predictions or labels already seen (ignored)",
    "labels_joined": "labels added to the counts of their prediction",
    "labels_orphaned": "labels whose prediction never arrived (or was retired) within the horizon",
    "predictions_expired_unlabeled": "predictions whose label never came within the horizon",
    "pending_labels": "predictions waiting for their label",
    "unmatched_labels": "labels waiting for their prediction",
    "consumer_lag": "records in the input topics not yet consumed",
    "windows_evaluated": "window evaluations handed to the sinks and the alert manager",
    "checkpoints": "checkpoints committed (state and offsets)",
    "event_time_watermark": "event time reached by every active partition minus the lateness",
    "consumption_paused": "1 while consumption is paused because the sink buffer is full",
    "partitions_idle": "prediction partitions idle now (not holding event time back)",
    "partitions_became_idle": "times a prediction partition was declared idle",
}

GAUGES = {
    "pending_labels",
    "unmatched_labels",
    "consumer_lag",
    "event_time_watermark",
    "consumption_paused",
    "partitions_idle",
}


def _sample(name: str, value: float, **labels: str) -> CounterSample:
    kind = "gauge" if name in GAUGES else "counter"
    return CounterSample(name, float(value), dict(labels), kind, HELP[name])


@dataclass
class PipelineCounters:
    """Counts kept by the pipeline; :meth:`samples` reports them."""

    consumed: Counter[str] = field(default_factory=Counter)  # by topic
    invalid: Counter[tuple[str, Reason]] = field(default_factory=Counter)  # by (topic, reason)
    late: Counter[str] = field(default_factory=Counter)  # by window specification
    duplicate: Counter[str] = field(default_factory=Counter)  # by kind: prediction, label
    joined: int = 0
    orphans: int = 0
    expired_unlabeled: int = 0
    pending_labels: int = 0
    unmatched_labels: int = 0
    windows_evaluated: int = 0
    checkpoints: int = 0
    watermark: float | None = None
    partitions_idle: int = 0
    partitions_became_idle: int = 0

    def samples(self) -> list[CounterSample]:
        out: list[CounterSample] = []

        def add(name: str, value: float, **labels: str) -> None:
            out.append(_sample(name, value, **labels))

        for topic, value in sorted(self.consumed.items()):
            add("events_consumed", value, topic=topic)
        for (topic, reason), value in sorted(self.invalid.items()):
            add("events_invalid", value, topic=topic, reason=reason)
        for window, value in sorted(self.late.items()):
            add("events_late", value, window=window)
        for kind in ("prediction", "label"):
            add("events_duplicate", self.duplicate[kind], kind=kind)
        add("labels_joined", self.joined)
        add("labels_orphaned", self.orphans)
        add("predictions_expired_unlabeled", self.expired_unlabeled)
        add("pending_labels", self.pending_labels)
        add("unmatched_labels", self.unmatched_labels)
        add("windows_evaluated", self.windows_evaluated)
        add("checkpoints", self.checkpoints)
        if self.watermark is not None:
            add("event_time_watermark", self.watermark)
        add("partitions_idle", self.partitions_idle)
        add("partitions_became_idle", self.partitions_became_idle)
        return out


@dataclass
class DaemonCounters:
    """Counts kept by the daemon (what it does around the pipeline); :meth:`samples` reports
    them."""

    dead_lettered: int = 0
    consumer_lag: dict[str, int] = field(default_factory=dict)  # by topic
    paused: bool = False

    def samples(self) -> list[CounterSample]:
        out = [_sample("events_dead_lettered", self.dead_lettered)]
        for topic, lag in sorted(self.consumer_lag.items()):
            out.append(_sample("consumer_lag", lag, topic=topic))
        out.append(_sample("consumption_paused", 1.0 if self.paused else 0.0))
        return out
