"""The local InfluxDB server is real: influxdb-client writes points, Flux reads them back."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from influxdb_client import InfluxDBClient, Point, WritePrecision
from influxdb_client.client.write_api import SYNCHRONOUS

pytestmark = pytest.mark.integration

START = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def client_for(target: Any) -> InfluxDBClient:
    """A client for anything with ``url``, ``token`` and ``org`` (connection or local server)."""
    return InfluxDBClient(url=target.url, token=target.token, org=target.org, timeout=30_000)


def flux_values(target: Any, flux: str) -> dict[tuple[str, str, datetime | None], Any]:
    """(group, field, time) → value for every record the query returns."""
    values: dict[tuple[str, str, datetime | None], Any] = {}
    with client_for(target) as client:
        for table in client.query_api().query(flux, org=target.org):
            for record in table.records:
                key = (record.values["group"], record.get_field(), record.values.get("_time"))
                values[key] = record.get_value()
    return values


def test_points_written_with_the_write_api_read_back_with_flux(influxdb_database: Any) -> None:
    written: dict[tuple[str, str, datetime | None], Any] = {}
    points = []
    for minute in range(30):
        for group, rate in (("female", 0.25), ("male", 0.5)):
            at = START + timedelta(minutes=minute)
            selection_rate = rate + minute / 1000
            points.append(
                Point("fairness")
                .tag("model_id", "credit")
                .tag("group", group)
                .field("selection_rate", selection_rate)
                .field("n", 100 + minute)
                .time(at, WritePrecision.S)
            )
            written[(group, "selection_rate", at)] = selection_rate
            written[(group, "n", at)] = 100 + minute
    with client_for(influxdb_database) as client:
        client.write_api(write_options=SYNCHRONOUS).write(
            bucket=influxdb_database.bucket, org=influxdb_database.org, record=points
        )

    read = flux_values(
        influxdb_database,
        f'''
        from(bucket: "{influxdb_database.bucket}")
          |> range(start: 2026-01-05T00:00:00Z, stop: 2026-01-06T00:00:00Z)
          |> filter(fn: (r) => r._measurement == "fairness" and r.model_id == "credit")
    ''',
    )

    assert read == written


def test_flux_aggregates_over_the_written_points(influxdb_database: Any) -> None:
    lines = [
        f"fairness,group=female selection_rate={value} {int(START.timestamp()) + index}"
        for index, value in enumerate((0.1, 0.2, 0.3, 0.6))
    ]
    with client_for(influxdb_database) as client:
        client.write_api(write_options=SYNCHRONOUS).write(
            bucket=influxdb_database.bucket, record=lines, write_precision=WritePrecision.S
        )

    read = flux_values(
        influxdb_database,
        f'''
        from(bucket: "{influxdb_database.bucket}")
          |> range(start: 2026-01-05T00:00:00Z, stop: 2026-01-06T00:00:00Z)
          |> filter(fn: (r) => r._field == "selection_rate")
          |> mean()
    ''',
    )

    assert read == {("female", "selection_rate", None): pytest.approx(0.3)}


def test_a_restarted_server_keeps_its_port_and_its_data(local_servers_factory: Any) -> None:
    server = local_servers_factory("influxdb")
    url = server.url
    with client_for(server) as client:
        client.write_api(write_options=SYNCHRONOUS).write(
            bucket=server.bucket,
            record="fairness,group=x n=7i 1767614400",
            write_precision=WritePrecision.S,
        )

    server.stop()
    assert not server.is_running()
    server.start()

    assert server.url == url
    read = flux_values(server, f'from(bucket: "{server.bucket}") |> range(start: 0)')
    assert read == {("x", "n", datetime(2026, 1, 5, 12, 0, tzinfo=UTC)): 7}


def test_a_free_port_taken_before_the_server_binds_it_is_replaced(
    localservers_module: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = localservers_module
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        real_free_ports = module.free_ports
        offers = iter([[taken, *real_free_ports(1, exclude=frozenset({taken}))]])
        # The first choice looks free when checked but is taken when influxd binds it.
        monkeypatch.setattr(
            module,
            "free_ports",
            lambda count, **kw: next(offers, None) or real_free_ports(count, **kw),
        )
        monkeypatch.setattr(module, "port_is_free", lambda port, host="127.0.0.1": True)
        server = module.InfluxDBServer(state_dir=tmp_path)
        try:
            server.start()
            assert server.port != taken
            assert server.probe() is None
        finally:
            server.stop()
