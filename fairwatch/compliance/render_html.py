"""The report as one self-contained HTML page (the shared page scaffold of
:mod:`fairwatch.report.page`, figures from :mod:`fairwatch.compliance.figures`).

Deterministic: no clock, no random ids (the SVG ids come from matplotlib's fixed hash salt),
every list in the report's fixed order, numbers with fixed decimals.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from html import escape

from alerting.config import RuleConfig
from fairwatch.compliance import figures
from fairwatch.compliance.model import (
    AlertRecord,
    MetricSummary,
    ModelSection,
    Report,
    WindowSeries,
)
from fairwatch.compliance.period import Period
from fairwatch.compliance.render_tables import (
    coverage_table,
    quality_tables,
    rules_table,
    silences_table,
)
from fairwatch.report.page import Card, badge, cards, number, page

CSS = """
.firing { color:var(--breach); font-weight:600; } .resolved { color:var(--ok); font-weight:600; }
.meter { display:inline-block; width:120px; height:9px; background:#eceff1; border-radius:5px;
         vertical-align:middle; margin-right:8px; overflow:hidden; }
.meter span { display:block; height:100%; background:var(--link); }
td.status span.badge { margin-right:4px; }
code.hash { font-size:12px; }
.source { word-break:normal; } .source code { word-break:break-all; }
"""
MOST_RUNS_SHOWN = 12


def when(epoch: float | None, empty: str = "—") -> str:
    """``2026-01-05 10:26 UTC`` (seconds when not whole minutes)."""
    if epoch is None:
        return empty
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC" if moment.second else "%Y-%m-%d %H:%M UTC")


def interval(ci: Sequence[float] | None) -> str:
    return "" if ci is None else f'<span class="ci">[{ci[0]:.3f}, {ci[1]:.3f}]</span>'


def render_html(report: Report) -> str:
    """The report as an HTML document."""
    rules = report.config.rule_configs
    period = report.period
    subject = report.model_filter or "all models"
    title = f"Fairness compliance report · {subject} · {when(period.start)} → {when(period.end)}"
    body = [
        f"<h1>Fairness compliance report: {escape(subject)}</h1>",
        f'<p class="source">{when(period.start)} → {when(period.end)} · fairwatch '
        f"{escape(report.version)} · configuration sha256 "
        f'<code class="hash">{report.config.sha256}</code> · data: {_source(report)}</p>',
        '<p class="lede">What fairwatch saw and did over the period: the verdict of every '
        "window that ended in it, the alerts that fired and resolved, the silences that muted "
        "them, the quality of the data, and the configuration in force. Windows are placed by "
        "event time (when the predictions were made); alerts, silences and data-quality counts "
        "by processing time (when fairwatch handled them). See docs/reports.md for how to read "
        "it.</p>",
        _cards(report),
    ]
    if not report.models:
        body.append("<p>No window ended in this period and no alert fired.</p>")
    for section in report.models:
        body.extend(_model(section, rules, report))
    body += [
        "<h2>Silences</h2>",
        silences_table(report.silences, when),
        "<h2>Data quality</h2>",
        *quality_tables(report.data_quality),
        "<h2>Configuration in force</h2>",
        *_configuration(report),
        "<footer>Made by <code>fairwatch report</code> from the stored data alone: the same "
        "data and configuration give the same bytes; the file is named by its sha256.</footer>",
    ]
    return page(title, body, CSS)


def _source(report: Report) -> str:
    where = {"embedded": "the embedded sink", "influxdb": "InfluxDB"}.get(report.source)
    text = escape(where or report.source)
    if report.watermark is not None and report.watermark < report.period.end:
        text += f" (event time had reached only {when(report.watermark)})"
    return text


def _cards(report: Report) -> str:
    series = [s for m in report.models for a in m.attributes for s in a.series]
    windows = sum(len(s.verdicts) for s in series)
    breached = sum(
        1
        for s in series
        for verdict in s.verdicts
        if any(d.status == "breach" for d in verdict.disparities)
    )
    alerts = [alert for section in report.models for alert in section.alerts]
    open_at_end = sum(1 for alert in alerts if alert.resolved_at is None)
    rejected = sum(count for _topic, _reason, count in report.data_quality.rejected)
    return cards(
        [
            Card("Models", str(len(report.models))),
            Card("Windows judged", f"{windows:,}"),
            Card("Windows with a breach", f"{breached:,}", "breach" if breached else "ok"),
            Card("Alerts fired", str(len(alerts)), "breach" if alerts else "ok"),
            Card("Firing at the end", str(open_at_end), "breach" if open_at_end else "ok"),
            Card("Silences", str(len(report.silences))),
            Card("Events rejected", f"{rejected:,}", "breach" if rejected else "ok"),
        ]
    )


def _model(section: ModelSection, rules: Sequence[RuleConfig], report: Report) -> list[str]:
    period = report.period
    parts = [
        f"<h2>Model {escape(section.model_id)}</h2>",
        "<h3>Alerts</h3>",
        figures.timeline_figure(section.alerts, report.silences, period),
        _alerts_table(section.alerts),
    ]
    min_group_size = int(report.config.engine.get("min_group_size", 0))
    for attribute in section.attributes:
        for series in attribute.series:
            parts += _series(section, attribute.attribute, series, rules, period, min_group_size)
    return parts


def _series(
    section: ModelSection,
    attribute: str,
    series: WindowSeries,
    rules: Sequence[RuleConfig],
    period: Period,
    min_group_size: int,
) -> list[str]:
    closed = sum(1 for verdict in series.verdicts if verdict.closed is not False)
    still_open = len(series.verdicts) - closed
    note = (
        f" {still_open} of them had not closed when the report was made (their results may "
        "still change)."
        if still_open
        else ""
    )
    parts = [
        f"<h3>{escape(attribute)} · {escape(series.window)} windows</h3>",
        f'<p class="note">{len(series.verdicts):,} windows ended in the period.{note}</p>',
        figures.strip_figure(series, attribute, period),
        _summary_table(series.summaries),
        _runs(series.summaries),
        *figures.disparity_figures(
            series, rules, section.alerts, section.model_id, attribute, period
        ),
    ]
    rates = figures.rates_figure(series, attribute, period, min_group_size)
    if rates is not None:
        parts.append(rates)
    parts.append(coverage_table(series.coverage, attribute, when))
    return parts


def _summary_table(summaries: Sequence[MetricSummary]) -> str:
    if not summaries:
        return "<p>No disparity was computed.</p>"
    rows = []
    for summary in summaries:
        counts = " ".join(
            badge(status, f"{summary.statuses[status]} {status.replace('_', ' ')}")
            for status in ("breach", "undecided", "ok", "not_computable")
            if summary.statuses.get(status)
        )
        group = f" ({escape(summary.worst_group)})" if summary.worst_group else ""
        worst = (
            f"{number(summary.worst_value)}{group}{interval(summary.worst_ci)}"
            f'<span class="ci">{when(summary.worst_window_end)}</span>'
        )
        rows.append(
            f'<tr><td class="text">{escape(summary.metric)}</td>'
            f"<td>{number(summary.threshold, 2)}</td><td>{summary.windows:,}</td>"
            f'<td class="text status">{counts}</td><td>{worst}</td></tr>'
        )
    return (
        '<table class="numbers"><tr><th>Metric</th><th>Threshold</th><th>Windows</th>'
        '<th class="text">Verdicts</th><th>Worst value (window end)</th></tr>'
        + "".join(rows)
        + "</table>"
    )


def _runs(summaries: Sequence[MetricSummary]) -> str:
    runs = [(s.metric, run) for s in summaries for run in s.breach_runs]
    if not runs:
        return '<p class="note">No window was in breach.</p>'
    runs.sort(key=lambda item: (item[1].first_window_end, item[0], item[1].group or ""))
    rows = [
        f'<tr><td class="text">{escape(metric)}{f" ({escape(run.group)})" if run.group else ""}'
        f'</td><td class="text">{when(run.first_window_end)}</td>'
        f'<td class="text">{when(run.last_window_end)}</td><td>{run.windows:,}</td>'
        f"<td>{number(run.worst_value)}</td></tr>"
        for metric, run in runs
    ]
    table = (
        '<table class="numbers"><tr><th>In breach</th><th class="text">From the window ending'
        '</th><th class="text">To the window ending</th><th>Windows</th><th>Worst</th></tr>'
    )
    if len(rows) <= MOST_RUNS_SHOWN:
        return table + "".join(rows) + "</table>"
    return (
        table
        + "".join(rows[:MOST_RUNS_SHOWN])
        + "</table><details><summary>"
        + f"{len(rows) - MOST_RUNS_SHOWN} more runs of windows in breach</summary>"
        + table
        + "".join(rows[MOST_RUNS_SHOWN:])
        + "</table></details>"
    )


def _alerts_table(alerts: Sequence[AlertRecord]) -> str:
    if not alerts:
        return "<p>No alert fired in the period.</p>"
    rows = []
    for alert in alerts:
        target = escape(alert.attribute) + (f"={escape(alert.group)}" if alert.group else "")
        value = number(alert.value_at_firing) + interval(alert.ci_at_firing)
        silenced = ", ".join(f"<code>{escape(s)}</code>" for s in alert.silenced_by) or "—"
        resolved = (
            f'<td class="text resolved">{when(alert.resolved_at)}</td>'
            if alert.resolved_at is not None
            else '<td class="text firing">still firing at the end</td>'
        )
        rows.append(
            f'<tr><td class="text">{escape(alert.rule)}<span class="ci">'
            f"{escape(alert.severity)}</span></td>"
            f'<td class="text">{target} · {escape(alert.metric)} · {escape(alert.window)}</td>'
            f'<td class="text firing">{when(alert.fired_at)}</td>{resolved}'
            f"<td>{value}</td>"
            f'<td class="text">{silenced}</td>'
            f'<td class="text"><code>{escape(alert.fingerprint)}</code></td></tr>'
        )
    return (
        '<table class="numbers"><tr><th>Rule</th><th class="text">Alert</th>'
        '<th class="text">Fired</th><th class="text">Resolved</th><th>Value at firing</th>'
        '<th class="text">Silenced by</th><th class="text">Fingerprint</th></tr>'
        + "".join(rows)
        + "</table>"
    )


def _configuration(report: Report) -> list[str]:
    config = report.config
    engine = config.engine
    facts = [
        ("sha256 of the normalised configuration", f'<code class="hash">{config.sha256}</code>'),
        ("fairwatch version", escape(report.version)),
        ("windows", escape(", ".join(config.windows))),
        ("allowed lateness", f"{config.allowed_lateness:g} s"),
        ("verdict mode", escape(str(engine.get("mode", "")))),
        ("interval level", escape(str(engine.get("ci_level", "")))),
        ("minimum group size", escape(str(engine.get("min_group_size", "")))),
    ]
    table = "".join(
        f'<tr><th>{name}</th><td class="text">{value}</td></tr>' for name, value in facts
    )
    text = json.dumps(config.normalised, indent=2, sort_keys=True, ensure_ascii=False)
    return [
        f"<table>{table}</table>",
        "<h3>Alert rules</h3>",
        rules_table(config.rules),
        "<details><summary>The normalised configuration (secrets left out), as hashed"
        f"</summary><pre>{escape(text)}</pre></details>",
    ]
