"""One window's figures (:mod:`fairwatch.report.plots`): what is drawn is the data, in place.

The figures are caught before they become SVG and their artists read back: each group's dot
sits at its rate and its bar spans its interval; each disparity's diamond at its value, its bar
from the interval's low to high end, its threshold where the rule puts it.
"""

from __future__ import annotations

import pytest
from matplotlib.figure import Figure

from fairwatch.report import plots
from monitor.engine.counts import GroupCounts
from monitor.engine.evaluate import EngineConfig, evaluate
from monitor.engine.results import WindowEvaluation


@pytest.fixture
def drawn(monkeypatch: pytest.MonkeyPatch) -> list[Figure]:
    figures: list[Figure] = []

    def keep(figure: Figure, margins: object = None) -> str:
        figures.append(figure)
        return "<svg/>"

    monkeypatch.setattr(plots, "to_svg", keep)
    return figures


def window(config: EngineConfig | None = None) -> WindowEvaluation:
    counts = {  # n, predicted positive, tp, fp, tn, fn
        ("sex", "F"): GroupCounts(400, 100, 60, 40, 220, 80),
        ("sex", "M"): GroupCounts(600, 300, 200, 100, 150, 150),
        ("sex", "X"): GroupCounts(10, 5, 3, 2, 3, 2),  # small: hollow, left out
    }
    return evaluate("m", "1h", 0.0, 3600.0, counts, config or EngineConfig(bootstrap_samples=200))


def points(axes) -> dict[int, tuple[float, float]]:
    """Marker-only lines (the dots) by their y position: (x, y)."""
    out = {}
    for line in axes.get_lines():
        if line.get_marker() not in ("None", None, "") and line.get_linestyle() == "None":
            x, y = line.get_xdata()[0], line.get_ydata()[0]
            out[round(float(y))] = (float(x), float(y))
    return out


def test_group_rates_put_each_dot_at_its_rate_and_hollow_the_small_groups(
    drawn: list[Figure],
) -> None:
    groups = window().groups
    assert plots.group_rates_figure(groups) == "<svg/>"
    figure = drawn[0]
    titles = [axes.get_title(loc="left") for axes in figure.axes]
    assert titles == [
        "Selection rate",
        "True positive rate",
        "False positive rate",
        "Precision (PPV)",
    ]
    selection = figure.axes[0]
    assert [label.get_text() for label in selection.get_yticklabels()] == ["F", "M", "X"]
    dots = points(selection)
    for position, group in enumerate(groups):
        assert dots[position][0] == pytest.approx(group.rates["selection_rate"])
    hollow = [line for line in selection.get_lines() if line.get_markerfacecolor() == "white"]
    assert [line.get_ydata()[0] for line in hollow] == [2]  # X, under the minimum size
    bars = [line for line in selection.get_lines() if line.get_linestyle() == "-"]
    spans = sorted((float(bar.get_ydata()[0]), tuple(bar.get_xdata())) for bar in bars)
    for position, group in enumerate(groups):
        assert spans[position][1] == pytest.approx(group.intervals["selection_rate"])


def test_disparities_split_into_differences_and_ratios_with_bars_and_thresholds(
    drawn: list[Figure],
) -> None:
    disparities = window().disparities
    assert plots.disparity_figure(disparities) == "<svg/>"
    differences, ratios = drawn[0].axes
    shown = [d for d in disparities if d.group is None and d.metric.endswith("_difference")]
    assert len(differences.get_yticklabels()) == len(shown)
    assert differences.get_yticklabels()[0].get_text() == "sex · demographic parity"
    bars = differences.patches
    for disparity, bar in zip([d for d in shown if d.ci_low is not None], bars, strict=False):
        assert bar.get_x() == pytest.approx(disparity.ci_low)
        assert bar.get_x() + bar.get_width() == pytest.approx(disparity.ci_high)
    dp = next(d for d in shown if d.metric == "demographic_parity_difference")
    assert dp.value == pytest.approx(0.5 - 0.25) and dp.status == "breach"
    diamonds = [line for line in differences.get_lines() if line.get_marker() == "D"]
    assert diamonds[0].get_xdata()[0] == pytest.approx(dp.value)
    assert diamonds[0].get_color() == plots.STATUS_COLOUR["breach"]
    thresholds = [line for line in differences.get_lines() if line.get_linestyle() == "--"]
    assert {float(line.get_xdata()[0]) for line in thresholds} == {dp.threshold}
    assert ratios.get_xlim() == (0.0, 1.0)
    assert plots.disparity_figure([]) is None


def test_reference_ratios_show_the_four_fifths_band(drawn: list[Figure]) -> None:
    evaluation = window(EngineConfig(bootstrap_samples=200, reference_groups={"sex": "M"}))
    assert plots.reference_figure(evaluation.disparities) == "<svg/>"
    (axes,) = drawn[0].axes
    (band,) = axes.patches
    assert band.get_x() == pytest.approx(0.8)
    assert band.get_x() + band.get_width() == pytest.approx(1.25)
    assert "M's" in axes.get_title(loc="left")
    assert plots.reference_figure([]) is None


def test_no_scores_no_reliability_diagram_and_the_same_data_give_the_same_svg() -> None:
    groups = window().groups
    assert plots.reliability_figure(groups, 30) is None
    first = plots.group_rates_figure(groups)
    assert first.startswith("<svg") and first == plots.group_rates_figure(groups)
    assert "Selection rate" in first  # text stays text (selectable, the page's font)
