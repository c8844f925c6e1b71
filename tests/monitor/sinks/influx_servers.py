"""Reading back what the sinks wrote to a real InfluxDB server, as rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from influxdb_client import InfluxDBClient

from monitor.sinks.points import Row

_META = {"result", "table", "_start", "_stop", "_time", "_field", "_value", "_measurement"}


@dataclass(frozen=True)
class InfluxTarget:
    url: str
    token: str
    org: str
    bucket: str

    @classmethod
    def of(cls, connection: Any) -> InfluxTarget:
        """From anything with ``url``, ``token``, ``org`` and ``bucket`` (fixtures, servers)."""
        return cls(connection.url, connection.token, connection.org, connection.bucket)

    def client(self) -> InfluxDBClient:
        return InfluxDBClient(url=self.url, token=self.token, org=self.org, timeout=30_000)


def read_rows(target: InfluxTarget, measurement: str, model_id: str) -> list[Row]:
    """Every point of ``measurement`` for ``model_id``, read back with Flux, as rows."""
    flux = (
        f'from(bucket: "{target.bucket}") |> range(start: 1970-01-01T00:00:00Z) '
        f'|> filter(fn: (r) => r._measurement == "{measurement}" and r.model_id == "{model_id}")'
    )
    points: dict[tuple[Any, ...], dict[str, Any]] = {}
    with target.client() as client:
        for table in client.query_api().query(flux, org=target.org):
            for record in table.records:
                tags = tuple(
                    sorted(
                        (k, v) for k, v in record.values.items() if k not in _META and v is not None
                    )
                )
                time: datetime = record.get_time()
                fields = points.setdefault((tags, time.timestamp()), {})
                # a field cleared by a rewrite ("": Flux reads it as null) is none, as in the report
                if record.get_value() not in ("", None):
                    fields[record.get_field()] = record.get_value()
    return [Row(measurement, dict(tags), fields, time) for (tags, time), fields in points.items()]


def canonical(rows: list[Row]) -> list[tuple[Any, ...]]:
    """Rows in a comparable form: identity and sorted fields."""
    return sorted((row.identity(), sorted(row.fields.items())) for row in rows)
