"""Reading a report's data from InfluxDB with Flux, as the dashboards do (InfluxDB 2.x, or 1.8
through its 2.x compatibility API: the bucket is then ``database/retention-policy``).

Each query filters one measurement (``monitor/sinks/points.py``) and the rows are put back
together in Python, one dict per point (tags, ``time``, fields), exactly as the embedded sink's
read API returns them; no ``pivot``, which InfluxDB 1.8's Flux handles poorly on wide rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from fairwatch.compliance.sources import CounterValue, Row, SourceError
from monitor.sinks.points import DISPARITY_MEASUREMENT, GROUP_MEASUREMENT, PIPELINE_MEASUREMENT
from monitor.stream.counters import WATERMARK

#: Columns of a Flux record that are not tags.
_META = frozenset(
    {"result", "table", "_start", "_stop", "_time", "_field", "_value", "_measurement"}
)
_EPOCH = "1970-01-01T00:00:00Z"
_FUTURE = "2200-01-01T00:00:00Z"  # a range's stop defaults to now(): replays may be ahead of it


def nanoseconds(epoch: float) -> int:
    """Epoch seconds as integer nanoseconds, at the microsecond the sinks write."""
    return round(epoch * 1_000_000) * 1000


def flux_time(epoch_ns: int) -> str:
    """An RFC 3339 time with nanoseconds (Flux ``range`` bounds)."""
    seconds, fraction = divmod(epoch_ns, 1_000_000_000)
    moment = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{moment}.{fraction:09d}Z"


def stop_before(epoch: float) -> str:
    """A ``range`` stop that keeps the points written before ``epoch`` and none at it: one
    nanosecond earlier (points are at whole microseconds), so that it holds whether the stop is
    excluded (InfluxDB 2.x) or, as InfluxDB 1.8's Flux does, included."""
    return flux_time(nanoseconds(epoch) - 1)


def stop_at(epoch: float) -> str:
    """A ``range`` stop that keeps the points at ``epoch`` (excluded or included alike)."""
    return flux_time(nanoseconds(epoch) + 1)


def _string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class InfluxReader:
    """Queries one bucket of an InfluxDB server (``url``, ``token``, ``org``, ``bucket`` as the
    sink's configuration names them)."""

    kind = "influxdb"

    def __init__(self, url: str, token: str, org: str, bucket: str, timeout: float = 60.0) -> None:
        from influxdb_client import InfluxDBClient

        self.bucket = bucket
        self.org = org or "-"
        self._client = InfluxDBClient(
            url=url, token=token, org=self.org, timeout=int(timeout * 1000)
        )
        self.url = url

    def _query(self, flux: str) -> list[Any]:
        try:
            tables = self._client.query_api().query(flux, org=self.org)
        except Exception as error:  # the client raises many kinds: one message says what to do
            raise SourceError(
                f"cannot query InfluxDB at {self.url} (bucket {self.bucket}): {error}"
            ) from None
        return [record for table in tables for record in table.records]

    def _points(
        self, measurement: str, model_id: str | None, since: float, until: float
    ) -> list[Row]:
        model = "" if model_id is None else f" and r.model_id == {_string(model_id)}"
        flux = (
            f"from(bucket: {_string(self.bucket)})\n"
            f"  |> range(start: {flux_time(nanoseconds(since))}, stop: {stop_at(until)})\n"
            f'  |> filter(fn: (r) => r._measurement == "{measurement}"{model})'
        )
        points: dict[tuple[Any, ...], Row] = {}
        for record in self._query(flux):
            tags = tuple(
                sorted(
                    (key, value)
                    for key, value in record.values.items()
                    if key not in _META and value is not None
                )
            )
            time = record.get_time().timestamp()
            row = points.setdefault((tags, time), {**dict(tags), "time": time})
            value = record.get_value()
            # a field cleared by a rewrite (monitor.sinks.points.influx_row): "", read as null
            if value not in ("", None):
                row[record.get_field()] = value
        return sorted(points.values(), key=lambda row: (row["time"], row.get("model_id", "")))

    def groups(self, model_id: str | None, since: float, until: float) -> list[Row]:
        return self._points(GROUP_MEASUREMENT, model_id, since, until)

    def disparities(self, model_id: str | None, since: float, until: float) -> list[Row]:
        return self._points(DISPARITY_MEASUREMENT, model_id, since, until)

    def counters(self, names: Sequence[str], before: float) -> list[CounterValue]:
        if not names:
            return []
        fields = " or ".join(f"r._field == {_string(name)}" for name in names)
        flux = (
            f"from(bucket: {_string(self.bucket)})\n"
            f"  |> range(start: {_EPOCH}, stop: {stop_before(before)})\n"
            f'  |> filter(fn: (r) => r._measurement == "{PIPELINE_MEASUREMENT}" and ({fields}))\n'
            "  |> last()"
        )
        values = []
        for record in self._query(flux):
            labels = tuple(
                sorted(
                    (key, str(value))
                    for key, value in record.values.items()
                    if key not in _META and value is not None
                )
            )
            values.append(
                CounterValue(
                    record.get_field(),
                    labels,
                    float(record.get_value()),
                    record.get_time().timestamp(),
                )
            )
        return sorted(values, key=lambda value: (value.name, value.labels))

    def watermark(self) -> float | None:
        flux = (
            f"from(bucket: {_string(self.bucket)})\n"
            f"  |> range(start: {_EPOCH}, stop: {_FUTURE})\n"
            f'  |> filter(fn: (r) => r._measurement == "{PIPELINE_MEASUREMENT}" and '
            f'r._field == "{WATERMARK.name}")\n'
            "  |> group()\n  |> max()"
        )
        values = [float(record.get_value()) for record in self._query(flux)]
        return max(values, default=None)

    def close(self) -> None:
        self._client.close()
