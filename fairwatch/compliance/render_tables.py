"""The tables of the HTML report that need no figure: label coverage, silences, data quality and
the alert rules."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape

from fairwatch.compliance.model import (
    CountBy,
    CoverageSpan,
    DataQuality,
    RuleSummary,
    SilenceRecord,
)
from fairwatch.report.page import number

When = Callable[[float | None], str]


def meter(share: float | None) -> str:
    """A share (0–1) as a small bar and its percentage; a missing share is a dash."""
    if share is None:
        return number(None)
    width = max(0.0, min(1.0, share)) * 100
    return f'<span class="meter"><span style="width:{width:.1f}%"></span></span>{width:.1f}%'


def coverage_table(span: CoverageSpan, attribute: str, when: When) -> str:
    """Each group's predictions, labels and selections over the period."""
    if not span.groups:
        return ""
    rows = "".join(
        f'<tr><td class="text">{escape(group.group)}</td><td>{group.n:,}</td>'
        f"<td>{group.n_labeled:,}</td><td>{meter(group.label_coverage)}</td>"
        f"<td>{group.predicted_positive:,}</td><td>{number(group.selection_rate)}</td></tr>"
        for group in span.groups
    )
    return (
        f"<h3>Label coverage by {escape(attribute)}</h3>"
        f'<p class="note">Counted over {span.windows:,} windows that do not overlap, from '
        f"{when(span.start)} to {when(span.end)} (each prediction once). A low coverage "
        "means the label-based metrics (TPR, FPR, PPV, calibration) rest on few outcomes.</p>"
        '<table class="numbers"><tr><th>Group</th><th>Predictions</th><th>Labeled</th>'
        "<th>Label coverage</th><th>Selected</th><th>Selection rate</th></tr>"
        f"{rows}</table>"
    )


def silences_table(silences: Sequence[SilenceRecord], when: When) -> str:
    if not silences:
        return "<p>No silence was in force during the period.</p>"
    rows = "".join(
        f"<tr><td><code>{escape(s.id)}</code></td><td>{escape(s.created_by) or '—'}</td>"
        f"<td>{escape(s.comment) or '—'}</td>"
        f"<td>{'<br>'.join(f'<code>{escape(m)}</code>' for m in s.matchers)}</td>"
        f"<td>{when(s.starts_at)}</td><td>{when(s.ends_at)}</td>"
        f'<td class="num">{len(s.muted)}</td></tr>'
        for s in silences
    )
    return (
        "<table><tr><th>Silence</th><th>Created by</th><th>Why</th><th>Matchers</th>"
        '<th>From</th><th>Until</th><th class="num">Alerts muted</th></tr>'
        f"{rows}</table>"
    )


def _counts(items: Sequence[CountBy], empty: str) -> str:
    if not items or not any(item.count for item in items):
        return empty
    return ", ".join(f"{escape(item.key) or '—'}: {item.count:,}" for item in items)


def quality_tables(quality: DataQuality) -> list[str]:
    """What the pipeline read, rejected, found late or duplicated over the period."""
    rows = [
        ("Records read, by topic", _counts(quality.consumed, "none")),
        ("Records rejected", f"{sum(count for _t, _r, count in quality.rejected):,}"),
        ("Rejected records sent to the dead-letter topic", f"{quality.dead_lettered:,}"),
        ("Predictions counted after their window closed, by window", _counts(quality.late, "0")),
        ("Duplicates ignored, by kind", _counts(quality.duplicates, "0")),
        ("Labels whose prediction never came", f"{quality.labels_orphaned:,}"),
        ("Predictions whose label never came", f"{quality.predictions_expired_unlabeled:,}"),
        ("Process runs reporting in the period", f"{quality.incarnations:,}"),
    ]
    summary = "".join(
        f'<tr><th>{name}</th><td class="num">{value}</td></tr>' for name, value in rows
    )
    parts = [
        '<p class="note">From the pipeline\'s counters, summed over every run of the process '
        "(counters restart at 0 with each), by the time fairwatch handled the records.</p>",
        f"<table>{summary}</table>",
    ]
    if quality.rejected:
        reasons = "".join(
            f"<tr><td>{escape(topic)}</td><td><code>{escape(reason)}</code></td>"
            f'<td class="num">{count:,}</td></tr>'
            for topic, reason, count in quality.rejected
        )
        parts.append(
            "<h3>Rejected records by reason</h3>"
            '<table><tr><th>Topic</th><th>Reason (docs/events.md)</th><th class="num">Records'
            f"</th></tr>{reasons}</table>"
        )
    return parts


def rules_table(rules: Sequence[RuleSummary]) -> str:
    if not rules:
        return "<p>No alert rule was configured.</p>"
    rows = "".join(
        f"<tr><td>{escape(rule.name)}</td><td><code>{escape(rule.condition)}</code></td>"
        f"<td>held for {escape(rule.for_)}</td><td><code>{escape(rule.clear)}</code></td>"
        f"<td>{escape(rule.severity)}</td></tr>"
        for rule in rules
    )
    return (
        "<table><tr><th>Rule</th><th>Fires when</th><th>Before firing</th><th>Resolves when"
        f"</th><th>Severity</th></tr>{rows}</table>"
    )
