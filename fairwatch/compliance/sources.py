"""Where a report reads what fairwatch stored: the metrics sink, through one small interface.

:class:`MetricsReader` is what :mod:`fairwatch.compliance.gather` needs of a sink: the
``fairness_group`` and ``fairness_disparity`` rows of the windows that ended in a time range
(as dicts: tags, ``time`` = window end, the defined fields), the last value of each
``fairwatch_pipeline`` counter series written before a moment, and the event time the
pipeline had reached.
:class:`EmbeddedReader` reads the embedded SQLite sink; :class:`fairwatch.compliance.influx.
InfluxReader` reads InfluxDB with Flux. Both hand back the same rows for the same data.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from monitor.sinks.embedded import EmbeddedSink
from monitor.stream.counters import WATERMARK

Row = dict[str, Any]


class SourceError(Exception):
    """The stored data cannot be read; the message names the store and what to do."""


@dataclass(frozen=True)
class CounterValue:
    """The last value of one ``fairwatch_pipeline`` series (``labels``: its tags, with
    ``instance`` and ``incarnation``) before some moment, and when it was written."""

    name: str
    labels: tuple[tuple[str, str], ...]
    value: float
    time: float

    def label(self, name: str) -> str:
        return dict(self.labels).get(name, "")


class MetricsReader(Protocol):
    """What a report reads from a metrics sink."""

    kind: str  # ``embedded`` or ``influxdb``: named in the report

    def groups(self, model_id: str | None, since: float, until: float) -> list[Row]:
        """``fairness_group`` rows with ``since <= time <= until`` (every model for ``None``)."""
        ...

    def disparities(self, model_id: str | None, since: float, until: float) -> list[Row]:
        """``fairness_disparity`` rows with ``since <= time <= until``."""
        ...

    def counters(self, names: Sequence[str], before: float) -> list[CounterValue]:
        """The last value written before ``before`` of every series of the counters
        ``names``."""
        ...

    def watermark(self) -> float | None:
        """The highest event-time watermark the pipeline reported (``None``: none yet)."""
        ...

    def close(self) -> None: ...


def last_values(samples: Iterable[Mapping[str, Any]], before: float) -> list[CounterValue]:
    """From samples (``name``, ``time``, ``value`` and the tags), the last value of each series
    written before ``before``."""
    latest: dict[tuple[str, tuple[tuple[str, str], ...]], tuple[float, float]] = {}
    for sample in samples:
        time = float(sample["time"])
        if time >= before:
            continue
        labels = tuple(
            sorted(
                (str(k), str(v)) for k, v in sample.items() if k not in ("name", "time", "value")
            )
        )
        key = (str(sample["name"]), labels)
        if key not in latest or time >= latest[key][0]:
            latest[key] = (time, float(sample["value"]))
    return [
        CounterValue(name, labels, value, time)
        for (name, labels), (time, value) in sorted(latest.items())
    ]


class EmbeddedReader:
    """Reads the embedded sink's SQLite file (through :class:`EmbeddedSink`'s read API).

    Pass the daemon's own sink to read through its connection (``fairwatch run``), or a path:
    the file must exist (a missing one is a wrong path, or a daemon that never ran).
    """

    kind = "embedded"

    def __init__(self, sink: EmbeddedSink | str | Path) -> None:
        self._owned = not isinstance(sink, EmbeddedSink)
        if isinstance(sink, EmbeddedSink):
            self.sink = sink
        else:
            if not Path(sink).is_file():
                raise SourceError(
                    f"embedded_sink.path {sink} does not exist: the daemon creates it on its "
                    "first run (is this the configuration it runs with?)"
                )
            self.sink = EmbeddedSink(sink)

    def groups(self, model_id: str | None, since: float, until: float) -> list[Row]:
        return self.sink.groups(model_id=model_id, since=since, until=until)

    def disparities(self, model_id: str | None, since: float, until: float) -> list[Row]:
        return self.sink.disparities(model_id=model_id, since=since, until=until)

    def counters(self, names: Sequence[str], before: float) -> list[CounterValue]:
        samples = [sample for name in names for sample in self.sink.pipeline(name)]
        return last_values(samples, before)

    def watermark(self) -> float | None:
        values = [float(sample["value"]) for sample in self.sink.pipeline(WATERMARK.name)]
        return max(values, default=None)

    def close(self) -> None:
        if self._owned:
            self.sink.close()
