"""Dashboard 2, *Model detail*: one model's disparities with interval bands and thresholds, its
groups' rates, sizes and label coverage, breaches as annotations.
"""

from __future__ import annotations

from typing import Any

from dashboards.blocks import (
    ATTRIBUTE,
    ATTRIBUTE_VARIABLE,
    BLUE,
    DATASOURCE,
    GREEN,
    MODEL,
    MODEL_VARIABLE,
    ORANGE,
    RED,
    STATUS_MAPPINGS,
    WINDOW,
    WINDOW_VARIABLE_ONE_MODEL,
    dashboard,
    distinct_tag,
    flux,
    panel,
    query_variable,
    row,
    thresholds,
)
from dashboards.names import DISPARITY, GROUP
from monitor.engine.disparities import REFERENCE_SUFFIX


def model_detail() -> dict[str, Any]:
    metric_variable = query_variable(
        "metric",
        "Disparity metric",
        distinct_tag(
            DISPARITY,
            "metric",
            'r._field == "status"',
            MODEL,
            WINDOW,
            ATTRIBUTE,
            "not exists r.group",
        ),
        multi=True,
        include_all=True,
    )
    scope = f"{MODEL} and {WINDOW} and {ATTRIBUTE}"
    band = flux(
        f'filter(fn: (r) => r._measurement == "{DISPARITY}" and {scope}'
        ' and r.metric == "${metric}" and not exists r.group)',
        'filter(fn: (r) => r._field == "value" or r._field == "ci_low" or r._field == "ci_high"'
        ' or r._field == "threshold")',
        'pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")',
        "group()",
        'keep(columns: ["_time", "value", "ci_low", "ci_high", "threshold"])',
        'sort(columns: ["_time"])',
    )
    ratio_to_reference = flux(
        f'filter(fn: (r) => r._measurement == "{DISPARITY}" and {scope}'
        f' and r.metric =~ /{REFERENCE_SUFFIX}$/ and r._field == "value")',
        'keep(columns: ["_time", "_value", "group", "metric"])',
    )
    latest = flux(
        f'filter(fn: (r) => r._measurement == "{DISPARITY}" and {scope})',
        "last()",
        'pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")',
        "group()",
        'keep(columns: ["_time", "metric", "group", "reference_group", "value", "ci_low", '
        '"ci_high", "threshold", "min_group_n", "status", "mode", "rate", "highest_group", '
        '"highest_rate", "lowest_group", "lowest_rate", "small_groups"])',
        'sort(columns: ["metric", "group"])',
    )

    def by_group(field: str) -> str:
        return flux(
            f'filter(fn: (r) => r._measurement == "{GROUP}" and {scope} and r._field == "{field}")',
            'keep(columns: ["_time", "_value", "group"])',
        )

    band_overrides = [
        {
            "matcher": {"id": "byName", "options": "ci_high"},
            "properties": [
                {"id": "custom.fillBelowTo", "value": "ci_low"},
                {"id": "custom.lineWidth", "value": 0},
                {"id": "custom.fillOpacity", "value": 25},
                {"id": "displayName", "value": "95% interval (high)"},
                {"id": "color", "value": {"mode": "fixed", "fixedColor": BLUE}},
            ],
        },
        {
            "matcher": {"id": "byName", "options": "ci_low"},
            "properties": [
                {"id": "custom.lineWidth", "value": 0},
                {"id": "displayName", "value": "95% interval (low)"},
                {
                    "id": "custom.hideFrom",
                    "value": {"legend": True, "tooltip": False, "viz": False},
                },
                {"id": "color", "value": {"mode": "fixed", "fixedColor": BLUE}},
            ],
        },
        {
            "matcher": {"id": "byName", "options": "threshold"},
            "properties": [
                {"id": "custom.lineStyle", "value": {"fill": "dash", "dash": [10, 10]}},
                {"id": "custom.lineWidth", "value": 2},
                {"id": "color", "value": {"mode": "fixed", "fixedColor": RED}},
            ],
        },
        {
            "matcher": {"id": "byName", "options": "value"},
            "properties": [
                {"id": "custom.lineWidth", "value": 2},
                {"id": "custom.pointSize", "value": 6},
                {"id": "color", "value": {"mode": "fixed", "fixedColor": "dark-blue"}},
            ],
        },
    ]
    rate_panel: dict[str, Any] = {
        "unit": "percentunit",
        "min": 0,
        "max": 1,
        "displayName": "${__field.labels.group}",
        "color": {"mode": "palette-classic"},
    }
    status_cell = [
        {"id": "custom.cellOptions", "value": {"type": "color-background"}},
        {"id": "mappings", "value": STATUS_MAPPINGS},
    ]
    panels = [
        row("Disparities of $attribute", 0),
        panel(
            "timeseries",
            "$metric",
            band,
            (0, 1, 12, 8),
            repeat="metric",
            description="Disparity per window with its 95% interval band; the dashed line is "
            "the threshold.",
            defaults={"decimals": 3},
            custom={"spanNulls": False, "showPoints": "always"},
            overrides=band_overrides,
        ),
        panel(
            "timeseries",
            "Ratio to the reference group (four-fifths rule)",
            ratio_to_reference,
            (0, 9, 12, 8),
            description="Each group's rate divided by the reference group's; outside "
            "0.8–1.25 breaches the four-fifths rule.",
            defaults={
                "displayName": "${__field.labels.group} (${__field.labels.metric})",
                "thresholds": thresholds((None, RED), (0.8, GREEN), (1.25, RED)),
                "color": {"mode": "palette-classic"},
                "decimals": 3,
            },
            custom={"thresholdsStyle": {"mode": "line+area"}, "showPoints": "always"},
        ),
        panel(
            "table",
            "Latest disparities",
            latest,
            (12, 9, 12, 8),
            description="The latest window of every disparity of this attribute.",
            overrides=[
                {"matcher": {"id": "byName", "options": "status"}, "properties": status_cell},
                {
                    "matcher": {"id": "byType", "options": "number"},
                    "properties": [{"id": "decimals", "value": 3}],
                },
            ],
        ),
        row("Groups of $attribute", 17),
        panel(
            "timeseries",
            "Selection rate by group",
            by_group("selection_rate"),
            (0, 18, 8, 8),
            defaults=rate_panel,
            custom={"showPoints": "always"},
            description="Share of predictions that are positive.",
        ),
        panel(
            "timeseries",
            "True positive rate (TPR) by group",
            by_group("tpr"),
            (8, 18, 8, 8),
            defaults=rate_panel,
            custom={"showPoints": "always"},
            description="Among rows labeled 1, the share predicted 1.",
        ),
        panel(
            "timeseries",
            "False positive rate (FPR) by group",
            by_group("fpr"),
            (16, 18, 8, 8),
            defaults=rate_panel,
            custom={"showPoints": "always"},
            description="Among rows labeled 0, the share predicted 1.",
        ),
        panel(
            "timeseries",
            "Group size (predictions per window)",
            by_group("n"),
            (0, 26, 12, 8),
            unit="short",
            description="A group below the minimum size for a rate is left out of that "
            "rate's disparities (listed as small).",
            defaults={
                "displayName": "${__field.labels.group}",
                "color": {"mode": "palette-classic"},
            },
            custom={"drawStyle": "bars", "fillOpacity": 50},
        ),
        panel(
            "timeseries",
            "Calibration error (ECE) by group",
            by_group("ece"),
            (0, 34, 12, 8),
            description="Expected calibration error of the scores per group (when scores are "
            "sent); a gap between groups often explains a predictive parity gap.",
            defaults={
                "displayName": "${__field.labels.group}",
                "decimals": 3,
                "min": 0,
                "color": {"mode": "palette-classic"},
            },
            custom={"showPoints": "always"},
        ),
        panel(
            "timeseries",
            "Label coverage by group",
            by_group("label_coverage"),
            (12, 26, 12, 8),
            description="Share of predictions with a label; revised as labels arrive.",
            defaults={
                **rate_panel,
                "thresholds": thresholds((None, RED), (0.5, ORANGE), (0.8, GREEN)),
            },
            custom={"thresholdsStyle": {"mode": "dashed"}, "showPoints": "always"},
        ),
    ]
    # one annotation per window in breach, listing what breaches
    breaches = flux(
        f'filter(fn: (r) => r._measurement == "{DISPARITY}" and {MODEL} and {WINDOW})',
        'filter(fn: (r) => r._field == "status" and r._value == "breach")',
        'group(columns: ["_time"])',
        'sort(columns: ["attribute", "metric"])',
        "reduce(fn: (r, accumulator) => ({breaches: accumulator.breaches + 1,\n"
        '      text: accumulator.text + "; " + r.attribute + " " + r.metric\n'
        '        + (if exists r.group then " (" + r.group + ")" else "")}),\n'
        '    identity: {breaches: 0, text: ""})',
        "map(fn: (r) => ({_time: r._time,\n"
        '      text: string(v: r.breaches) + " disparities in breach" + r.text}))',
        "group()",
    )
    annotation = {
        "name": "Breaches",
        "enable": True,
        "iconColor": "red",
        "datasource": DATASOURCE,
        "target": {"refId": "Anno", "query": breaches},
        "query": breaches,
        "textColumn": "text",
    }
    return dashboard(
        "fairwatch-model",
        "fairwatch / Model detail",
        "Disparity trends with interval bands and thresholds, per-group rates, sizes and label "
        "coverage of one model.",
        panels,
        [MODEL_VARIABLE, WINDOW_VARIABLE_ONE_MODEL, ATTRIBUTE_VARIABLE, metric_variable],
        annotations=[annotation],
        time_from="now-7d",
    )
