"""matplotlib for reports: set up once (SVG text output, the house style) and the colours.

Importing this module selects the ``Agg`` backend (no display) and the style every report's
figures share; :func:`to_svg` turns a figure into an ``<svg>`` element to inline in a page.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Literal

import matplotlib

matplotlib.use("Agg")  # no display: render to SVG only

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

INK = "#263238"
MUTED = "#78909c"
GRID = "#eceff1"
#: A verdict's colour, the same in every report (and in the page's badges).
STATUS_COLOUR = {
    "breach": "#c62828",
    "undecided": "#ef8f00",
    "ok": "#2e7d32",
    "not_computable": "#9e9e9e",
}
#: Colours of the groups of one attribute (colour-blind safe, Okabe–Ito order).
GROUP_COLOURS = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000")

matplotlib.rcParams.update(
    {
        "svg.fonttype": "none",  # keep text as text: smaller, selectable, uses the page's font
        "svg.hashsalt": "fairwatch",  # stable element ids: the same data give the same page
        "font.family": "sans-serif",
        "font.size": 9,
        "axes.edgecolor": "#b0bec5",
        "axes.labelcolor": INK,
        "axes.titlecolor": INK,
        "xtick.color": INK,
        "ytick.color": INK,
        "axes.spines.top": False,
        "axes.spines.right": False,
    }
)


@dataclass(frozen=True)
class Margins:
    """Fixed margins in inches, so that the axes of figures stacked on a page line up."""

    left: float = 0.85
    right: float = 0.45
    top: float = 0.4
    bottom: float = 0.5


def to_svg(figure: Figure, margins: Margins | None = None) -> str:
    """The figure as an ``<svg>`` element (no XML prolog, no date: the same figure gives the same
    text). With ``margins`` the axes keep those margins; without, the figure is cropped to what
    it draws."""
    if margins is not None:
        width, height = figure.get_size_inches()
        figure.subplots_adjust(
            left=margins.left / width,
            right=1 - margins.right / width,
            top=1 - margins.top / height,
            bottom=margins.bottom / height,
        )
    buffer = io.StringIO()
    figure.savefig(
        buffer,
        format="svg",
        metadata={"Date": None},
        bbox_inches="tight" if margins is None else None,
    )
    plt.close(figure)
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def style_axes(axes: Axes, grid: Literal["x", "y", "both"] = "x") -> None:
    """Light grid lines (``grid``: ``x``, ``y`` or ``both``) under the data, no tick marks."""
    axes.grid(axis=grid, color=GRID, linewidth=0.8)
    axes.set_axisbelow(True)
    axes.tick_params(length=0)
