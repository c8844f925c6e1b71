"""InfluxDB fixtures shared by the sink and deployment tests (on top of tests/conftest.py)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.monitor.sinks.influx_servers import InfluxTarget


@pytest.fixture(scope="session")
def influx_target(influxdb: Any) -> InfluxTarget:
    """The session's InfluxDB server (its default database), as an :class:`InfluxTarget`."""
    return InfluxTarget.of(influxdb)
