"""Fixtures of the sink and health tests."""

from __future__ import annotations

import pytest
from sink_builders import make_evaluation

from monitor.results import WindowEvaluation


@pytest.fixture
def evaluation() -> WindowEvaluation:
    return make_evaluation()
