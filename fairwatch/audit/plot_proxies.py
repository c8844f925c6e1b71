"""The heat maps of the proxy-feature section (inline SVG, matplotlib)."""

from __future__ import annotations

from collections.abc import Callable

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.image import AxesImage

from fairwatch.audit.proxies import PROXY_THRESHOLD, ProxyAssociation, ProxyReport
from fairwatch.audit.render_proxies import number
from fairwatch.report.svg import INK, to_svg

#: The heat maps show at most this many features (the most strongly associated).
MOST_PLOTTED_FEATURES = 40
COLOURS = LinearSegmentedColormap.from_list(
    "proxy", ["#f7f9fa", "#ffe0b2", "#ef8f00", "#c62828", "#6d0f0f"]
).with_extremes(bad="#eceff1")

Value = Callable[[ProxyAssociation], float | None]


def _order(report: ProxyReport) -> list[str]:
    """Features by their strongest pair, strongest first (at most the plotted number)."""
    strongest: dict[str, float] = {}
    for item in report.associations:
        score = -1.0 if item.score is None else item.score
        strongest[item.feature] = max(strongest.get(item.feature, -1.0), score)
    ranked = sorted(strongest, key=lambda feature: (-strongest[feature], feature))
    return ranked[:MOST_PLOTTED_FEATURES]


def _panel(
    axes: Axes,
    cells: dict[tuple[str, str], ProxyAssociation],
    features: list[str],
    attributes: list[str],
    shade: Value,
    shown: Value,
) -> AxesImage:
    """One heat map: colour from ``shade``, the number written from ``shown``, flags framed."""
    grid = np.full((len(features), len(attributes)), np.nan)
    for row, feature in enumerate(features):
        for column, attribute in enumerate(attributes):
            item = cells.get((feature, attribute))
            if item is None:  # a sensitive attribute named as a feature, against itself
                continue
            value = shade(item)
            if value is not None:
                grid[row, column] = max(0.0, value)
            dark = value is not None and value >= 0.55
            axes.text(
                column, row, number(shown(item)), ha="center", va="center", fontsize=7.5,
                color="white" if dark else INK,
            )  # fmt: skip
            if item.proxy:
                frame = plt.Rectangle(
                    (column - 0.46, row - 0.46), 0.92, 0.92, fill=False, edgecolor=INK,
                    linewidth=1.6,
                )  # fmt: skip
                axes.add_patch(frame)
    image = axes.imshow(grid, cmap=COLOURS, vmin=0.0, vmax=1.0, aspect="auto")
    axes.set_xticks(range(len(attributes)))
    axes.set_xticklabels(attributes)
    axes.xaxis.tick_top()
    axes.set_yticks(range(len(features)))
    axes.set_yticklabels(features)
    axes.tick_params(length=0)
    for spine in axes.spines.values():
        spine.set_visible(False)
    return image


def proxies_figure(report: ProxyReport) -> str | None:
    """Two heat maps, features × attributes: the association (V or η) and the held-out
    balanced accuracy (shaded by its skill above chance); flagged pairs are framed, the
    colour bar marks the threshold. None without pairs."""
    if not report.associations:
        return None
    attributes = list(report.attributes)
    features = _order(report)
    cells = {(item.feature, item.attribute): item for item in report.associations}
    width = 1.2 + 0.8 * len(attributes)
    figure, axes_pair = plt.subplots(
        1, 2, figsize=(2 * width + 2.4, 0.27 * len(features) + 1.4), squeeze=False
    )
    left, right = axes_pair[0]
    _panel(left, cells, features, attributes, lambda i: i.association, lambda i: i.association)
    left.set_title("Association: V (categorical), η (numeric)", fontsize=9.5, color=INK,
                   loc="left", pad=20)  # fmt: skip
    image = _panel(
        right, cells, features, attributes, lambda i: i.skill, lambda i: i.balanced_accuracy
    )
    right.set_yticklabels([])  # the same features as on the left
    right.set_title("Held-out balanced accuracy\n(shade: skill above chance)", fontsize=9.5,
                    color=INK, loc="left", pad=20)  # fmt: skip
    bar = figure.colorbar(image, ax=[left, right], fraction=0.05, pad=0.03)
    bar.ax.axhline(PROXY_THRESHOLD, color=INK, linewidth=1.4)
    bar.ax.text(1.6, PROXY_THRESHOLD, " flag", va="center", fontsize=7.5, color=INK,
                transform=bar.ax.get_yaxis_transform())  # fmt: skip
    bar.ax.tick_params(labelsize=7.5, length=0)
    bar.outline.set_visible(False)
    return to_svg(figure)
