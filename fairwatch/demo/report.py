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

from fairwatch.demo.plots import Span, disparity_figure, rates_figure, timeline_figure
from fairwatch.episodes import Episode
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


_CSS = """
body{font-family:-apple-system,Segoe UI,Roboto,Helvetica,Arial,sans-serif;margin:0;
background:#f6f7f9;color:#1d2430}
main{max-width:1180px;margin:0 auto;padding:28px 32px 60px}
h1{font-size:26px;margin:0 0 4px}h2{font-size:18px;margin:34px 0 10px}
.lede{color:#4a5565;margin:0 0 18px;max-width:900px;line-height:1.45}
.cards{display:flex;gap:14px;flex-wrap:wrap;margin:18px 0}
.card{background:#fff;border:1px solid #e3e6eb;border-radius:8px;padding:12px 16px;min-width:150px}
.card b{display:block;font-size:22px;margin-top:2px}.card span{color:#5b6472;font-size:12px}
.card.bad b{color:#c0392b}.card.good b{color:#2b7a2b}
figure{background:#fff;border:1px solid #e3e6eb;border-radius:8px;margin:12px 0;padding:10px}
figure svg{width:100%;height:auto}
figcaption{color:#5b6472;font-size:13px;margin:4px 6px}
table{border-collapse:collapse;background:#fff;font-size:13px;width:100%}
th,td{border-bottom:1px solid #e3e6eb;padding:6px 10px;text-align:left;vertical-align:top}
th{background:#eef1f5;font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.firing{color:#c0392b;font-weight:600}.resolved{color:#2b7a2b;font-weight:600}
pre{background:#fff;border:1px solid #e3e6eb;border-radius:8px;padding:12px;overflow:auto;
font-size:12px;max-height:420px}
details{margin:8px 0}summary{cursor:pointer;color:#33507a}
footer{color:#6b7480;font-size:12px;margin-top:40px;line-height:1.5}
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
            _figure(
                disparity_figure(
                    rows,
                    f"{attribute}: {data.metric}",
                    data.threshold,
                    data.clear_threshold,
                    data.drift,
                    spans,
                    limits=(data.start, data.end),
                ),
                caption,
            )
        )
        group_rows = sink.groups(model_id=data.model_id, attribute=attribute, window=data.window)
        sections.append(
            _figure(
                rates_figure(
                    group_rows,
                    f"{attribute}: selection rate per group",
                    data.drift,
                    min_group_size=data.min_group_size,
                    limits=(data.start, data.end),
                ),
                f"Share of each {html.escape(attribute)} group the model selects, with its Wilson "
                f"interval; groups below {data.min_group_size} predictions in a window are "
                "left out of that window.",
            )
        )
    alert_rows = [asdict(alert) | {"name": alert.name} for alert in data.alerts]
    timeline = _figure(
        timeline_figure(alert_rows, data.start, data.end, data.drift),
        "Shaded: the injected drift. Bars: alerts from firing to resolved.",
    )
    return _page(data, sections, timeline)


def _figure(svg: str, caption: str) -> str:
    return f"<figure>{svg}<figcaption>{caption}</figcaption></figure>"


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
    cards = [
        ("Alerts before the drift", str(len(before)), "good" if not before else "bad"),
        ("Drift detected after", detected, "bad" if first is None else ""),
        ("Resolved after drift end", resolved, "bad" if first is None else ""),
        ("Alerts fired", str(len(data.alerts)), ""),
        ("Notifications sent", str(len(data.notifications)), ""),
    ]
    return (
        '<div class="cards">'
        + "".join(
            f'<div class="card {kind}"><span>{html.escape(label)}</span><b>{html.escape(value)}</b>'
            "</div>"
            for label, value, kind in cards
        )
        + "</div>"
    )


def _alert_table(alerts: Sequence[Episode]) -> str:
    if not alerts:
        return "<p>No alert fired.</p>"
    body = "".join(
        "<tr>"
        f"<td>{html.escape(alert.rule)}</td><td>{html.escape(alert.name)}</td>"
        f'<td class="firing">{when(alert.fired_at)}</td>'
        f'<td class="num">{_number(alert.value_at_firing)}</td>'
        f'<td class="num">{_number(alert.peak_value)}</td>'
        f'<td class="resolved">{when(alert.resolved_at)}</td>'
        f"<td><code>{html.escape(alert.fingerprint)}</code></td>"
        "</tr>"
        for alert in alerts
    )
    return (
        "<table><tr><th>Rule</th><th>Alert</th><th>Fired</th><th>Value at firing</th>"
        "<th>Peak</th><th>Resolved</th><th>Fingerprint</th></tr>" + body + "</table>"
    )


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


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
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(data.title)}</title><style>{_CSS}</style></head>
<body><main>
<h1>{html.escape(data.title)}</h1>
<p class="lede">{data.drift_description}</p>
{_cards(data)}
<h2>Alert timeline</h2>
{timeline}
{_alert_table(data.alerts)}
<h2>Disparities and group rates</h2>
{"".join(sections)}
<h2>Notifications</h2>
{_notifications(data.notifications, data.webhook)}
<h2>Run</h2>
{_facts(data.facts)}
{config}
<footer>Data: UCI Machine Learning Repository, Becker, B. &amp; Kohavi, R. (1996), Adult
(Census Income), <a href="https://doi.org/10.24432/C5XW20">doi:10.24432/C5XW20</a>,
licensed CC BY 4.0. Generated by fairwatch demo.</footer>
</main></body></html>
"""


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
