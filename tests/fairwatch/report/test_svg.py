"""matplotlib for reports (:mod:`fairwatch.report.svg`): inline, stable SVG text."""

from __future__ import annotations

import re

import matplotlib.pyplot as plt

from fairwatch.report.svg import Margins, style_axes, to_svg


def drawing() -> plt.Figure:
    figure, axes = plt.subplots(figsize=(4.0, 2.0))
    style_axes(axes)
    axes.plot([0, 1], [0, 1], label="a line")
    axes.set_title("Title text")
    return figure


def test_an_inline_svg_with_text_as_text_and_no_prolog() -> None:
    svg = to_svg(drawing())
    assert svg.startswith("<svg") and "<?xml" not in svg and "DOCTYPE" not in svg
    assert "Title text" in svg  # text stays text: the page's font, selectable
    assert "<dc:date>" not in svg  # no date: the same figure is the same text


def test_the_same_figure_gives_the_same_text() -> None:
    assert to_svg(drawing()) == to_svg(drawing())


def test_fixed_margins_keep_the_figure_size() -> None:
    def size(svg: str) -> tuple[float, float]:
        width, height = re.search(r'width="([\d.]+)pt" height="([\d.]+)pt"', svg).groups()  # type: ignore[union-attr]
        return float(width), float(height)

    assert size(to_svg(drawing(), Margins())) == (288.0, 144.0)  # 4 × 2 inches at 72 pt
    tight = size(to_svg(drawing()))
    assert tight != (288.0, 144.0)  # cropped to what is drawn
