"""Figures of results over time (``fairwatch demo``, ``fairwatch report``), as inline SVG.

Each function takes plain rows (as read back from a sink: epoch-second ``time`` = window end) and
returns an ``<svg>`` element; times are shown as UTC dates, ticked by hour, day or week as the
span shown asks. Every figure has the same width and margins, so that the time axes of figures
stacked on a page line up.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
from matplotlib.axes import Axes

from fairwatch.report.svg import GROUP_COLOURS, INK, MUTED, STATUS_COLOUR, Margins, style_axes
from fairwatch.report.svg import to_svg as _to_svg

DRIFT_COLOUR = "#f2c94c"
FIRING_COLOUR = STATUS_COLOUR["breach"]
CLEAR_COLOUR = STATUS_COLOUR["undecided"]
INTERVAL_COLOUR = GROUP_COLOURS[0]
WIDTH_INCHES = 11.0
MARGINS = Margins(right=0.65)  # room for the last date label, centred on the axis' end


@dataclass(frozen=True)
class Span:
    """A shaded stretch of time on every plot (the injected drift, an alert's firing time)."""

    start: float
    end: float | None
    label: str


def _dates(times: Sequence[float]) -> list[float]:
    """Epoch seconds as matplotlib date numbers (days)."""
    moments = [datetime.fromtimestamp(time, tz=UTC) for time in times]
    return [float(value) for value in mdates.date2num(moments)]


def _svg(figure: plt.Figure) -> str:
    return _to_svg(figure, MARGINS)


def _style(
    axes: Axes, drift: Span | None, end: float | None, limits: tuple[float, float] | None = None
) -> None:
    style_axes(axes, "both")
    axes.tick_params(axis="x", which="both", length=3)
    if drift is not None:
        axes.axvspan(
            *_dates([drift.start, drift.end if drift.end is not None else end or drift.start]),
            color=DRIFT_COLOUR,
            alpha=0.25,
            linewidth=0,
            label=drift.label,
        )
    if limits is not None:
        axes.set_xlim(*_dates(limits))
    axes.xaxis_date(tz=UTC)
    _ticks(axes, None if limits is None else limits[1] - limits[0])


#: Spans shown (seconds) up to which the time axis is ticked by hours, by days, by weeks.
HOURLY_UP_TO = 2 * 86400.0
DAILY_UP_TO = 16 * 86400.0


def _ticks(axes: Axes, span: float | None) -> None:
    """Major ticks every 6 hours (a day or two), every day (up to two weeks: the default) or
    every Monday (longer spans), labelled in UTC."""
    if span is not None and span <= HOURLY_UP_TO:
        axes.xaxis.set_major_locator(mdates.HourLocator(byhour=(0, 6, 12, 18), tz=UTC))
        axes.xaxis.set_major_formatter(mdates.DateFormatter("%a %d %b %H:%M", tz=UTC))
        axes.xaxis.set_minor_locator(mdates.HourLocator(tz=UTC))
    elif span is None or span <= DAILY_UP_TO:
        axes.xaxis.set_major_locator(mdates.DayLocator(tz=UTC))
        axes.xaxis.set_major_formatter(mdates.DateFormatter("%a %d %b", tz=UTC))
        axes.xaxis.set_minor_locator(mdates.HourLocator(byhour=(6, 12, 18), tz=UTC))
    else:
        axes.xaxis.set_major_locator(mdates.WeekdayLocator(byweekday=mdates.MO, tz=UTC))
        axes.xaxis.set_major_formatter(mdates.DateFormatter("%a %d %b", tz=UTC))
        axes.xaxis.set_minor_locator(mdates.DayLocator(tz=UTC))


def disparity_over_time(
    rows: Sequence[Mapping[str, Any]],
    title: str,
    threshold: float | None,
    clear_threshold: float | None,
    drift: Span | None,
    firing: Sequence[Span] = (),
    limits: tuple[float, float] | None = None,
    *,
    upward: bool = True,
    ylabel: str = "difference",
    threshold_text: str | None = None,
) -> str:
    """A disparity over time: its value, its interval band, the rule's thresholds.

    Windows whose disparity is ``not_computable`` (fewer than two groups with enough data) have
    no value: they are marked by grey ticks along the bottom edge, never as a value of 0.
    ``upward``: the disparity breaches above ``threshold`` (a difference; a ratio breaches
    below); ``threshold_text`` names the threshold line (default: when the rule fires).
    """
    figure, axes = plt.subplots(figsize=(WIDTH_INCHES, 3.4))
    judged = [row for row in rows if row.get("value") is not None]
    starved = [row for row in rows if row.get("value") is None]
    end = max((row["time"] for row in rows), default=None)
    _style(axes, drift, end, limits)
    for span in firing:
        axes.axvspan(
            *_dates([span.start, span.end if span.end is not None else end or span.start]),
            color=FIRING_COLOUR,
            alpha=0.10,
            linewidth=0,
            label=span.label,
        )
    if judged:
        times = _dates([row["time"] for row in judged])
        values = [row["value"] for row in judged]
        low = [row.get("ci_low", row["value"]) for row in judged]
        high = [row.get("ci_high", row["value"]) for row in judged]
        axes.fill_between(
            times, low, high, color=INTERVAL_COLOUR, alpha=0.2, linewidth=0, label="95% interval"
        )
        axes.plot(times, values, color=INTERVAL_COLOUR, linewidth=1.8, label="value")
    if starved:
        axes.scatter(
            _dates([row["time"] for row in starved]),
            [0.02] * len(starved),
            transform=axes.get_xaxis_transform(),  # y in axes fraction: off the value scale
            marker="|",
            s=30,
            color=MUTED,
            label="not computable",
            zorder=3,
        )
    above, below = ("above", "below") if upward else ("below", "above")
    if threshold is not None:
        axes.axhline(
            threshold,
            color=FIRING_COLOUR,
            linestyle="--",
            linewidth=1.2,
            label=threshold_text or f"fires {above} {threshold:g}",
        )
    if clear_threshold is not None and clear_threshold != threshold:
        axes.axhline(
            clear_threshold,
            color=CLEAR_COLOUR,
            linestyle=":",
            linewidth=1.2,
            label=f"resolves {below} {clear_threshold:g}",
        )
    axes.set_title(title, loc="left", fontsize=11)
    axes.set_ylabel(ylabel)
    axes.legend(loc="upper left", fontsize=8, ncols=3, frameon=False)
    top = max([threshold or 0.0, *(row.get("ci_high", 0.0) for row in judged), 0.05])
    bottom = min([-0.02, *(row.get("ci_low", 0.0) for row in judged)])
    axes.set_ylim(bottom=bottom, top=top * 1.35)
    return _svg(figure)


def group_rates_over_time(
    rows: Sequence[Mapping[str, Any]],
    title: str,
    drift: Span | None,
    rate: str = "selection_rate",
    min_group_size: int = 0,
    limits: tuple[float, float] | None = None,
    ylim: tuple[float, float] | None = (0.0, 0.6),
) -> str:
    """Each group's ``rate`` over time with its Wilson interval band.

    Windows where a group is below ``min_group_size`` are left out of its line (too few rows to
    say anything), so small groups show gaps instead of noise. ``ylim`` ``None``: from 0 to a
    little above the highest interval drawn.
    """
    figure, axes = plt.subplots(figsize=(WIDTH_INCHES, 3.0))
    end = max((row["time"] for row in rows), default=None)
    _style(axes, drift, end, limits)
    by_group: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        by_group.setdefault(str(row["group"]), []).append(row)
    order = sorted(by_group, key=lambda group: -sum(row.get("n", 0) for row in by_group[group]))
    highest = 0.0
    for index, group in enumerate(order):
        points = [
            row
            for row in by_group[group]
            if row.get(rate) is not None and row.get("n", 0) >= min_group_size
        ]
        if not points:
            continue
        colour = GROUP_COLOURS[index % len(GROUP_COLOURS)]
        times = _dates([row["time"] for row in points])
        low = [row.get(f"{rate}_ci_low", row[rate]) for row in points]
        high = [row.get(f"{rate}_ci_high", row[rate]) for row in points]
        axes.fill_between(times, low, high, color=colour, alpha=0.15, linewidth=0)
        axes.plot(times, [row[rate] for row in points], color=colour, linewidth=1.6, label=group)
        highest = max(highest, *high)
    axes.set_title(title, loc="left", fontsize=11)
    axes.set_ylabel(rate.replace("_", " "))
    axes.set_ylim(*(ylim or (0.0, min(1.05, max(0.1, highest * 1.25)))))
    axes.legend(loc="upper left", fontsize=8, ncols=6, frameon=False)
    return _svg(figure)


def _mark(axes: Axes, text: str, x: float, row: int, colour: str) -> None:
    """A small label just right of ``x`` on a timeline row."""
    axes.annotate(
        text, (x, row), xytext=(4, 0), textcoords="offset points", va="center", fontsize=8,
        color=colour,
    )  # fmt: skip


def alert_timeline(
    alerts: Sequence[Mapping[str, Any]],
    start: float,
    end: float,
    drift: Span | None,
    *,
    muted: Sequence[Span] = (),
    title: str = "Alert timeline (event time)",
) -> str:
    """One bar per alert instance from firing to resolve, on the stream's time axis; ``muted``:
    stretches when a silence held the notifications back, hatched across the timeline."""
    names = list(dict.fromkeys(str(alert["name"]) for alert in alerts))
    figure, axes = plt.subplots(figsize=(WIDTH_INCHES, 1.1 + 0.55 * max(1, len(names))))
    _style(axes, drift, end, (start, end))
    for index, span in enumerate(muted):
        axes.axvspan(
            *_dates([max(span.start, start), min(span.end if span.end is not None else end, end)]),
            facecolor="none", edgecolor=MUTED, hatch="///", linewidth=0, alpha=0.6, zorder=0,
            label=span.label if index == 0 else None,
        )  # fmt: skip
    for alert in alerts:
        row = names.index(str(alert["name"]))
        fired, resolved = alert["fired_at"], alert.get("resolved_at")
        left, right = _dates([fired, resolved if resolved is not None else end])
        axes.barh(row, right - left, left=left, height=0.42, color=FIRING_COLOUR, alpha=0.85)
        _mark(axes, "firing", left, row, "white")
        if resolved is not None:
            _mark(axes, "resolved", right, row, STATUS_COLOUR["ok"])
    for row, name in enumerate(names):
        axes.annotate(
            name,
            (0.0, row - 0.3),
            xycoords=("axes fraction", "data"),
            xytext=(4, 0),
            textcoords="offset points",
            va="bottom",
            fontsize=8,
            color=INK,
        )
    axes.set_yticks([])
    axes.set_ylim(-0.8, max(0.6, len(names) - 0.4))
    if not names:
        axes.text(
            0.5,
            0.5,
            "no alert fired",
            transform=axes.transAxes,
            ha="center",
            va="center",
            color=MUTED,
        )
    axes.set_title(title, loc="left", fontsize=11)
    axes.invert_yaxis()
    if muted:
        axes.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    return _svg(figure)


def status_strip(
    rows: Sequence[Mapping[str, Any]],
    lanes: Sequence[str],
    step: float,
    limits: tuple[float, float],
    title: str,
) -> str:
    """Verdicts over time, one lane per metric: each window (``lane``, ``time`` = its end,
    ``status``) is a cell from ``time - step`` to ``time`` in its status's colour (windows in a
    row with the same status are drawn as one bar). A gap is a window with no result."""
    figure, axes = plt.subplots(figsize=(WIDTH_INCHES, 0.9 + 0.42 * max(1, len(lanes))))
    _style(axes, None, None, limits)
    axes.grid(False)
    by_lane: dict[str, list[tuple[float, str]]] = {lane: [] for lane in lanes}
    for row in rows:
        if row["lane"] in by_lane:
            by_lane[str(row["lane"])].append((float(row["time"]), str(row["status"])))
    shown: set[str] = set()
    for position, lane in enumerate(lanes):
        for start, end, status in _runs(sorted(by_lane[lane]), step):
            left, right = _dates([start, end])
            axes.barh(
                position, right - left, left=left, height=0.5, linewidth=0,
                color=STATUS_COLOUR[status], alpha=0.9 if status == "breach" else 0.75,
                label=None if status in shown else status.replace("_", " "),
            )  # fmt: skip
            shown.add(status)
        axes.annotate(
            lane, (0.0, position - 0.3), xycoords=("axes fraction", "data"), xytext=(4, 0),
            textcoords="offset points", va="bottom", fontsize=8, color=INK,
        )  # fmt: skip
    axes.set_yticks([])
    axes.set_ylim(len(lanes) - 0.4, -0.8)
    axes.set_title(title, loc="left", fontsize=11)
    handles, labels = axes.get_legend_handles_labels()
    order = [labels.index(name) for name in _STATUS_ORDER if name in labels]
    axes.legend(
        [handles[index] for index in order], [labels[index] for index in order],
        loc="lower right", bbox_to_anchor=(1.0, 1.0), fontsize=8, ncols=4, frameon=False,
    )  # fmt: skip
    return _svg(figure)


_STATUS_ORDER = ("breach", "undecided", "ok", "not computable")


def _runs(cells: Sequence[tuple[float, str]], step: float) -> list[tuple[float, float, str]]:
    """``(start, end, status)`` bars: consecutive windows (``step`` apart) of one status."""
    runs: list[tuple[float, float, str]] = []
    for end, status in cells:
        if runs and runs[-1][2] == status and abs(end - step - runs[-1][1]) < 1e-6:
            runs[-1] = (runs[-1][0], end, status)
        else:
            runs.append((end - step, end, status))
    return runs
