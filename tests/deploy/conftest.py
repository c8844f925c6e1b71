"""Fixtures of the deployment tests: the sink tests' InfluxDB helpers are shared from there."""

from __future__ import annotations

import sys
from pathlib import Path

SINK_TESTS = Path(__file__).resolve().parents[1] / "sinks"
if str(SINK_TESTS) not in sys.path:
    sys.path.insert(0, str(SINK_TESTS))

from sink_fixtures import influx_target  # noqa: E402

__all__ = ["influx_target"]
