"""A disparity over time: a window that is not computable is never drawn as a value of 0."""

from __future__ import annotations

from typing import Any

import pytest
from matplotlib.figure import Figure

from fairwatch.report import timeseries

HOUR = 3600.0


@pytest.fixture
def drawn(monkeypatch: pytest.MonkeyPatch) -> list[Figure]:
    figures: list[Figure] = []

    def keep(figure: Figure) -> str:
        figures.append(figure)
        return "<svg/>"

    monkeypatch.setattr(timeseries, "_svg", keep)
    return figures


def test_not_computable_windows_are_ticks_on_the_axis_not_zeros(drawn: list[Figure]) -> None:
    rows: list[dict[str, Any]] = [
        {"time": 10 * HOUR, "status": "not_computable"},  # fewer than two groups: no value
        {"time": 12 * HOUR, "value": 0.04, "ci_low": 0.0, "ci_high": 0.1, "status": "ok"},
        {"time": 14 * HOUR, "value": 0.03, "ci_low": 0.0, "ci_high": 0.09, "status": "ok"},
    ]
    timeseries.disparity_over_time(rows, "race: demographic_parity_difference", 0.1, None, None)
    (axes,) = drawn[0].axes
    labels = axes.get_legend_handles_labels()[1]
    assert "not computable" in labels
    (ticks,) = [c for c in axes.collections if c.get_label() == "not computable"]
    # placed in axes coordinates (a fraction of the height), not at a data value of 0
    assert ticks.get_transform() != axes.transData
    for line in axes.get_lines():
        if line.get_label() == "value":
            assert list(line.get_ydata()) == [0.04, 0.03]
