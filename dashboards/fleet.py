"""Dashboard 1, *Fleet overview*: every model's worst disparity per attribute, alerts, label
coverage.
"""

from __future__ import annotations

from typing import Any

from alerting.metrics import INSTANCES
from dashboards.blocks import (
    BLUE,
    GREEN,
    MODEL_VARIABLE_MULTI,
    MODELS,
    ORANGE,
    RED,
    STATUS_MAPPINGS,
    WINDOW,
    WINDOW_VARIABLE,
    dashboard,
    flux,
    panel,
    thresholds,
)
from dashboards.names import DISPARITY, GROUP, PIPELINE


def fleet_overview() -> dict[str, Any]:
    latest_status = [
        f'filter(fn: (r) => r._measurement == "{DISPARITY}" and {MODELS} and {WINDOW})',
        'filter(fn: (r) => r._field == "status")',
        "last()",
    ]
    # Worst disparity per model and attribute: breaches first, then undecided, then ok, then by
    # how far the value is from its threshold (value / threshold for differences; for ratios the
    # larger of threshold / value and value × threshold, so 0.7 and 1.3 both count against 0.8).
    worst = flux(
        f'filter(fn: (r) => r._measurement == "{DISPARITY}" and {MODELS} and {WINDOW})',
        'filter(fn: (r) => r._field == "value" or r._field == "threshold" or r._field == "status"'
        ' or r._field == "min_group_n" or r._field == "highest_group"'
        ' or r._field == "lowest_group")',
        "last()",
        'pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")',
        # one table: a not computable disparity has no value column, which map() cannot type
        "group()",
        "map(fn: (r) => ({r with severity:\n"
        '    (if r.status == "breach" then 3000.0\n'
        '     else if r.status == "undecided" then 2000.0\n'
        '     else if r.status == "ok" then 1000.0 else 0.0)\n'
        "    + (if not exists r.value or not exists r.threshold or r.threshold == 0.0 then 0.0\n"
        "       else if r.metric =~ /ratio/ then\n"
        "         (if r.value <= 0.0 then 100.0\n"
        "          else if r.threshold / r.value > r.value * r.threshold\n"
        "          then r.threshold / r.value\n"
        "          else r.value * r.threshold)\n"
        "       else r.value / r.threshold)}))",
        'group(columns: ["model_id", "attribute"])',
        'max(column: "severity")',
        "group()",
        'keep(columns: ["_time", "model_id", "attribute", "metric", "group", "value", '
        '"threshold", "min_group_n", "status", "highest_group", "lowest_group"])',
        'sort(columns: ["status", "model_id", "attribute"])',
    )
    breach_count = flux(
        *latest_status,
        'filter(fn: (r) => r._value == "breach")',
        "group()",
        "count()",
    )
    models = flux(
        f'filter(fn: (r) => r._measurement == "{GROUP}" and r._field == "n" and {MODELS}'
        f" and {WINDOW})",
        'keep(columns: ["model_id", "_value"])',
        "group()",
        'distinct(column: "model_id")',
        "count()",
    )
    firing = flux(
        f'filter(fn: (r) => r._measurement == "{PIPELINE}"'
        f' and r._field == "{INSTANCES.name}" and r.state == "firing")',
        "last()",
        "group()",
        "sum()",
    )
    coverage_latest = [
        f'filter(fn: (r) => r._measurement == "{GROUP}" and {MODELS} and {WINDOW})',
        'filter(fn: (r) => r._field == "n" or r._field == "n_labeled")',
        # one attribute is enough: every attribute partitions the same predictions
        "last()",
    ]
    fleet_coverage = flux(
        *coverage_latest,
        'group(columns: ["model_id", "attribute", "_field"])',
        "sum()",
        'pivot(rowKey: ["model_id", "attribute"], columnKey: ["_field"], valueColumn: "_value")',
        'group(columns: ["model_id"])',
        'max(column: "n")',
        "group()",
        "reduce(fn: (r, accumulator) => ({n: accumulator.n + float(v: r.n),"
        " n_labeled: accumulator.n_labeled + float(v: r.n_labeled)}),"
        " identity: {n: 0.0, n_labeled: 0.0})",
        "map(fn: (r) => ({_value: if r.n > 0.0 then r.n_labeled / r.n else 0.0}))",
    )
    coverage_by_model = flux(
        *coverage_latest,
        'group(columns: ["model_id", "attribute", "_field"])',
        "sum()",
        'pivot(rowKey: ["model_id", "attribute"], columnKey: ["_field"], valueColumn: "_value")',
        'group(columns: ["model_id"])',
        'max(column: "n")',
        "group()",
        "map(fn: (r) => ({model_id: r.model_id,"
        " _value: if r.n > 0 then float(v: r.n_labeled) / float(v: r.n) else 0.0}))",
    )
    breaches_over_time = flux(
        f'filter(fn: (r) => r._measurement == "{DISPARITY}" and {MODELS} and {WINDOW})',
        'filter(fn: (r) => r._field == "status" and r._value == "breach")',
        "map(fn: (r) => ({r with _value: 1.0}))",
        'group(columns: ["model_id"])',
        "aggregateWindow(every: v.windowPeriod, fn: sum, createEmpty: false)",
    )
    status_cell = {
        "custom": {"cellOptions": {"type": "color-background"}},
        "mappings": STATUS_MAPPINGS,
    }
    panels = [
        panel(
            "stat",
            "Models reporting",
            models,
            (0, 0, 6, 4),
            unit="short",
            description="Models with at least one evaluated window in the time range.",
            defaults={"color": {"mode": "fixed", "fixedColor": BLUE}, "noValue": "0"},
        ),
        panel(
            "stat",
            "Disparities in breach (latest window)",
            breach_count,
            (6, 0, 6, 4),
            unit="short",
            description="Disparities whose latest window breaches its threshold.",
            defaults={
                "thresholds": thresholds((None, GREEN), (1, RED)),
                "noValue": "0",
                "color": {"mode": "thresholds"},
            },
            options={"colorMode": "background", "graphMode": "none"},
        ),
        panel(
            "stat",
            "Firing alerts",
            firing,
            (12, 0, 6, 4),
            unit="short",
            description="Alert instances firing now (alert manager).",
            defaults={
                "thresholds": thresholds((None, GREEN), (1, RED)),
                "noValue": "0",
                "color": {"mode": "thresholds"},
            },
            options={"colorMode": "background", "graphMode": "none"},
        ),
        panel(
            "stat",
            "Label coverage (fleet)",
            fleet_coverage,
            (18, 0, 6, 4),
            unit="percentunit",
            description="Share of the latest windows' predictions that already have a label.",
            defaults={
                "thresholds": thresholds((None, RED), (0.5, ORANGE), (0.8, GREEN)),
                "min": 0,
                "max": 1,
                "decimals": 1,
                "color": {"mode": "thresholds"},
            },
            options={"colorMode": "value", "graphMode": "none"},
        ),
        panel(
            "table",
            "Worst disparity per model and attribute",
            worst,
            (0, 4, 16, 10),
            description="Latest window. Breaches first; then the disparity farthest from its "
            "threshold. Highest and lowest name the groups at the extremes; not "
            "computable means fewer than two groups have enough data.",
            overrides=[
                {
                    "matcher": {"id": "byName", "options": "status"},
                    "properties": [{"id": k, "value": v} for k, v in status_cell.items()],
                },
                {
                    "matcher": {"id": "byName", "options": "model_id"},
                    "properties": [
                        {
                            "id": "links",
                            "value": [
                                {
                                    "title": "Model detail",
                                    "url": "/d/fairwatch-model?var-model=${__value.raw}"
                                    "&var-window=${window}"
                                    "&var-attribute=${__data.fields.attribute}&${__url_time_range}",
                                }
                            ],
                        }
                    ],
                },
                {
                    "matcher": {"id": "byName", "options": "value"},
                    "properties": [{"id": "decimals", "value": 3}],
                },
                {
                    "matcher": {"id": "byName", "options": "_time"},
                    "properties": [{"id": "displayName", "value": "window end"}],
                },
            ],
            options={"showHeader": True, "sortBy": [{"displayName": "status", "desc": False}]},
        ),
        panel(
            "bargauge",
            "Label coverage by model (latest window)",
            coverage_by_model,
            (16, 4, 8, 10),
            unit="percentunit",
            description="Labels arrive late: low coverage makes TPR/FPR-based metrics provisional.",
            defaults={
                "thresholds": thresholds((None, RED), (0.5, ORANGE), (0.8, GREEN)),
                "min": 0,
                "max": 1,
                "displayName": "${__field.labels.model_id}",
                "color": {"mode": "thresholds"},
            },
            options={"orientation": "horizontal", "displayMode": "gradient"},
        ),
        panel(
            "timeseries",
            "Breaching disparities over time",
            breaches_over_time,
            (0, 14, 24, 8),
            unit="short",
            description="Number of disparities in breach per model and time bucket.",
            defaults={
                "displayName": "${__field.labels.model_id}",
                "color": {"mode": "palette-classic"},
            },
            custom={"drawStyle": "bars", "fillOpacity": 60, "stacking": {"mode": "normal"}},
        ),
    ]
    return dashboard(
        "fairwatch-fleet",
        "fairwatch / Fleet overview",
        "Every model's worst disparity per attribute, alerts and label coverage.",
        panels,
        [MODEL_VARIABLE_MULTI, WINDOW_VARIABLE],
    )
