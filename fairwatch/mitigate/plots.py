"""Plots of a mitigation as inline SVG (matplotlib): the trade-off curve and the rates it moves.

The audit's SVG helpers and style are reused (:mod:`fairwatch.audit.plots`).
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
from matplotlib.axes import Axes

from fairwatch.mitigate.core import MitigationReport
from fairwatch.mitigate.curve import CurvePoint
from fairwatch.report.plots import RATE_COLOUR, RATE_TITLE
from fairwatch.report.svg import GRID, INK, to_svg
from monitor.engine.results import GroupResult

CHOSEN = "#c62828"
FRONT = "#1565c0"
MUTED = "#90a4ae"
REFERENCE = "#6a1b9a"


def _y_limits(report: MitigationReport) -> tuple[float, float]:
    """The curve's y axis: the interesting points, not the degenerate ones (at tolerance 0 a
    deterministic rule often has to select everybody or nobody in some group)."""
    shown = [report.before.outcome.objective, report.after.outcome.objective]
    shown += [p.outcome.objective for p in report.curve if p.pareto and p.tolerance > 0]
    if report.reference is not None:
        shown += [report.reference.expected_objective, report.reference.derandomised.objective]
    top = max(shown + [p.outcome.objective for p in report.curve])
    low = min(shown)
    margin = 0.1 * max(top - low, 0.005)
    return low - margin, top + margin


def _front(points: Sequence[CurvePoint]) -> tuple[list[float], list[float]]:
    pareto = sorted(
        (p.outcome.disparity, p.outcome.objective)
        for p in points
        if p.pareto and p.outcome.disparity is not None
    )
    return [x for x, _y in pareto], [y for _x, y in pareto]


def curve_figure(report: MitigationReport) -> str:
    """Objective against disparity: every point of the curve, the Pareto front as the best
    objective reachable at each disparity (a step: thresholds move in steps), the chosen point,
    the baseline and fairlearn's randomised solution with its derandomised thresholds."""
    objective = report.options.objective.replace("_", " ")
    figure, axes = plt.subplots(figsize=(10.5, 5.2))
    axes.grid(color=GRID, linewidth=0.8)
    axes.set_axisbelow(True)
    axes.tick_params(length=0)
    bottom, top = _y_limits(report)
    clipped = [p for p in report.curve if p.outcome.objective < bottom]
    kept = [p for p in report.curve if p.outcome.objective >= bottom]
    front_x, front_y = _front(report.curve)
    axes.plot(
        front_x,
        front_y,
        drawstyle="steps-post",
        color=FRONT,
        linewidth=1.6,
        zorder=2,
        label="Pareto front (best objective at each disparity)",
    )
    others = [p for p in kept if not p.pareto]
    if others:
        axes.scatter(
            [p.outcome.disparity or 0.0 for p in others],
            [p.outcome.objective for p in others],
            s=16,
            color=MUTED,
            zorder=3,
            label="dominated point",
        )
    pareto = [p for p in kept if p.pareto]
    axes.scatter(
        [p.outcome.disparity or 0.0 for p in pareto],
        [p.outcome.objective for p in pareto],
        s=22,
        color=FRONT,
        zorder=4,
        label="Pareto point",
    )
    for point in clipped:
        axes.plot(
            [point.outcome.disparity or 0.0],
            [bottom],
            "v",
            color=MUTED,
            markersize=7,
            zorder=4,
            clip_on=False,
        )
        axes.annotate(
            f"{point.outcome.objective:.3f}",
            (point.outcome.disparity or 0.0, bottom),
            xytext=(7, 7),
            textcoords="offset points",
            fontsize=7.5,
            color=MUTED,
            bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none"},
        )
    before = report.before.outcome
    axes.scatter(
        [before.disparity or 0.0],
        [before.objective],
        marker="D",
        s=46,
        color=INK,
        zorder=5,
        label=f"before (one threshold, {report.options.threshold:g}): {before.objective:.4f}, "
        f"{_number(before.disparity)}",
    )
    _reference(axes, report)
    chosen = report.curve[report.chosen].outcome
    axes.scatter(
        [chosen.disparity or 0.0],
        [chosen.objective],
        marker="*",
        s=230,
        color=CHOSEN,
        edgecolor="white",
        linewidth=0.8,
        zorder=6,
        label=f"chosen: {objective} {chosen.objective:.4f}, disparity {_number(chosen.disparity)}",
    )
    tolerance = report.options.effective_tolerance
    axes.axvline(tolerance, color=INK, linewidth=1.0, linestyle=(0, (3, 2)), zorder=1)
    axes.text(
        tolerance,
        1.0,
        f" tolerance {tolerance:g}",
        transform=axes.get_xaxis_transform(),
        fontsize=8,
        color=INK,
        va="top",
    )
    right = max([p.outcome.disparity or 0.0 for p in report.curve] + [before.disparity or 0.0])
    axes.set_xlim(-0.005, max(right, tolerance) * 1.08 + 0.005)
    axes.set_ylim(bottom, top)
    axes.set_xlabel(f"{report.problem.metric.replace('_', ' ')} (lower is fairer)")
    axes.set_ylabel(f"{objective} (higher is better)")
    axes.set_title(
        f"Trade-off on {report.attribute}: {objective} against disparity, from tolerance 0 to "
        "no constraint",
        fontsize=10,
        color=INK,
        loc="left",
    )
    axes.legend(
        loc="upper center", bbox_to_anchor=(0.5, -0.13), frameon=False, fontsize=8.5, ncol=3
    )
    figure.tight_layout()
    return to_svg(figure)


def _reference(axes: Axes, report: MitigationReport) -> None:
    reference = report.reference
    if reference is None:
        return
    expected = reference.expected_disparity
    if expected is not None:
        axes.scatter(
            [expected],
            [reference.expected_objective],
            marker="^",
            s=52,
            facecolor="white",
            edgecolor=REFERENCE,
            linewidth=1.4,
            zorder=5,
            label="fairlearn ThresholdOptimizer (randomised, expected)",
        )
    derandomised = reference.derandomised
    if derandomised.disparity is not None:
        axes.scatter(
            [derandomised.disparity],
            [derandomised.objective],
            marker="^",
            s=52,
            color=REFERENCE,
            zorder=5,
            label="fairlearn, derandomised",
        )


def rates_figure(report: MitigationReport) -> str:
    """One panel per constrained rate: each group's rate before (hollow) and after (filled,
    with its Wilson interval), an arrow between them; the band the after rates span among the
    compared groups is shaded. Groups kept at the baseline (too small) are grey."""
    rates = list(report.problem.rates)
    before = {g.group: g for g in report.before.evaluation.groups}
    after = [g for g in report.after.evaluation.groups if g.attribute == report.attribute]
    height = max(1.8, 0.36 * len(after) + 1.0)
    figure, axes_list = plt.subplots(
        1,
        len(rates),
        figsize=(max(10.0, 5.2 * len(rates) + 2.0), height),
        sharey=True,
        squeeze=False,
    )
    for axes, rate in zip(axes_list[0], rates, strict=True):
        _rate_panel(axes, rate, after, before)
    figure.tight_layout(w_pad=1.5)
    return to_svg(figure)


def _rate_panel(
    axes: Axes, rate: str, after: list[GroupResult], before: dict[str, GroupResult]
) -> None:
    axes.grid(axis="x", color=GRID, linewidth=0.8)
    axes.set_axisbelow(True)
    axes.tick_params(length=0)
    values = [
        value
        for g in after
        if rate not in g.small_rates and (value := g.rates.get(rate)) is not None
    ]
    if len(values) >= 2:
        axes.axvspan(min(values), max(values), color="#e3f2fd", zorder=0)
    colour = RATE_COLOUR.get(rate, FRONT)
    for position, group in enumerate(after):
        value = group.rates.get(rate)
        old = before.get(group.group)
        old_value = None if old is None else old.rates.get(rate)
        shade = MUTED if rate in group.small_rates else colour
        if value is None:
            continue
        interval = group.intervals.get(rate)
        if interval is not None:
            axes.plot(interval, [position] * 2, color=shade, linewidth=2.2, alpha=0.3)
        if old_value is not None and abs(old_value - value) > 1e-9:
            axes.annotate(
                "",
                (value, position),
                (old_value, position),
                arrowprops={"arrowstyle": "->", "color": shade, "lw": 1.0},
            )
        if old_value is not None:
            axes.plot(
                [old_value], [position], "o", markersize=6, color=shade, markerfacecolor="white"
            )
        axes.plot([value], [position], "o", markersize=6, color=shade)
    axes.set_xlim(*_rate_limits(rate, after, before))
    axes.set_yticks(range(len(after)))
    axes.set_yticklabels([g.group for g in after])
    axes.set_ylim(len(after) - 0.5, -0.5)
    title = RATE_TITLE.get(rate, rate)
    axes.set_title(f"{title}: before ○ → after ●", fontsize=9.5, color=INK, loc="left")


def _rate_limits(
    rate: str, after: list[GroupResult], before: dict[str, GroupResult]
) -> tuple[float, float]:
    """The x range of a rate panel: the rates and intervals shown, with a margin, in [0, 1]."""
    values: list[float] = []
    for group in after:
        values += [v for v in (group.rates.get(rate),) if v is not None]
        values += list(group.intervals.get(rate) or ())
        old = before.get(group.group)
        if old is not None and old.rates.get(rate) is not None:
            values.append(float(old.rates[rate] or 0.0))
    if not values:
        return -0.02, 1.02
    low, high = min(values), max(values)
    margin = max(0.05 * (high - low), 0.02)
    return max(-0.02, low - margin), min(1.02, high + margin)


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:.4f}"
