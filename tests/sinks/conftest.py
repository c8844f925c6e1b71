"""Fixtures of the sink and health tests."""

from __future__ import annotations

import pytest
from sink_builders import make_evaluation
from sink_fixtures import influx_target

from monitor.engine.results import WindowEvaluation

__all__ = ["influx_target"]


@pytest.fixture
def evaluation() -> WindowEvaluation:
    return make_evaluation()
