"""Figures of one window's results (``fairwatch audit``), as inline SVG.

Per-group rates with their intervals, disparities with their intervals and thresholds coloured by
verdict, each group's ratio to a reference group with the four-fifths band, and reliability
diagrams of scores.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np

from fairwatch.report.svg import GROUP_COLOURS, INK, MUTED, STATUS_COLOUR, style_axes, to_svg
from monitor.engine.disparities import REFERENCE_SUFFIX
from monitor.engine.intervals import wilson_interval
from monitor.engine.results import RATE_LABELS, Disparity, GroupResult, signed

RATE_COLOUR = {"selection_rate": "#1565c0", "tpr": "#6a1b9a", "fpr": "#ef6c00", "ppv": "#00838f"}
RATE_TITLE = {
    "selection_rate": "Selection rate",
    "tpr": "True positive rate",
    "fpr": "False positive rate",
    "ppv": "Precision (PPV)",
}
#: A reliability diagram draws at most this many groups (the largest); more are unreadable.
MOST_RELIABILITY_GROUPS = len(GROUP_COLOURS)
#: Bins with fewer rows are drawn faint and off the line: their observed rate says little.
THIN_BIN_ROWS = 20


def group_rates_figure(groups: Sequence[GroupResult]) -> str:
    """One panel per rate: each group's rate as a dot with its interval as a bar; groups under
    the minimum size for the rate (left out of its comparisons) are drawn hollow."""
    rates = [r for r in RATE_TITLE if any(g.rates.get(r) is not None for g in groups)]
    names = [g.group for g in groups]
    height = max(1.6, 0.32 * len(groups) + 0.9)
    figure, axes_list = plt.subplots(
        1, len(rates), figsize=(2.6 * len(rates) + 1.2, height), sharey=True, squeeze=False
    )
    for axes, rate in zip(axes_list[0], rates, strict=True):
        style_axes(axes)
        for position, group in enumerate(groups):
            value = group.rates.get(rate)
            interval = group.intervals.get(rate)
            if value is None:
                axes.text(0.5, position, "undefined", ha="center", va="center", color="#90a4ae")
                continue
            colour = RATE_COLOUR[rate]
            if interval is not None:
                axes.plot(interval, [position, position], color=colour, linewidth=2.2, alpha=0.35)
            hollow = rate in group.small_rates
            axes.plot(
                [value], [position], "o", markersize=6, color=colour,
                markerfacecolor="white" if hollow else colour,
            )  # fmt: skip
        axes.set_xlim(-0.02, 1.02)
        axes.set_title(RATE_TITLE[rate], fontsize=9.5, color=INK, loc="left")
        axes.set_yticks(range(len(names)))
        axes.set_yticklabels(names)
        axes.set_ylim(len(names) - 0.5, -0.5)
    figure.tight_layout(w_pad=1.2)
    return to_svg(figure)


def _label(disparity: Disparity) -> str:
    metric = disparity.metric
    for suffix in ("_difference", "_ratio"):
        if metric.endswith(suffix):
            metric = metric[: -len(suffix)]
    return f"{disparity.attribute} · {metric.replace('_', ' ')}"


def disparity_figure(disparities: Sequence[Disparity]) -> str | None:
    """Differences and ratios side by side: value, interval and threshold, coloured by status."""
    differences = [d for d in disparities if d.group is None and d.metric.endswith("_difference")]
    ratios = [d for d in disparities if d.group is None and d.metric.endswith("_ratio")]
    panels = [
        (items, kind) for items, kind in ((differences, "difference"), (ratios, "ratio")) if items
    ]
    if not panels:
        return None
    rows = max(len(items) for items, _kind in panels)
    figure, axes_list = plt.subplots(
        1, len(panels), figsize=(5.4 * len(panels), 0.3 * rows + 1.0), squeeze=False
    )
    for axes, (items, kind) in zip(axes_list[0], panels, strict=True):
        style_axes(axes)
        for position, disparity in enumerate(items):
            colour = STATUS_COLOUR[disparity.status]
            if disparity.threshold is not None:
                axes.plot(
                    [disparity.threshold] * 2, [position - 0.38, position + 0.38],
                    color=INK, linewidth=1.1, linestyle=(0, (2, 1.5)),
                )  # fmt: skip
            if disparity.value is None:
                axes.text(0.5, position, "undefined", ha="center", va="center", color="#90a4ae")
                continue
            if disparity.ci_low is not None and disparity.ci_high is not None:
                axes.barh(
                    position, disparity.ci_high - disparity.ci_low, left=disparity.ci_low,
                    height=0.5, color=colour, alpha=0.22, linewidth=0,
                )  # fmt: skip
            axes.plot([disparity.value], [position], "D", markersize=5.5, color=colour)
        axes.set_yticks(range(len(items)))
        axes.set_yticklabels([_label(d) for d in items])
        axes.set_ylim(len(items) - 0.5, -0.5)
        axes.set_xlim(0, 1.0 if kind == "ratio" else max(0.3, _upper(items)))
        title = "Differences (max − min; breach above the dashed threshold)"
        if kind == "ratio":
            title = "Ratios (min / max; breach below the dashed threshold)"
        axes.set_title(title, fontsize=9.5, color=INK, loc="left")
    figure.tight_layout(w_pad=2.0)
    return to_svg(figure)


def _upper(items: Sequence[Disparity]) -> float:
    highs = [d.ci_high or d.value or 0.0 for d in items]
    return min(1.0, max(highs, default=0.0) * 1.1 + 0.02)


def reference_figure(disparities: Sequence[Disparity]) -> str | None:
    """Each group's selection-rate ratio to the reference group, with the four-fifths band."""
    items = [d for d in disparities if d.metric.endswith(REFERENCE_SUFFIX)]
    if not items:
        return None
    threshold = items[0].threshold or 0.8
    figure, axes = plt.subplots(figsize=(6.4, 0.32 * len(items) + 1.0))
    style_axes(axes)
    axes.axvspan(threshold, 1 / threshold, color="#e8f5e9", zorder=0)
    axes.axvline(1.0, color="#a5d6a7", linewidth=1)
    highest = 1 / threshold
    for position, disparity in enumerate(items):
        colour = STATUS_COLOUR[disparity.status]
        if disparity.value is None:
            continue
        if disparity.ci_low is not None and disparity.ci_high is not None:
            axes.plot([disparity.ci_low, disparity.ci_high], [position] * 2, color=colour,
                      linewidth=2.2, alpha=0.4)  # fmt: skip
            highest = max(highest, min(disparity.ci_high, 3.0))
        axes.plot([disparity.value], [position], "o", markersize=6, color=colour)
    axes.set_yticks(range(len(items)))
    axes.set_yticklabels([f"{d.group}" for d in items])
    axes.set_ylim(len(items) - 0.5, -0.5)
    axes.set_xlim(0, highest * 1.05)
    reference = items[0].reference_group
    rate = RATE_LABELS.get(items[0].rate or "selection_rate", "selection rate").capitalize()
    axes.set_title(
        f"{rate} ÷ {reference}'s (four-fifths band {threshold:g}–{1 / threshold:.3g})",
        fontsize=9.5, color=INK, loc="left",
    )  # fmt: skip
    figure.tight_layout()
    return to_svg(figure)


def reliability_figure(groups: Sequence[GroupResult], min_group_size: int) -> str | None:
    """The reliability diagram of an attribute: per group and score bin, the observed rate of
    label 1 against the bin's mean score, with the bin's Wilson interval; the diagonal is
    perfect calibration. Markers grow with the bin's rows; a bin with fewer than
    :data:`THIN_BIN_ROWS` rows is a faint hollow point off the group's line (its rate can be
    anything from 0 to 1); groups with fewer than ``min_group_size`` labeled scored rows (left
    out of the calibration difference) are dashed. At most :data:`MOST_RELIABILITY_GROUPS`
    groups, the largest. None without scores."""
    scored = [g for g in groups if any(b.n for b in g.reliability)]
    if not scored:
        return None
    shown = sorted(scored, key=lambda g: -sum(b.n for b in g.reliability))
    shown = shown[:MOST_RELIABILITY_GROUPS]
    shown.sort(key=lambda g: g.group)
    figure, axes = plt.subplots(figsize=(8.6, 5.2))
    style_axes(axes, "both")
    axes.plot(
        [0, 1], [0, 1], color=MUTED, linewidth=1.2, linestyle=(0, (4, 3)), zorder=1,
        label="perfectly calibrated",
    )  # fmt: skip
    largest = max(b.n for g in shown for b in g.reliability)
    for index, group in enumerate(shown):
        colour = GROUP_COLOURS[index]
        filled = [b for b in group.reliability if b.n]
        rows = sum(b.n for b in group.reliability)
        small = "calibration_gap" in group.small_rates
        means = np.array([b.mean_score for b in filled], dtype=np.float64)
        observed = np.array([b.observed_rate for b in filled], dtype=np.float64)
        sizes = np.array([b.n for b in filled])
        solid = sizes >= THIN_BIN_ROWS
        low, high = wilson_interval(np.rint(observed * sizes), sizes)
        axes.vlines(
            means[solid], low[solid], high[solid], color=colour, linewidth=1.2, alpha=0.28,
            zorder=2,
        )  # fmt: skip
        gap = "" if group.calibration_gap is None else f", gap {signed(group.calibration_gap)}"
        axes.plot(
            means[solid], observed[solid], color=colour, linewidth=1.7, zorder=3,
            linestyle=(0, (3, 2)) if small else "-",
            label=f"{group.group} ({rows:,} rows{gap})",
        )  # fmt: skip
        axes.scatter(
            means[solid], observed[solid], s=14 + 110 * np.sqrt(sizes[solid] / largest),
            color=colour, linewidth=1.2, zorder=4,
        )  # fmt: skip
        axes.scatter(
            means[~solid], observed[~solid], s=14, facecolor="white", edgecolor=colour,
            linewidth=0.9, alpha=0.6, zorder=4,
        )  # fmt: skip
    axes.set_xlim(-0.01, 1.01)
    axes.set_ylim(-0.01, 1.01)
    axes.set_aspect("equal")
    axes.set_xlabel("mean predicted score in the bin")
    axes.set_ylabel("observed rate of label 1 in the bin")
    axes.text(0.98, 0.03, "below the diagonal: scores too high", ha="right", fontsize=8,
              color=MUTED)  # fmt: skip
    axes.text(0.02, 0.95, "above: scores too low", ha="left", fontsize=8, color=MUTED)
    title = "Reliability per group: observed rate vs mean score, per score bin"
    if len(scored) > len(shown):
        title += f" ({len(shown)} largest of {len(scored)} groups)"
    axes.set_title(title, fontsize=9.5, color=INK, loc="left")
    axes.legend(
        loc="upper left", bbox_to_anchor=(1.03, 1.0), frameon=False, fontsize=8.5,
        title="gap = mean score − observed rate", title_fontsize=8, alignment="left",
    )  # fmt: skip
    figure.tight_layout()
    return to_svg(figure)
