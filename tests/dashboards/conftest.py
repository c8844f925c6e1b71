"""Fixtures of the deployment tests: the sink tests' InfluxDB helpers are shared from there."""

from __future__ import annotations

from tests.monitor.sinks.sink_fixtures import influx_target

__all__ = ["influx_target"]
