"""The windows of one model over a period, from the sink's rows: every window's verdict, each
metric's summary (windows by status, the worst value, the runs of windows in breach) and each
group's totals (label coverage) over non-overlapping windows.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from fairwatch.compliance.model import (
    AttributeSection,
    BreachRun,
    Coverage,
    CoverageSpan,
    DisparityVerdict,
    GroupVerdict,
    MetricSummary,
    WindowSeries,
    WindowVerdict,
)
from fairwatch.compliance.period import Period
from monitor.config import WindowSpec, parse_window
from monitor.engine.disparities import REFERENCE_SUFFIX
from monitor.engine.results import STATUSES
from monitor.sinks.points import GROUP_COUNT_FIELDS, RATES

Row = Mapping[str, Any]
#: What a disparity row says besides its value, interval, threshold, status and mode. Not
#: ``small_groups``: points written to InfluxDB before rewrites cleared it (``""``, see
#: ``monitor.sinks.points.CLEARABLE_FIELDS``) can still name the groups that were small early
#: in a window's life (the groups' own counts, in the same window, say how large they were).
DETAIL_FIELDS = (
    "rate",
    "highest_group",
    "highest_rate",
    "lowest_group",
    "lowest_rate",
    "reference_group",
    "min_group_n",
)
_WORST_FIRST: dict[str, int] = {status: rank for rank, status in enumerate(STATUSES)}


def attribute_sections(
    groups: Iterable[Row],
    disparities: Iterable[Row],
    period: Period,
    windows: Sequence[WindowSpec],
    watermark: float | None,
) -> tuple[AttributeSection, ...]:
    """One section per attribute, one series per window specification, for the rows of one
    model (rows of windows that did not end in ``period`` are left out)."""
    specs = {spec.name: spec for spec in windows}
    by_series: dict[tuple[str, str], tuple[list[Row], list[Row]]] = {}
    for index, rows in enumerate((groups, disparities)):
        for row in rows:
            if period.holds_window(float(row["time"])):
                key = (str(row["attribute"]), str(row["window"]))
                by_series.setdefault(key, ([], []))[index].append(row)
    sections: dict[str, list[WindowSeries]] = {}
    for (attribute, window), (group_rows, disparity_rows) in sorted(by_series.items()):
        spec = specs.get(window) or parse_window(window)
        sections.setdefault(attribute, []).append(
            window_series(spec, group_rows, disparity_rows, period, watermark)
        )
    return tuple(AttributeSection(name, tuple(series)) for name, series in sections.items())


def window_series(
    spec: WindowSpec,
    group_rows: Sequence[Row],
    disparity_rows: Sequence[Row],
    period: Period,
    watermark: float | None,
) -> WindowSeries:
    """The series of one attribute in one window specification."""
    ends = sorted({float(row["time"]) for row in (*group_rows, *disparity_rows)})
    groups_at: dict[float, list[GroupVerdict]] = {end: [] for end in ends}
    disparities_at: dict[float, list[DisparityVerdict]] = {end: [] for end in ends}
    for row in group_rows:
        groups_at[float(row["time"])].append(group_verdict(row))
    for row in disparity_rows:
        disparities_at[float(row["time"])].append(disparity_verdict(row))
    verdicts = tuple(
        WindowVerdict(
            window_start=end - spec.size,
            window_end=end,
            closed=None if watermark is None else end <= watermark,
            groups=tuple(sorted(groups_at[end], key=lambda item: item.group)),
            disparities=tuple(
                sorted(disparities_at[end], key=lambda item: (item.metric, item.group or ""))
            ),
        )
        for end in ends
    )
    return WindowSeries(
        window=spec.name,
        size=spec.size,
        step=spec.step,
        verdicts=verdicts,
        summaries=summaries(verdicts, spec.step),
        coverage=coverage(verdicts, spec.size, period),
    )


def group_verdict(row: Row) -> GroupVerdict:
    counts = {name: int(row[name]) for name in GROUP_COUNT_FIELDS if row.get(name) is not None}
    rates = {name: float(row[name]) for name in RATES if row.get(name) is not None}
    intervals = {
        name: (float(row[f"{name}_ci_low"]), float(row[f"{name}_ci_high"]))
        for name in rates
        if row.get(f"{name}_ci_low") is not None and row.get(f"{name}_ci_high") is not None
    }
    coverage_value = row.get("label_coverage")
    return GroupVerdict(
        group=str(row["group"]),
        counts=counts,
        rates=rates,
        intervals=intervals,
        label_coverage=None if coverage_value is None else float(coverage_value),
    )


def disparity_verdict(row: Row) -> DisparityVerdict:
    low, high = row.get("ci_low"), row.get("ci_high")
    details = {name: row[name] for name in DETAIL_FIELDS if row.get(name) not in (None, "")}
    return DisparityVerdict(
        metric=str(row["metric"]),
        group=None if row.get("group") in (None, "") else str(row["group"]),
        value=None if row.get("value") is None else float(row["value"]),
        ci=None if low is None or high is None else (float(low), float(high)),
        threshold=None if row.get("threshold") is None else float(row["threshold"]),
        status=str(row.get("status", "not_computable")),
        mode=str(row.get("mode", "")),
        details=details,
    )


def severity(metric: str, value: float) -> float:
    """How far from fair ``value`` is, larger is worse: a difference itself, a ratio's
    shortfall from 1, a ratio to the reference group's distance from 1 either way (log)."""
    if metric.endswith(REFERENCE_SUFFIX):
        return math.inf if value <= 0 else abs(math.log(value))
    if metric.endswith("_ratio"):
        return -value
    return value


def summaries(verdicts: Sequence[WindowVerdict], step: float) -> tuple[MetricSummary, ...]:
    """One summary per metric, sorted by name."""
    by_metric: dict[str, list[tuple[float, DisparityVerdict]]] = {}
    for verdict in verdicts:
        for disparity in verdict.disparities:
            by_metric.setdefault(disparity.metric, []).append((verdict.window_end, disparity))
    return tuple(_summary(metric, items, step) for metric, items in sorted(by_metric.items()))


def _summary(
    metric: str, items: Sequence[tuple[float, DisparityVerdict]], step: float
) -> MetricSummary:
    worst_per_window: dict[float, str] = {}
    for end, disparity in items:
        current = worst_per_window.get(end)
        if current is None or _WORST_FIRST[disparity.status] < _WORST_FIRST[current]:
            worst_per_window[end] = disparity.status
    statuses: dict[str, int] = dict.fromkeys(STATUSES, 0)
    for status in worst_per_window.values():
        statuses[status] += 1
    valued = [(end, d) for end, d in items if d.value is not None]
    worst = (
        min(valued, key=lambda item: (-severity(metric, item[1].value or 0.0), item[0]))
        if valued
        else None
    )
    thresholds = sorted({d.threshold for _end, d in items if d.threshold is not None})
    return MetricSummary(
        metric=metric,
        threshold=thresholds[-1] if thresholds else None,
        windows=len(worst_per_window),
        statuses=statuses,
        worst_value=None if worst is None else worst[1].value,
        worst_ci=None if worst is None else worst[1].ci,
        worst_window_end=None if worst is None else worst[0],
        worst_group=None if worst is None else worst[1].group,
        breach_runs=breach_runs(metric, items, step),
    )


def breach_runs(
    metric: str, items: Sequence[tuple[float, DisparityVerdict]], step: float
) -> tuple[BreachRun, ...]:
    """Runs of windows in breach, per group: a window missing (no data) or not in breach ends
    a run. Sorted by first window, then group."""
    by_group: dict[str, list[tuple[float, DisparityVerdict]]] = {}
    for end, disparity in items:
        by_group.setdefault(disparity.group or "", []).append((end, disparity))
    runs: list[BreachRun] = []
    for group, entries in by_group.items():
        current: list[tuple[float, DisparityVerdict]] = []
        for end, disparity in sorted(entries, key=lambda item: item[0]):
            adjacent = current and end - current[-1][0] <= step + 1e-6
            if disparity.status == "breach" and (adjacent or not current):
                current.append((end, disparity))
                continue
            if current:
                runs.append(_run(metric, group, current))
            current = [(end, disparity)] if disparity.status == "breach" else []
        if current:
            runs.append(_run(metric, group, current))
    return tuple(sorted(runs, key=lambda run: (run.first_window_end, run.group or "")))


def _run(metric: str, group: str, entries: Sequence[tuple[float, DisparityVerdict]]) -> BreachRun:
    valued = [(end, d) for end, d in entries if d.value is not None]
    worst = (
        min(valued, key=lambda item: (-severity(metric, item[1].value or 0.0), item[0]))
        if valued
        else entries[0]
    )
    return BreachRun(
        group=group or None,
        first_window_end=entries[0][0],
        last_window_end=entries[-1][0],
        windows=len(entries),
        worst_value=worst[1].value,
        worst_window_end=worst[0],
    )


def coverage(verdicts: Sequence[WindowVerdict], size: float, period: Period) -> CoverageSpan:
    """Each group's counts summed over windows that do not overlap: from the last window of the
    period backwards, one every ``size`` seconds, as long as it starts within the period (for a
    tumbling window: every window of the period; each prediction is counted once)."""
    by_end = {verdict.window_end: verdict for verdict in verdicts}
    if not by_end:
        return CoverageSpan(None, None, 0, ())
    chosen: list[WindowVerdict] = []
    end = max(by_end)
    while end - size >= period.start - 1e-6:
        if end in by_end:
            chosen.append(by_end[end])
        end -= size
    totals: dict[str, list[int]] = {}
    for verdict in chosen:
        for group in verdict.groups:
            sums = totals.setdefault(group.group, [0, 0, 0])
            sums[0] += group.counts.get("n", 0)
            sums[1] += group.counts.get("n_labeled", 0)
            sums[2] += group.counts.get("predicted_positive", 0)
    return CoverageSpan(
        start=min((v.window_start for v in chosen), default=None),
        end=max((v.window_end for v in chosen), default=None),
        windows=len(chosen),
        groups=tuple(Coverage(name, *sums) for name, sums in sorted(totals.items())),
    )
