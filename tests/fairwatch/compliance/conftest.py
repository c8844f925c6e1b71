"""One replayed day of stored data shared by the report tests (see ``scenario.py``)."""

from __future__ import annotations

import pytest

from tests.fairwatch.compliance.scenario import Stored, replay


@pytest.fixture(scope="session")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Stored:
    """A day of events replayed into an embedded sink and an alert store (about 30 s)."""
    return replay(tmp_path_factory.mktemp("stored"))
