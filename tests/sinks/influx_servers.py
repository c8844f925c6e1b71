"""InfluxDB servers for the sink tests: the suite's shared one, or a dedicated restartable one.

The dedicated instance is the project's own local server (``deploy/local/localservers.py``) in a
temporary state directory, so a test can stop and start it without disturbing other tests.
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from influxdb_client import InfluxDBClient

from monitor.sinks.points import Row

ROOT = Path(__file__).resolve().parents[2]
_META = {"result", "table", "_start", "_stop", "_time", "_field", "_value", "_measurement"}


def localservers() -> ModuleType:
    """The ``deploy/local/localservers.py`` module (a script, not a package)."""
    name = "fairwatch_localservers"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "deploy/local/localservers.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@dataclass(frozen=True)
class InfluxTarget:
    url: str
    token: str
    org: str
    bucket: str

    @classmethod
    def of(cls, connection: Any) -> InfluxTarget:
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
                tags = tuple(sorted((k, v) for k, v in record.values.items()
                                    if k not in _META and v is not None))
                time: datetime = record.get_time()
                points.setdefault((tags, time.timestamp()), {})[record.get_field()] = (
                    record.get_value()
                )
    return [Row(measurement, dict(tags), fields, time) for (tags, time), fields in points.items()]


def canonical(rows: list[Row]) -> list[tuple[Any, ...]]:
    """Rows in a comparable form: identity and sorted fields."""
    return sorted((row.identity(), sorted(row.fields.items())) for row in rows)
