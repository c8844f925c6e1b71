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


def test_the_verdict_strip_draws_one_bar_per_run_of_a_status(drawn: list[Figure]) -> None:
    step = 300.0
    rows: list[dict[str, Any]] = [
        {"lane": "parity", "time": HOUR + index * step, "status": status}
        for index, status in enumerate(["ok", "ok", "breach", "breach", "breach", "ok"])
    ]
    rows.append({"lane": "odds", "time": HOUR, "status": "undecided"})
    rows.append({"lane": "odds", "time": HOUR + 3 * step, "status": "undecided"})  # a gap
    timeseries.status_strip(rows, ["parity", "odds"], step, (0.0, 2 * HOUR), "verdicts")
    (axes,) = drawn[0].axes
    bars = [(round(patch.get_y() + patch.get_height() / 2), patch) for patch in axes.patches]
    assert [lane for lane, _patch in bars] == [0, 0, 0, 1, 1]  # 3 runs, then 2 cells
    colours = {patch.get_facecolor()[:3] for lane, patch in bars if lane == 0}
    assert len(colours) == 2  # ok and breach
    legend = [text.get_text() for text in axes.get_legend().get_texts()]
    assert legend == ["breach", "undecided", "ok"]  # worst first, only the statuses drawn


@pytest.mark.parametrize(
    ("days", "first_ticks"),
    [(1, "00:00"), (7, "Mon 05 Jan"), (31, "Mon 05 Jan")],
)
def test_the_time_axis_is_ticked_for_the_span_shown(
    drawn: list[Figure], days: int, first_ticks: str
) -> None:
    start = 1767571200.0  # Mon 05 Jan 2026
    rows = [{"time": start + HOUR, "value": 0.1, "ci_low": 0.0, "ci_high": 0.2}]
    timeseries.disparity_over_time(
        rows, "t", 0.1, None, None, limits=(start, start + days * 86400.0)
    )
    (axes,) = drawn[0].axes
    drawn[0].canvas.draw()
    labels = [label.get_text() for label in axes.get_xticklabels()]
    assert first_ticks in labels[0]
    assert len(labels) <= 8  # readable, whatever the span
