"""Data quality over a period, from the ``fairwatch_pipeline`` counters.

Counters are totals since their process started and start again at 0 after a restart; every
point carries the process's ``instance`` and ``incarnation``. So the count over ``[start, end)``
is, per series (name, labels, instance, incarnation), its last value written before ``end``
minus its last value written before ``start`` (0 for an incarnation that started later),
summed over the series; a value that went down (a counter reset within one incarnation) counts
from 0. Counter times are when the daemon wrote them (processing time), not event time: what
was handled between the last write before ``end`` and ``end`` falls in the next period.
"""

from __future__ import annotations

from collections.abc import Sequence

from fairwatch.compliance.model import CountBy, DataQuality
from fairwatch.compliance.period import Period
from fairwatch.compliance.sources import CounterValue, MetricsReader
from monitor.counters import Metric
from monitor.stream.counters import (
    EVENTS_CONSUMED,
    EVENTS_DEAD_LETTERED,
    EVENTS_DUPLICATE,
    EVENTS_INVALID,
    EVENTS_LATE,
    LABELS_ORPHANED,
    PREDICTIONS_EXPIRED_UNLABELED,
)

#: The counters a report reads.
QUALITY_COUNTERS: tuple[Metric, ...] = (
    EVENTS_CONSUMED,
    EVENTS_INVALID,
    EVENTS_DEAD_LETTERED,
    EVENTS_LATE,
    EVENTS_DUPLICATE,
    LABELS_ORPHANED,
    PREDICTIONS_EXPIRED_UNLABELED,
)
_PROCESS = ("instance", "incarnation")

Series = tuple[str, tuple[tuple[str, str], ...]]


def increases(before: Sequence[CounterValue], after: Sequence[CounterValue]) -> dict[Series, int]:
    """Each series' increase from the values ``before`` to the values ``after``."""
    start = {(value.name, value.labels): value.value for value in before}
    result: dict[Series, int] = {}
    for value in after:
        key = (value.name, value.labels)
        base = start.get(key, 0.0)
        grown = value.value - base if value.value >= base else value.value
        result[key] = result.get(key, 0) + round(grown)
    return result


def _by(counts: dict[Series, int], metric: Metric, label: str) -> tuple[CountBy, ...]:
    totals: dict[str, int] = {}
    for (name, labels), count in counts.items():
        if name == metric.name:
            key = dict(labels).get(label, "")
            totals[key] = totals.get(key, 0) + count
    return tuple(CountBy(key, count) for key, count in sorted(totals.items()))


def _total(counts: dict[Series, int], metric: Metric) -> int:
    return sum(count for (name, _labels), count in counts.items() if name == metric.name)


def data_quality(reader: MetricsReader, period: Period) -> DataQuality:
    """The counters' increases over ``period``, summed over restarts."""
    names = [metric.name for metric in QUALITY_COUNTERS]
    after = reader.counters(names, period.end)
    counts = increases(reader.counters(names, period.start), after)
    rejected: dict[tuple[str, str], int] = {}
    for (name, labels), count in counts.items():
        if name == EVENTS_INVALID.name and count:
            tags = dict(labels)
            key = (tags.get("topic", ""), tags.get("reason", ""))
            rejected[key] = rejected.get(key, 0) + count
    running = {
        tuple(value.label(label) for label in _PROCESS)
        for value in after
        if value.time > period.start
    }
    return DataQuality(
        consumed=_by(counts, EVENTS_CONSUMED, "topic"),
        rejected=tuple(
            (topic, reason, count) for (topic, reason), count in sorted(rejected.items())
        ),
        dead_lettered=_total(counts, EVENTS_DEAD_LETTERED),
        late=tuple(item for item in _by(counts, EVENTS_LATE, "window") if item.count),
        duplicates=_by(counts, EVENTS_DUPLICATE, "kind"),
        labels_orphaned=_total(counts, LABELS_ORPHANED),
        predictions_expired_unlabeled=_total(counts, PREDICTIONS_EXPIRED_UNLABELED),
        incarnations=len(running),
    )
