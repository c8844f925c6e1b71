"""Dashboard 3, *Disparity heatmap*: group × time for a chosen rate, the ratio to the reference
group, every disparity's status over time.
"""

from __future__ import annotations

from typing import Any

from dashboards.blocks import (
    ATTRIBUTE,
    ATTRIBUTE_VARIABLE,
    GREEN,
    MODEL,
    MODEL_VARIABLE,
    RED,
    STATUS_MAPPINGS,
    WINDOW,
    WINDOW_VARIABLE_ONE_MODEL,
    custom_variable,
    dashboard,
    flux,
    panel,
    thresholds,
)
from dashboards.names import DISPARITY, GROUP
from monitor.engine.disparities import REFERENCE_SUFFIX
from monitor.engine.rates import RATE_NAMES


def disparity_heatmap() -> dict[str, Any]:
    scope = f"{MODEL} and {WINDOW} and {ATTRIBUTE}"
    rate = flux(
        f'filter(fn: (r) => r._measurement == "{GROUP}" and {scope} and r._field == "${{rate}}")',
        'keep(columns: ["_time", "_value", "group"])',
    )
    ratio = flux(
        f'filter(fn: (r) => r._measurement == "{DISPARITY}" and {scope}'
        f' and r.metric =~ /{REFERENCE_SUFFIX}$/ and r._field == "value")',
        'keep(columns: ["_time", "_value", "group"])',
    )
    status = flux(
        f'filter(fn: (r) => r._measurement == "{DISPARITY}" and {scope}'
        ' and r._field == "status" and not exists r.group)',
        'keep(columns: ["_time", "_value", "metric"])',
    )
    heat = {"showValue": "auto", "rowHeight": 0.9, "colWidth": 0.9, "legend": {"showLegend": True}}
    panels = [
        panel(
            "status-history",
            "${rate} by group",
            rate,
            (0, 0, 24, 9),
            unit="percentunit",
            description="Group × window; colour from low (red) to high (green).",
            defaults={
                "displayName": "${__field.labels.group}",
                "min": 0,
                "max": 1,
                "decimals": 2,
                "color": {"mode": "continuous-RdYlGr"},
            },
            custom={"fillOpacity": 80},
            options=heat,
        ),
        panel(
            "status-history",
            "Ratio to the reference group",
            ratio,
            (0, 9, 24, 9),
            description="Group × window; red outside the four-fifths range 0.8–1.25.",
            defaults={
                "displayName": "${__field.labels.group}",
                "decimals": 2,
                "thresholds": thresholds((None, RED), (0.8, GREEN), (1.25, RED)),
                "color": {"mode": "thresholds"},
            },
            custom={"fillOpacity": 80},
            options=heat,
        ),
        panel(
            "status-history",
            "Disparity status by metric",
            status,
            (0, 18, 24, 9),
            description="Metric × window: breach in red, undecided in orange, not computable "
            "in grey.",
            defaults={
                "displayName": "${__field.labels.metric}",
                "mappings": STATUS_MAPPINGS,
                "color": {"mode": "thresholds"},
            },
            custom={"fillOpacity": 80},
            options=heat,
        ),
    ]
    return dashboard(
        "fairwatch-heatmap",
        "fairwatch / Disparity heatmap",
        "Group × time for a chosen rate, the ratio to the reference group, and every "
        "disparity's status over time.",
        panels,
        [
            MODEL_VARIABLE,
            WINDOW_VARIABLE_ONE_MODEL,
            ATTRIBUTE_VARIABLE,
            custom_variable("rate", "Rate", list(RATE_NAMES)),
        ],
        time_from="now-7d",
    )
