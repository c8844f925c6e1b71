"""The figures of a compliance report, drawn with the shared report package
(:mod:`fairwatch.report.timeseries`): per attribute and window, the verdicts of every metric as
a strip, the disparities worth a look over time with their intervals, thresholds and alerts,
each group's selection rate; per model, the alert timeline.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

from alerting.config import RuleConfig
from fairwatch.compliance.model import AlertRecord, SilenceRecord, WindowSeries
from fairwatch.compliance.period import Period
from fairwatch.report.page import figure
from fairwatch.report.svg import GROUP_COLOURS
from fairwatch.report.timeseries import (
    Span,
    alert_timeline,
    disparity_over_time,
    group_rates_over_time,
    status_strip,
)
from monitor.engine.disparities import METRICS, REFERENCE_SUFFIX, SCORE_METRICS
from monitor.engine.results import STATUSES

#: Lanes of the verdict strip, in the engine's order; ratios to the reference group share one.
METRIC_ORDER = tuple(metric.name for metric in (*METRICS, *SCORE_METRICS))
REFERENCE_LANE = "selection_rate" + REFERENCE_SUFFIX + " (worst group)"
#: At most this many disparities are drawn over time per attribute and window.
MOST_DISPARITY_FIGURES = 3
DEFAULT_METRIC = "demographic_parity_difference"
#: At most this many groups (the largest) in a rates figure: one colour each.
MOST_GROUPS = len(GROUP_COLOURS)


def lane_of(metric: str) -> str:
    """The strip's lane of a metric: each group's ratio to the reference group shares one."""
    return REFERENCE_LANE if metric.endswith(REFERENCE_SUFFIX) else metric


def strip_figure(series: WindowSeries, attribute: str, period: Period) -> str:
    """Every metric's verdict in every window of the series."""
    worst: dict[tuple[str, float], str] = {}
    for verdict in series.verdicts:
        for disparity in verdict.disparities:
            key = (lane_of(disparity.metric), verdict.window_end)
            current = worst.get(key)
            if current is None or STATUSES.index(disparity.status) < STATUSES.index(current):
                worst[key] = disparity.status
    present = {lane for lane, _end in worst}
    lanes = [name for name in (*METRIC_ORDER, REFERENCE_LANE) if name in present]
    lanes += sorted(present - set(lanes))
    rows = [{"lane": lane, "time": end, "status": status} for (lane, end), status in worst.items()]
    svg = status_strip(
        rows,
        lanes,
        series.step,
        (period.start, period.end),
        f"{attribute} · {series.window} windows: the verdict of every metric in every window",
    )
    return figure(
        svg,
        "Each bar is a window (drawn at the step in which it ends), coloured by the engine's "
        "verdict: <b>breach</b> when the metric is beyond its threshold (in confident mode: "
        "its whole interval is), <b>undecided</b> when the interval straddles the threshold, "
        "<b>ok</b> within it, <b>not computable</b> when fewer than two groups had enough data. "
        "A gap is a window with no data.",
        "wide",
    )


def watched(
    rules: Sequence[RuleConfig], model_id: str, attribute: str, metric: str, window: str
) -> list[RuleConfig]:
    """The rules that judge ``metric`` of this model, attribute and window."""
    return [
        rule
        for rule in rules
        if rule.selector.group is None
        and rule.selector.matches(model_id, attribute, metric, window, None)
    ]


def chosen_metrics(
    series: WindowSeries, rules: Sequence[RuleConfig], model_id: str, attribute: str
) -> list[str]:
    """The disparities drawn over time: first those an alert rule watches, then differences and
    then ratios that breached in some window (each in the engine's order), else the demographic
    parity difference; at most :data:`MOST_DISPARITY_FIGURES`."""
    summaries = {s.metric: s for s in series.summaries if not s.metric.endswith(REFERENCE_SUFFIX)}
    ordered = [
        m for m in (*METRIC_ORDER, *sorted(set(summaries) - set(METRIC_ORDER))) if m in summaries
    ]
    ruled = [m for m in ordered if watched(rules, model_id, attribute, m, series.window)]
    breached = [m for m in ordered if summaries[m].statuses.get("breach", 0) and m not in ruled]
    breached.sort(key=lambda metric: metric.endswith("_ratio"))  # differences first (stable)
    picked = ruled + breached
    if not picked and DEFAULT_METRIC in summaries:
        picked = [DEFAULT_METRIC]
    return picked[:MOST_DISPARITY_FIGURES]


def disparity_figures(
    series: WindowSeries,
    rules: Sequence[RuleConfig],
    alerts: Sequence[AlertRecord],
    model_id: str,
    attribute: str,
    period: Period,
) -> list[str]:
    """The chosen disparities over time with their interval, threshold and alert spans."""
    figures = []
    for metric in chosen_metrics(series, rules, model_id, attribute):
        rows: list[dict[str, Any]] = []
        threshold: float | None = None
        for verdict in series.verdicts:
            for disparity in verdict.disparities:
                if disparity.metric != metric or disparity.group is not None:
                    continue
                row: dict[str, Any] = {"time": verdict.window_end, "status": disparity.status}
                if disparity.value is not None:
                    row["value"] = disparity.value
                    low, high = disparity.ci or (disparity.value, disparity.value)
                    row.update(ci_low=low, ci_high=high)
                threshold = disparity.threshold if threshold is None else threshold
                rows.append(row)
        judging = watched(rules, model_id, attribute, metric, series.window)
        upward = not metric.endswith("_ratio")
        clear = None
        text = None if threshold is None else f"engine threshold {threshold:g}"
        if len(judging) == 1:
            rule = judging[0]
            threshold, clear = rule.condition.threshold, rule.clear
            text = f"rule {rule.name} fires {'above' if upward else 'below'} {threshold:g}"
        spans = [
            Span(alert.fired_at, alert.resolved_at or period.end, "alert firing")
            for alert in alerts
            if (alert.attribute, alert.metric, alert.window) == (attribute, metric, series.window)
        ]
        svg = disparity_over_time(
            rows,
            f"{attribute} · {series.window}: {metric}",
            threshold,
            clear,
            None,
            spans[:1] + [Span(s.start, s.end, "") for s in spans[1:]],
            limits=(period.start, period.end),
            upward=upward,
            ylabel=metric.rsplit("_", 1)[-1],
            threshold_text=text,
        )
        figures.append(
            figure(
                svg,
                f"<b>{escape(metric)}</b> for <b>{escape(attribute)}</b> in each "
                f"{escape(series.window)} window (time = window end) with its interval; red "
                "shading: an alert on it was firing. Grey ticks along the bottom: windows "
                "where it was not computable.",
                "wide",
            )
        )
    return figures


def rates_figure(
    series: WindowSeries, attribute: str, period: Period, min_group_size: int
) -> str | None:
    """Each group's selection rate over time, with its interval."""
    sizes: dict[str, int] = {}
    for verdict in series.verdicts:
        for group in verdict.groups:
            sizes[group.group] = sizes.get(group.group, 0) + group.counts.get("n", 0)
    shown = set(sorted(sizes, key=lambda name: (-sizes[name], name))[:MOST_GROUPS])
    rows = [
        {
            "time": verdict.window_end,
            "group": group.group,
            "n": group.counts.get("n", 0),
            "selection_rate": group.rates["selection_rate"],
            "selection_rate_ci_low": group.intervals.get("selection_rate", (None, None))[0],
            "selection_rate_ci_high": group.intervals.get("selection_rate", (None, None))[1],
        }
        for verdict in series.verdicts
        for group in verdict.groups
        if "selection_rate" in group.rates and group.group in shown
    ]
    if not rows:
        return None
    for row in rows:  # a rate without an interval is drawn as a line only
        if row["selection_rate_ci_low"] is None:
            row["selection_rate_ci_low"] = row["selection_rate_ci_high"] = row["selection_rate"]
    svg = group_rates_over_time(
        rows,
        f"{attribute} · {series.window}: selection rate per group",
        None,
        min_group_size=min_group_size,
        limits=(period.start, period.end),
        ylim=None,
    )
    largest = (
        f" The {MOST_GROUPS} largest of {len(sizes)} groups are drawn."
        if len(sizes) > len(shown)
        else ""
    )
    return figure(
        svg,
        f"The share of predictions the model selected, per value of {escape(attribute)}, in "
        f"each window, with its Wilson interval; windows where a group had fewer than "
        f"{min_group_size} predictions are left out of its line.{largest}",
        "wide",
    )


def timeline_figure(
    alerts: Sequence[AlertRecord], silences: Sequence[SilenceRecord], period: Period
) -> str:
    """The model's alerts from firing to resolve over the period, and when silences muted
    them."""
    rows = [
        {
            "name": f"{alert.rule}: {alert.attribute}"
            + (f"={alert.group}" if alert.group else "")
            + f" · {alert.metric} · {alert.window}",
            "fired_at": max(alert.fired_at, period.start),
            "resolved_at": alert.resolved_at,
        }
        for alert in alerts
    ]
    fingerprints = {alert.fingerprint for alert in alerts}
    muted = [
        Span(silence.starts_at, silence.ends_at, "silenced")
        for silence in silences
        if fingerprints.intersection(silence.muted)
    ]
    return figure(
        alert_timeline(
            rows,
            period.start,
            period.end,
            None,
            muted=muted,
            title="Alert timeline (processing time)",
        ),
        "Each bar: an alert from the moment it fired to the moment it resolved (to the end of "
        "the period when it was still firing); hatched: a silence muted its notifications. "
        "Alert times are when the daemon judged the window (processing time).",
        "wide",
    )
