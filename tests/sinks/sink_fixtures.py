"""InfluxDB fixtures shared by the sink and deployment tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from influx_servers import InfluxTarget, localservers


@pytest.fixture(scope="session")
def influx_target(request: pytest.FixtureRequest,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxTarget]:
    """The suite's InfluxDB (the ``influxdb`` fixture), else a local server of our own."""
    try:
        connection = request.getfixturevalue("influxdb")
    except pytest.FixtureLookupError:
        connection = None
    if connection is not None:
        yield InfluxTarget.of(connection)
        return
    server = localservers().InfluxDBServer(state_dir=tmp_path_factory.mktemp("influx-shared"))
    server.start()
    try:
        yield InfluxTarget.of(server)
    finally:
        server.stop()


@pytest.fixture(scope="module")
def restartable_influx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A dedicated InfluxDB server that tests may stop and start (``.stop()``, ``.start()``)."""
    server = localservers().InfluxDBServer(state_dir=tmp_path_factory.mktemp("influx-restart"))
    server.start()
    try:
        yield server
    finally:
        server.stop()
