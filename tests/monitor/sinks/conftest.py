"""Fixtures of the sink and health tests."""

from __future__ import annotations

import pytest

from monitor.engine.results import WindowEvaluation
from tests.monitor.sinks.sink_builders import make_evaluation
from tests.monitor.sinks.sink_fixtures import influx_target

__all__ = ["influx_target"]


@pytest.fixture
def evaluation() -> WindowEvaluation:
    return make_evaluation()
