"""The demo's self-contained HTML report (inline SVG figures, inline CSS) and its JSON twin.

The figures are drawn from what the pipeline wrote to the embedded sink (read back through its
read API), so the report shows exactly what a dashboard on the same data would show.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fairwatch.episodes import Episode
from fairwatch.report.page import Card, cards, figure, number, page
from fairwatch.report.timeseries import (
    Span,
    alert_timeline,
    disparity_over_time,
    group_rates_over_time,
)
from monitor.sinks.embedded import EmbeddedSink


@dataclass
class ReportData:
    """Everything the report shows besides what it reads from the sink."""

    title: str
    model_id: str
    window: str
    metric: str
    attributes: tuple[str, ...]
    threshold: float
    clear_threshold: float
    min_group_size: int
    start: float
    end: float
    drift: Span
    drift_description: str
    alerts: list[Episode]
    facts: list[tuple[str, str]]
    notifications: list[dict[str, Any]] = field(default_factory=list)
    config_text: str = ""
    summary: dict[str, Any] = field(default_factory=dict)
    webhook: str | None = None


def when(epoch_seconds: float | None) -> str:
    if epoch_seconds is None:
        return "—"
    return datetime.fromtimestamp(epoch_seconds, tz=UTC).strftime("%a %d %b %H:%M UTC")


def hours(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds / 3600:.1f} h"


# What only this report has: the alert table's firing and resolved times.
_CSS = """
.firing { color:var(--breach); font-weight:600; } .resolved { color:var(--ok); font-weight:600; }
"""


def render_html(data: ReportData, sink: EmbeddedSink) -> str:
    """The report as one HTML document."""
    firing_spans = [
        Span(alert.fired_at, alert.resolved_at, "alert firing")
        for alert in data.alerts
        if alert.metric == data.metric
    ]
    sections: list[str] = []
    for attribute in data.attributes:
        rows = sink.disparities(
            model_id=data.model_id, attribute=attribute, metric=data.metric, window=data.window
        )
        spans = [
            span
            for span, alert in zip(firing_spans, data.alerts, strict=False)
            if alert.attribute == attribute
        ]
        caption = (
            f"{data.metric.replace('_', ' ')} for <b>{html.escape(attribute)}</b> in each "
            f"{html.escape(data.window)} window (time = window end), with its 95% interval. "
            f"Groups with fewer than {data.min_group_size} predictions are left out of the "
            "comparison; grey ticks along the bottom mark windows with fewer than two groups "
            "left to compare (not computable)."
        )
        sections.append(
            figure(
                disparity_over_time(
                    rows,
                    f"{attribute}: {data.metric}",
                    data.threshold,
                    data.clear_threshold,
                    data.drift,
                    spans,
                    limits=(data.start, data.end),
                ),
                caption,
                "wide",
            )
        )
        group_rows = sink.groups(model_id=data.model_id, attribute=attribute, window=data.window)
        sections.append(
            figure(
                group_rates_over_time(
                    group_rows,
                    f"{attribute}: selection rate per group",
                    data.drift,
                    min_group_size=data.min_group_size,
                    limits=(data.start, data.end),
                ),
                f"Share of each {html.escape(attribute)} group the model selects, with its Wilson "
                f"interval; groups below {data.min_group_size} predictions in a window are "
                "left out of that window.",
                "wide",
            )
        )
    alert_rows = [asdict(alert) | {"name": alert.name} for alert in data.alerts]
    timeline = figure(
        alert_timeline(alert_rows, data.start, data.end, data.drift),
        "Shaded: the injected drift. Bars: alerts from firing to resolved.",
        "wide",
    )
    return _page(data, sections, timeline)


def _cards(data: ReportData) -> str:
    during = [
        alert
        for alert in data.alerts
        if data.drift.start <= alert.fired_at and alert.metric == data.metric
    ]
    before = [alert for alert in data.alerts if alert.fired_at < data.drift.start]
    first = min(during, key=lambda alert: alert.fired_at) if during else None
    detected = hours(first.fired_at - data.drift.start) if first else "not detected"
    resolved = (
        hours(first.resolved_at - (data.drift.end or data.end))
        if first is not None and first.resolved_at is not None
        else "not resolved"
    )
    return cards(
        [
            Card("Alerts before the drift", str(len(before)), "ok" if not before else "breach"),
            Card("Drift detected after", detected, "breach" if first is None else ""),
            Card("Resolved after drift end", resolved, "breach" if first is None else ""),
            Card("Alerts fired", str(len(data.alerts))),
            Card("Notifications sent", str(len(data.notifications))),
        ]
    )


def _alert_table(alerts: Sequence[Episode]) -> str:
    if not alerts:
        return "<p>No alert fired.</p>"
    body = "".join(
        "<tr>"
        f"<td>{html.escape(alert.rule)}</td><td>{html.escape(alert.name)}</td>"
        f'<td class="firing">{when(alert.fired_at)}</td>'
        f'<td class="num">{number(alert.value_at_firing)}</td>'
        f'<td class="num">{number(alert.peak_value)}</td>'
        f'<td class="resolved">{when(alert.resolved_at)}</td>'
        f"<td><code>{html.escape(alert.fingerprint)}</code></td>"
        "</tr>"
        for alert in alerts
    )
    return (
        '<table><tr><th>Rule</th><th>Alert</th><th>Fired</th><th class="num">Value at firing'
        '</th><th class="num">Peak</th><th>Resolved</th><th>Fingerprint</th></tr>'
        + body
        + "</table>"
    )


def _facts(facts: Sequence[tuple[str, str]]) -> str:
    rows = "".join(
        f"<tr><th>{html.escape(name)}</th><td>{html.escape(value)}</td></tr>"
        for name, value in facts
    )
    return f"<table>{rows}</table>"


def _notifications(notifications: Sequence[Mapping[str, Any]], webhook: str | None) -> str:
    if webhook is None:
        return (
            "<p>No webhook was given (<code>--webhook URL</code> sends the alert's notifications "
            "to it, and they are listed here).</p>"
        )
    if not notifications:
        return (
            f"<p>No notification was delivered to <code>{html.escape(webhook)}</code> "
            "(see the warnings printed during the run).</p>"
        )
    items = "".join(
        f"<details{' open' if index == 0 else ''}><summary>"
        f"{html.escape(str(item.get('status', '')))} · "
        f"{html.escape(str(item.get('receiver', '')))} · "
        f"{html.escape(str(item.get('sent_at', '')))}</summary>"
        f"<pre>{html.escape(json.dumps(item, indent=2))}</pre></details>"
        for index, item in enumerate(notifications)
    )
    items = f"<p>The payloads POSTed to <code>{html.escape(webhook)}</code>:</p>" + items
    return items


def _page(data: ReportData, sections: Sequence[str], timeline: str) -> str:
    config = (
        f"<details><summary>The demo's configuration (the schema of <code>fairwatch run</code>'s"
        f" config file)</summary><pre>{html.escape(data.config_text)}</pre></details>"
        if data.config_text
        else ""
    )
    return page(
        data.title,
        [
            f"<h1>{html.escape(data.title)}</h1>",
            f'<p class="lede">{data.drift_description}</p>',
            _cards(data),
            "<h2>Alert timeline</h2>",
            timeline,
            _alert_table(data.alerts),
            "<h2>Disparities and group rates</h2>",
            *sections,
            "<h2>Notifications</h2>",
            _notifications(data.notifications, data.webhook),
            "<h2>Run</h2>",
            _facts(data.facts),
            config,
            "<footer>Data: UCI Machine Learning Repository, Becker, B. &amp; Kohavi, R. (1996), "
            'Adult (Census Income), <a href="https://doi.org/10.24432/C5XW20">'
            "doi:10.24432/C5XW20</a>, licensed CC BY 4.0. Generated by fairwatch demo.</footer>",
        ],
        _CSS,
    )


def write_report(directory: Path, data: ReportData, sink: EmbeddedSink) -> tuple[Path, Path]:
    """Write ``report.html`` and ``report.json`` into ``directory``; return both paths."""
    directory.mkdir(parents=True, exist_ok=True)
    html_path = directory / "report.html"
    json_path = directory / "report.json"
    html_path.write_text(render_html(data, sink), encoding="utf-8")
    machine = {
        **data.summary,
        "alerts": [asdict(alert) for alert in data.alerts],
        "notifications": data.notifications,
    }
    json_path.write_text(json.dumps(machine, indent=2, default=str), encoding="utf-8")
    return html_path, json_path
