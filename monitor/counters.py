"""Operational counters and gauges: declared as a :class:`Metric`, kept in :class:`Counters`.

Every counter and gauge fairwatch reports is declared once, as a :class:`Metric` constant next to
the code that counts it (``monitor/stream/counters.py`` for the pipeline and the closed-window gate,
``monitor/sinks/counters.py`` for the sinks, ``alerting/metrics.py`` for the alert manager). The
declared name is the one name of the metric everywhere: the Prometheus family on ``/metrics`` and
the field of the ``fairwatch_pipeline`` measurement in InfluxDB and the embedded sink.

Names follow the Prometheus conventions: ``fairwatch_<subsystem>_<what>[_<unit>]``, with the unit
in the name (``_seconds``, ``_rows``, ``_records``) and ``_total`` at the end of every counter and
of no gauge, e.g. ``fairwatch_pipeline_events_consumed_total`` or ``fairwatch_sink_backlog_rows``.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from monitor.types import CounterSample

MetricKind = Literal["counter", "gauge"]

PREFIX = "fairwatch_"
_NAME = re.compile(r"^fairwatch_[a-z][a-z0-9_]*[a-z0-9]$")
_LABEL = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Metric:
    """One declared counter or gauge: its name, kind, help text and label names.

    Raises ``ValueError`` when the name breaks the convention: not prefixed ``fairwatch_``, a
    counter without the ``_total`` suffix, a gauge with it, or label names that are not valid.
    """

    name: str
    kind: MetricKind
    help: str
    labels: tuple[str, ...] = ()
    _label_set: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(f"metric {self.name!r}: expected fairwatch_<subsystem>_<name>")
        if self.kind not in ("counter", "gauge"):
            raise ValueError(f"metric {self.name!r}: kind must be counter or gauge")
        if (self.kind == "counter") != self.name.endswith("_total"):
            raise ValueError(
                f"metric {self.name!r}: a counter's name ends with _total, a gauge's does not"
            )
        if not self.help:
            raise ValueError(f"metric {self.name!r}: help text is missing")
        bad = [label for label in self.labels if not _LABEL.match(label)]
        if bad or len(set(self.labels)) != len(self.labels):
            raise ValueError(f"metric {self.name!r}: invalid or repeated labels {self.labels}")
        object.__setattr__(self, "_label_set", frozenset(self.labels))

    def sample(self, value: float, **labels: str) -> CounterSample:
        """A sample of this metric with exactly its declared labels (else ``ValueError``)."""
        self.check_labels(labels)
        text = {name: str(label) for name, label in labels.items()}
        return CounterSample(self.name, float(value), text, self.kind, self.help)

    def check_labels(self, labels: Mapping[str, str]) -> None:
        if labels.keys() != self._label_set:
            raise ValueError(
                f"metric {self.name}: labels {sorted(labels)} given, {list(self.labels)} declared"
            )


_Key = tuple[str, ...]  # the label values, in the order of Metric.labels


class Counters:
    """Thread-safe values of declared metrics, by label values; :meth:`samples` reports them.

    A series exists once it was declared (:meth:`declare`), incremented or set; a series that
    never was is absent from the samples (and reads as 0). Samples come in the order of
    ``metrics``, then of first use, each metric's series sorted by label values.
    """

    def __init__(self, metrics: Iterable[Metric] = ()) -> None:
        self._lock = threading.Lock()
        self._values: dict[Metric, dict[_Key, float]] = {metric: {} for metric in metrics}

    def _series(self, metric: Metric, labels: Mapping[str, str]) -> tuple[dict[_Key, float], _Key]:
        metric.check_labels(labels)
        return self._values.setdefault(metric, {}), tuple(str(labels[n]) for n in metric.labels)

    def declare(self, metric: Metric, **labels: str) -> None:
        """Report the series at 0 until it changes (a counter that has not counted anything yet)."""
        with self._lock:
            series, key = self._series(metric, labels)
            series.setdefault(key, 0)

    def inc(self, metric: Metric, amount: float = 1, **labels: str) -> None:
        with self._lock:
            series, key = self._series(metric, labels)
            series[key] = series.get(key, 0) + amount

    def set(self, metric: Metric, value: float, **labels: str) -> None:
        """Set a gauge (or a counter kept elsewhere, such as the watermark's idle transitions)."""
        with self._lock:
            series, key = self._series(metric, labels)
            series[key] = value

    def replace(self, metric: Metric, values: Mapping[str, float]) -> None:
        """Set a one-label metric to exactly these series (label value -> value)."""
        if len(metric.labels) != 1:
            raise ValueError(f"metric {metric.name}: replace() needs exactly one label")
        with self._lock:
            self._values[metric] = {(str(key),): value for key, value in values.items()}

    def get(self, metric: Metric, **labels: str) -> float:
        """The value of one series (0 when it does not exist)."""
        with self._lock:
            series, key = self._series(metric, labels)
            return series.get(key, 0)

    def series(self, metric: Metric) -> dict[tuple[str, ...], float]:
        """Every series of the metric: label values (in the declared order) -> value."""
        with self._lock:
            return dict(self._values.get(metric, {}))

    def by(self, metric: Metric, label: str) -> dict[str, float]:
        """The values summed by one label, like PromQL's ``sum by (label)``."""
        position = metric.labels.index(label)
        totals: dict[str, float] = {}
        with self._lock:
            for key, value in self._values.get(metric, {}).items():
                totals[key[position]] = totals.get(key[position], 0) + value
        return totals

    def total(self, metric: Metric) -> float:
        """The sum over every series of the metric (0 when there is none)."""
        with self._lock:
            return sum(self._values.get(metric, {}).values())

    def samples(self) -> list[CounterSample]:
        with self._lock:
            items = [(metric, sorted(series.items())) for metric, series in self._values.items()]
        return [
            CounterSample(
                metric.name,
                float(value),
                dict(zip(metric.labels, key, strict=True)),
                metric.kind,
                metric.help,
            )
            for metric, series in items
            for key, value in series
        ]
