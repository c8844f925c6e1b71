"""The report as JSON (schema ``fairwatch.report/1``, documented in docs/reports.md).

Canonical, so that the same report is the same bytes and a diff of two reports shows what
changed: keys in a fixed order, floats rounded to :data:`DIGITS` decimals, times as RFC 3339 UTC
text, two-space indentation with one line per window (and per alert, run, group), ``\\n`` line
ends and a final newline.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from fairwatch.compliance.model import (
    AlertRecord,
    AttributeSection,
    BreachRun,
    ConfigInForce,
    CoverageSpan,
    DataQuality,
    DisparityVerdict,
    GroupVerdict,
    MetricSummary,
    ModelSection,
    Report,
    SilenceRecord,
    WindowSeries,
    WindowVerdict,
)
from fairwatch.compliance.period import format_time

SCHEMA = "fairwatch.report/1"
DIGITS = 6


class Line(dict[str, Any]):
    """A mapping written on one line."""


def fixed(value: float | None, digits: int = DIGITS) -> float | None:
    """``value`` rounded to ``digits`` decimals (``None`` for undefined or infinite; no -0.0)."""
    if value is None or not math.isfinite(value):
        return None
    rounded = round(float(value), digits)
    return rounded if rounded else 0.0


def _interval(interval: Sequence[float] | None) -> list[float | None] | None:
    return None if interval is None else [fixed(interval[0]), fixed(interval[1])]


def _clean(value: Any) -> Any:
    """Floats fixed, tuples as lists, everything else as it is (JSON data)."""
    if isinstance(value, bool) or value is None or isinstance(value, int | str):
        return value
    if isinstance(value, float):
        return fixed(value)
    if isinstance(value, Line):
        return Line({key: _clean(item) for key, item in value.items()})
    if isinstance(value, Mapping):
        return {str(key): _clean(item) for key, item in value.items()}
    if isinstance(value, Sequence):
        return [_clean(item) for item in value]
    raise TypeError(f"not JSON data: {value!r}")


def document(report: Report) -> dict[str, Any]:
    """The report as JSON data (what :func:`render_json` writes)."""
    period = report.period
    data = {
        "schema": SCHEMA,
        "version": report.version,
        "period": {"from": format_time(period.start), "to": format_time(period.end)},
        "model": report.model_filter,
        "source": report.source,
        "watermark": format_time(report.watermark),
        "configuration": _config(report.config),
        "models": [_model(section) for section in report.models],
        "silences": [_silence(silence) for silence in report.silences],
        "data_quality": _quality(report.data_quality),
    }
    cleaned: dict[str, Any] = _clean(data)
    return cleaned


def render_json(report: Report) -> str:
    """The canonical JSON text of ``report``."""
    return _write(document(report), 0) + "\n"


def _write(value: Any, depth: int) -> str:
    if isinstance(value, Line):
        return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    pad, inner = "  " * depth, "  " * (depth + 1)
    if isinstance(value, dict) and value:
        items = [
            f"{inner}{json.dumps(key, ensure_ascii=False)}: {_write(item, depth + 1)}"
            for key, item in value.items()
        ]
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    if isinstance(value, list) and value:
        items = [f"{inner}{_write(item, depth + 1)}" for item in value]
        return "[\n" + ",\n".join(items) + f"\n{pad}]"
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _config(config: ConfigInForce) -> dict[str, Any]:
    return {
        "sha256": config.sha256,
        "windows": list(config.windows),
        "allowed_lateness_seconds": config.allowed_lateness,
        "engine": {key: config.engine[key] for key in sorted(config.engine)},
        "rules": [
            Line(
                name=rule.name,
                condition=rule.condition,
                resolves_when=rule.clear,
                held_for=rule.for_,
                severity=rule.severity,
            )
            for rule in config.rules
        ],
        "normalised": _sorted(config.normalised),
    }


def _sorted(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _sorted(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_sorted(item) for item in value]
    return value


def _model(section: ModelSection) -> dict[str, Any]:
    return {
        "model_id": section.model_id,
        "attributes": [_attribute(attribute) for attribute in section.attributes],
        "alerts": [_alert(alert) for alert in section.alerts],
    }


def _attribute(section: AttributeSection) -> dict[str, Any]:
    return {
        "attribute": section.attribute,
        "windows": [_series(series) for series in section.series],
    }


def _series(series: WindowSeries) -> dict[str, Any]:
    return {
        "window": series.window,
        "size_seconds": series.size,
        "step_seconds": series.step,
        "windows_in_period": len(series.verdicts),
        "summary": [_summary(summary) for summary in series.summaries],
        "label_coverage": _coverage(series.coverage),
        "verdicts": [_verdict(verdict) for verdict in series.verdicts],
    }


def _summary(summary: MetricSummary) -> dict[str, Any]:
    return {
        "metric": summary.metric,
        "threshold": summary.threshold,
        "windows": summary.windows,
        "statuses": Line(summary.statuses),
        "worst": Line(
            value=summary.worst_value,
            ci=_interval(summary.worst_ci),
            window_end=format_time(summary.worst_window_end),
            group=summary.worst_group,
        ),
        "breach_runs": [_run(run) for run in summary.breach_runs],
    }


def _run(run: BreachRun) -> Line:
    return Line(
        group=run.group,
        first_window_end=format_time(run.first_window_end),
        last_window_end=format_time(run.last_window_end),
        windows=run.windows,
        worst_value=run.worst_value,
        worst_window_end=format_time(run.worst_window_end),
    )


def _coverage(span: CoverageSpan) -> dict[str, Any]:
    return {
        "from": format_time(span.start),
        "to": format_time(span.end),
        "windows": span.windows,
        "groups": [
            Line(
                group=group.group,
                n=group.n,
                n_labeled=group.n_labeled,
                label_coverage=group.label_coverage,
                predicted_positive=group.predicted_positive,
                selection_rate=group.selection_rate,
            )
            for group in span.groups
        ],
    }


def _verdict(verdict: WindowVerdict) -> Line:
    return Line(
        window_start=format_time(verdict.window_start),
        window_end=format_time(verdict.window_end),
        closed=verdict.closed,
        groups=[_group(group) for group in verdict.groups],
        disparities=[_disparity(disparity) for disparity in verdict.disparities],
    )


def _group(group: GroupVerdict) -> dict[str, Any]:
    return {
        "group": group.group,
        **group.counts,
        "label_coverage": group.label_coverage,
        "rates": dict(group.rates),  # their intervals follow from the counts (Wilson)
    }


def _disparity(disparity: DisparityVerdict) -> dict[str, Any]:
    return {
        "metric": disparity.metric,
        "group": disparity.group,
        "value": disparity.value,
        "ci": _interval(disparity.ci),
        "threshold": disparity.threshold,
        "status": disparity.status,
        "mode": disparity.mode,
        **{key: disparity.details[key] for key in sorted(disparity.details)},
    }


def _alert(alert: AlertRecord) -> Line:
    return Line(
        rule=alert.rule,
        severity=alert.severity,
        fingerprint=alert.fingerprint,
        kind=alert.kind,
        attribute=alert.attribute,
        metric=alert.metric,
        window=alert.window,
        group=alert.group,
        fired_at=format_time(alert.fired_at),
        resolved_at=format_time(alert.resolved_at),
        value_at_firing=alert.value_at_firing,
        ci_at_firing=_interval(alert.ci_at_firing),
        window_end_at_firing=format_time(alert.window_end_at_firing),
        silenced_by=list(alert.silenced_by),
    )


def _silence(silence: SilenceRecord) -> Line:
    return Line(
        id=silence.id,
        created_by=silence.created_by,
        comment=silence.comment,
        matchers=list(silence.matchers),
        starts_at=format_time(silence.starts_at),
        ends_at=format_time(silence.ends_at),
        muted=list(silence.muted),
    )


def _quality(quality: DataQuality) -> dict[str, Any]:
    return {
        "consumed": Line({item.key: item.count for item in quality.consumed}),
        "rejected": [
            Line(topic=topic, reason=reason, count=count)
            for topic, reason, count in quality.rejected
        ],
        "rejected_total": sum(count for _topic, _reason, count in quality.rejected),
        "dead_lettered": quality.dead_lettered,
        "late": Line({item.key: item.count for item in quality.late}),
        "duplicates": Line({item.key: item.count for item in quality.duplicates}),
        "labels_orphaned": quality.labels_orphaned,
        "predictions_expired_unlabeled": quality.predictions_expired_unlabeled,
        "incarnations": quality.incarnations,
    }
