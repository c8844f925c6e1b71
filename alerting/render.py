"""Human and machine renderings of alerts shared by the receivers."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from alerting.model import AlertSnapshot, Notification
from monitor.engine.results import extremes_text

# The base rate(s) a disparity metric is built from: shown per group next to the disparity.
_RATES_BY_PREFIX = (
    ("demographic_parity", ("selection_rate",)),
    ("four_fifths", ("selection_rate",)),
    ("equalized_odds", ("tpr", "fpr")),
    ("equal_opportunity", ("tpr",)),
    ("predictive_parity", ("ppv",)),
    ("predictive_equality", ("fpr",)),
    ("accuracy", ("accuracy",)),
)
_RATE_NAMES = ("selection_rate", "tpr", "fpr", "fnr", "tnr", "ppv", "npv", "accuracy", "base_rate")


def rates_for_metric(metric: str) -> tuple[str, ...]:
    """Which per-group rates explain ``metric``, e.g. ``tpr_ratio_to_reference -> ('tpr',)``."""
    for rate in _RATE_NAMES:
        if metric.startswith(f"{rate}_"):
            return (rate,)
    for prefix, rates in _RATES_BY_PREFIX:
        if metric.startswith(prefix):
            return rates
    return ("selection_rate",)


def format_value(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def format_interval(ci: tuple[float, float] | None) -> str:
    return "" if ci is None else f"[{ci[0]:.3f}, {ci[1]:.3f}]"


def format_time(epoch: float | None) -> str:
    if epoch is None:
        return "-"
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_time(epoch: float | None) -> str | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC).isoformat()


def group_rows(alert: AlertSnapshot) -> list[list[str]]:
    """Rows ``[group, n, rate (ci), ...]`` for the alert's per-group table (header first)."""
    rates = rates_for_metric(alert.metric)
    rows = [["group", "n", *rates]]
    for group in alert.groups:
        cells = [str(group.get("group")), str(group.get("n"))]
        for rate in rates:
            value = (group.get("rates") or {}).get(rate)
            interval = (group.get("intervals") or {}).get(rate)
            ci = tuple(interval) if interval else None
            cells.append(f"{format_value(value)} {format_interval(ci)}".strip())
        rows.append(cells)
    return rows


def alert_title(alert: AlertSnapshot) -> str:
    subject = alert.metric if alert.group is None else f"{alert.metric} ({alert.group})"
    if alert.kind == "low_volume":
        return f"{alert.model_id}: too few samples per {alert.attribute} group ({alert.window})"
    return f"{alert.model_id}: {subject} of {alert.attribute} {alert.op} {alert.threshold:g}"


def extremes_line(alert: AlertSnapshot) -> str | None:
    """Who the alert is about: ``race: FPR African-American 0.448 vs Caucasian 0.235`` (None
    when unknown)."""
    extremes = alert.extremes or {}
    text = extremes_text(
        extremes.get("rate"),
        extremes.get("highest_group"),
        extremes.get("highest_rate"),
        extremes.get("lowest_group"),
        extremes.get("lowest_rate"),
    )
    return None if text is None else f"{alert.attribute}: {text}"


def small_groups_line(alert: AlertSnapshot) -> str | None:
    """``left out (too few rows): Asian, Native American`` (None when no group was)."""
    if not alert.small_groups:
        return None
    return "left out (too few rows): " + ", ".join(alert.small_groups)


#: Groups named in the one-line form of an advice; the payloads list them all.
ADVICE_LINE_GROUPS = 6


def advice_line(alert: AlertSnapshot) -> str | None:
    """The threshold advice in one line (None without advice), e.g. ``thresholds (score >=, not
    applied): African-American 0.62, Caucasian 0.5; Other kept → demographic_parity_difference
    0.412 → 0.075 (target <= 0.08), accuracy 0.661 → 0.648``."""
    advice = alert.advice
    if not advice:
        return None
    if advice.get("status") != "advised":
        return f"no threshold advice: {advice.get('reason', 'not available')}"
    thresholds = advice.get("thresholds") or {}
    moved = [(name, value) for name, value in thresholds.items() if value is not None]
    kept = [name for name, value in thresholds.items() if value is None]
    shown = ", ".join(f"{name} {_threshold(value)}" for name, value in moved[:ADVICE_LINE_GROUPS])
    if len(moved) > ADVICE_LINE_GROUPS:
        shown += f", … {len(moved) - ADVICE_LINE_GROUPS} more"
    if kept:
        shown += "; " + ", ".join(kept[:ADVICE_LINE_GROUPS]) + " kept"
    before, after, target = advice["before"], advice["after"], advice["target"]
    reached = "" if advice.get("meets_target") else " (target not reached)"
    return (
        f"thresholds (score >=, not applied): {shown} → {advice['metric']} "
        f"{format_value(before['value'])} → {format_value(after['value'])} "
        f"(target {target['op']} {target['value']:g}){reached}, accuracy "
        f"{format_value(before['accuracy'])} → {format_value(after['accuracy'])}"
    )


def _threshold(value: float) -> str:
    return "nobody" if value > 1.0 else f"{value:g}"


def alert_line(alert: AlertSnapshot) -> str:
    """One line: status, title, value with interval, who it is about, window."""
    value = f"{format_value(alert.value)} {format_interval(alert.ci)}".strip()
    who = extremes_line(alert)
    return (
        f"[{alert.status.upper()}] {alert_title(alert)}: value {value}"
        + (f" ({who})" if who else "")
        + f", threshold {alert.threshold:g}, window {alert.window} "
        f"({format_time(alert.window_start)} – {format_time(alert.window_end)})"
    )


def summary(notification: Notification) -> str:
    """A one-line summary of a notification, e.g. for Slack's fallback text or PagerDuty."""
    prefix = "[TEST] " if notification.test else ""
    firing, resolved = notification.firing, notification.resolved
    if len(notification.alerts) == 1:
        return prefix + alert_line(notification.alerts[0])
    return (
        f"{prefix}[{notification.status.upper()}] {len(firing)} firing, {len(resolved)} resolved: "
        + ", ".join(sorted({alert.rule for alert in notification.alerts}))
    )


def alert_payload(alert: AlertSnapshot) -> dict[str, Any]:
    """The documented JSON object of one alert (webhook payload, see docs/alerting.md)."""
    data = asdict(alert)
    data["ci"] = list(alert.ci) if alert.ci is not None else None
    data["groups"] = list(alert.groups)
    data["small_groups"] = list(alert.small_groups)
    data["starts_at"] = iso_time(alert.starts_at)
    data["ends_at"] = iso_time(alert.ends_at)
    data["window_start"] = iso_time(alert.window_start)
    data["window_end"] = iso_time(alert.window_end)
    return data
