"""Generate fairwatch's Grafana dashboards (``dashboards/json/*.json``) from the panels below.

    python dashboards/generate.py          # rewrite the JSON files
    python dashboards/generate.py --check  # exit 1 when a JSON file differs from what is generated

Every query is Flux for the provisioned InfluxDB datasource (uid ``fairwatch-influxdb``). Queries
use only Flux functions that InfluxDB 1.8 (Flux 0.65) already has and that InfluxDB 2.x keeps, and
Grafana's macros ``v.defaultBucket``, ``v.timeRangeStart``, ``v.timeRangeStop``,
``v.windowPeriod``. Multi-value variables are matched with ``=~ /^${var:regex}$/``, single-value
ones with ``== "${var}"``. The schema they read is in ``docs/influxdb-schema.md``.

Names are imported, not re-typed: the measurements, fields and tags from
``monitor/sinks/points.py``, the rates and disparity names from the engine, the counters from their
declarations (``monitor/stream/counters.py``, ``monitor/sinks/counters.py``,
``alerting/metrics.py``). Every field, tag and column a query names is checked against them when
the dashboards are generated (:func:`check_query`), so a renamed field fails here, not in Grafana.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: import the fairwatch packages of this checkout
    sys.path.insert(0, str(ROOT))

from alerting.metrics import ALERTING_METRICS, INSTANCES, NOTIFICATIONS_FAILED  # noqa: E402
from monitor.counters import Metric  # noqa: E402
from monitor.engine.disparities import REFERENCE_SUFFIX  # noqa: E402
from monitor.engine.rates import RATE_NAMES  # noqa: E402
from monitor.engine.results import STATUSES  # noqa: E402
from monitor.sinks import points  # noqa: E402
from monitor.sinks.counters import BACKLOG_ROWS, SINK_METRICS, WRITE_FAILURES  # noqa: E402
from monitor.stream.counters import (  # noqa: E402
    CONSUMER_LAG,
    CONSUMPTION_PAUSED,
    EVENTS_CONSUMED,
    EVENTS_DEAD_LETTERED,
    EVENTS_INVALID,
    EVENTS_LATE,
    GATE_METRICS,
    LABELS_AWAITING_PREDICTION,
    LABELS_JOINED,
    LABELS_ORPHANED,
    PIPELINE_METRICS,
    PREDICTIONS_AWAITING_LABEL,
    WATERMARK,
)

GROUP, DISPARITY, PIPELINE = (
    points.GROUP_MEASUREMENT,
    points.DISPARITY_MEASUREMENT,
    points.PIPELINE_MEASUREMENT,
)
OUT = ROOT / "dashboards" / "json"
DATASOURCE = {"type": "influxdb", "uid": "fairwatch-influxdb"}
SCHEMA_VERSION = 39

SOURCE = "from(bucket: v.defaultBucket)\n  |> range(start: v.timeRangeStart, stop: v.timeRangeStop)"

# Colours that make a breach visible at a glance.
GREEN, RED, ORANGE, GREY, BLUE = "green", "red", "orange", "text", "blue"
STATUS_TEXT = {
    "ok": ("ok", GREEN),
    "breach": ("BREACH", RED),
    "undecided": ("undecided", ORANGE),
    "not_computable": ("not computable", GREY),
}
if set(STATUS_TEXT) != set(STATUSES):
    raise ValueError(f"status colours {sorted(STATUS_TEXT)} do not match {STATUSES}")
STATUS_MAPPINGS = [
    {
        "type": "value",
        "options": {
            status: {"text": text, "color": color, "index": index}
            for index, (status, (text, color)) in enumerate(STATUS_TEXT.items())
        },
    }
]

# -- the schema the queries may name ------------------------------------------------------------

COUNTERS: tuple[Metric, ...] = (*PIPELINE_METRICS, *GATE_METRICS, *SINK_METRICS, *ALERTING_METRICS)
#: Measurement -> the tags and fields a query may name (for fairwatch_pipeline: every declared
#: counter name is a field, every label a tag; instance and incarnation are added by the daemon).
SCHEMA: dict[str, frozenset[str]] = {
    GROUP: frozenset({*points.GROUP_TAGS, *points.FIELD_TYPES[GROUP]}),
    DISPARITY: frozenset({*points.DISPARITY_TAGS, *points.FIELD_TYPES[DISPARITY]}),
    PIPELINE: frozenset(
        {"instance", "incarnation"}
        | {metric.name for metric in COUNTERS}
        | {label for metric in COUNTERS for label in metric.labels}
    ),
}
#: Columns the queries compute themselves (map and reduce), and Flux's own columns.
COMPUTED = frozenset({"severity", "breaches", "text", "_time", "_value", "_field"})
_MEASUREMENT = re.compile(r'r\._measurement == "(\w+)"')
_NAMED = re.compile(
    r'r\._field == "(\w+)"'  # a field filter
    r"|(?<![\w.])r\.(\w+)"  # a column of a record
    r"|(?:keep|group|sort)\(columns: \[([^\]]*)\]"  # columns kept, grouped or sorted by
    r'|(?:rowKey|columnKey): \[([^\]]*)\]|column: "(\w+)"'
)


def check_query(query: str) -> None:
    """Raise ``ValueError`` when the query names a measurement, field, tag or column that the
    measurements it reads do not have (``${variable}`` values are left to Grafana)."""
    measurements = _MEASUREMENT.findall(query)
    unknown = [name for name in measurements if name not in SCHEMA]
    if unknown or not measurements:
        raise ValueError(f"query reads no known measurement ({unknown}):\n{query}")
    known = COMPUTED.union(*(SCHEMA[name] for name in measurements))
    for match in _NAMED.finditer(query):
        for group in match.groups():
            for name in re.findall(r"\w+", group or ""):
                if name not in known and name != "_measurement":
                    raise ValueError(f"{name!r} is not a column of {measurements}:\n{query}")


# -- building blocks ---------------------------------------------------------------------------


def flux(*lines: str) -> str:
    return "\n".join([SOURCE, *(f"  |> {line}" for line in lines)])


def target(query: str, ref: str = "A") -> dict[str, Any]:
    return {"refId": ref, "datasource": DATASOURCE, "query": query}


def thresholds(*steps: tuple[float | None, str]) -> dict[str, Any]:
    return {"mode": "absolute", "steps": [{"value": v, "color": c} for v, c in steps]}


def panel(
    kind: str,
    title: str,
    query: str | list[str],
    grid: tuple[int, int, int, int],
    *,
    description: str = "",
    unit: str | None = None,
    defaults: dict[str, Any] | None = None,
    custom: dict[str, Any] | None = None,
    overrides: list[dict[str, Any]] | None = None,
    options: dict[str, Any] | None = None,
    repeat: str | None = None,
    transformations: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    queries = [query] if isinstance(query, str) else query
    field_defaults: dict[str, Any] = {"custom": custom or {}, **(defaults or {})}
    if unit:
        field_defaults["unit"] = unit
    x, y, w, h = grid
    result: dict[str, Any] = {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": DATASOURCE,
        "gridPos": {"x": x, "y": y, "w": w, "h": h},
        "targets": [target(q, chr(ord("A") + i)) for i, q in enumerate(queries)],
        "fieldConfig": {"defaults": field_defaults, "overrides": overrides or []},
        "options": options or {},
    }
    if repeat:
        result["repeat"] = repeat
        result["repeatDirection"] = "h"
        result["maxPerRow"] = 2
    if transformations:
        result["transformations"] = transformations
    return result


def row(title: str, y: int) -> dict[str, Any]:
    return {
        "type": "row",
        "title": title,
        "collapsed": False,
        "panels": [],
        "gridPos": {"x": 0, "y": y, "w": 24, "h": 1},
    }


def query_variable(
    name: str, label: str, query: str, *, multi: bool = False, include_all: bool = False
) -> dict[str, Any]:
    return {
        "type": "query",
        "name": name,
        "label": label,
        "datasource": DATASOURCE,
        "query": query,
        "definition": query,
        "refresh": 2,  # on time range change
        "sort": 1,
        "multi": multi,
        "includeAll": include_all,
        **({"allValue": ".*"} if include_all else {}),
        "current": {},
        "options": [],
        "hide": 0,
    }


def custom_variable(name: str, label: str, values: list[str]) -> dict[str, Any]:
    return {
        "type": "custom",
        "name": name,
        "label": label,
        "query": ",".join(values),
        "multi": False,
        "includeAll": False,
        "current": {"text": values[0], "value": values[0], "selected": True},
        "options": [{"text": v, "value": v, "selected": i == 0} for i, v in enumerate(values)],
        "hide": 0,
    }


def distinct_tag(measurement: str, tag: str, *conditions: str) -> str:
    """A variable query: the distinct values of ``tag`` (portable: no schema package)."""
    where = " and ".join([f'r._measurement == "{measurement}"', *conditions])
    return flux(
        f"filter(fn: (r) => {where})",
        # keep _value too: InfluxDB 1.8 returns nothing for distinct() over a tag kept alone
        f'keep(columns: ["{tag}", "_value"])',
        "group()",
        f'distinct(column: "{tag}")',
    )


def dashboard(
    uid: str,
    title: str,
    description: str,
    panels: list[dict[str, Any]],
    variables: list[dict[str, Any]],
    annotations: list[dict[str, Any]] | None = None,
    time_from: str = "now-24h",
) -> dict[str, Any]:
    for index, item in enumerate(panels, start=1):
        item["id"] = index
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["fairwatch"],
        "timezone": "browser",
        "editable": True,
        "graphTooltip": 1,
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "refresh": "1m",
        "time": {"from": time_from, "to": "now"},
        "templating": {"list": variables},
        "annotations": {
            "list": [
                {
                    "builtIn": 1,
                    "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                    "enable": True,
                    "hide": True,
                    "iconColor": "rgba(0, 211, 255, 1)",
                    "name": "Annotations & Alerts",
                    "type": "dashboard",
                },
                *(annotations or []),
            ]
        },
        "links": [
            {
                "title": "fairwatch",
                "type": "dashboards",
                "tags": ["fairwatch"],
                "asDropdown": True,
                "includeVars": True,
                "keepTime": True,
            }
        ],
        "panels": panels,
    }


# -- shared filters ----------------------------------------------------------------------------

MODELS = "r.model_id =~ /^${model:regex}$/"
MODEL = 'r.model_id == "${model}"'
WINDOW = 'r.window == "${window}"'
ATTRIBUTE = 'r.attribute == "${attribute}"'

MODEL_VARIABLE_MULTI = query_variable(
    "model",
    "Model",
    distinct_tag(DISPARITY, "model_id", 'r._field == "status"'),
    multi=True,
    include_all=True,
)
MODEL_VARIABLE = query_variable(
    "model",
    "Model",
    distinct_tag(DISPARITY, "model_id", 'r._field == "status"'),
)
WINDOW_VARIABLE = query_variable(
    "window",
    "Window",
    distinct_tag(DISPARITY, "window", 'r._field == "status"', MODELS),
)
WINDOW_VARIABLE_ONE_MODEL = query_variable(
    "window",
    "Window",
    distinct_tag(DISPARITY, "window", 'r._field == "status"', MODEL),
)
ATTRIBUTE_VARIABLE = query_variable(
    "attribute",
    "Attribute",
    distinct_tag(GROUP, "attribute", 'r._field == "n"', MODEL, WINDOW),
)


# -- 1. fleet overview -------------------------------------------------------------------------


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


# -- 2. model detail ---------------------------------------------------------------------------


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


# -- 3. disparity heatmap ----------------------------------------------------------------------


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


# -- 4. pipeline health ------------------------------------------------------------------------


def pipeline_health() -> dict[str, Any]:
    def series(metric: Metric, *steps: str) -> str:
        """The metric's series (one per label set), each keeping its labels."""
        keep = json.dumps(["_time", "_value", *metric.labels])
        return flux(
            f'filter(fn: (r) => r._measurement == "{PIPELINE}" and r._field == "{metric.name}")',
            *steps,
            f"keep(columns: {keep})",
        )

    def per_second(metric: Metric) -> str:
        return series(metric, "derivative(unit: 1s, nonNegative: true)")

    def per_minute(metric: Metric) -> str:
        return series(metric, "derivative(unit: 1m, nonNegative: true)")

    def named(template: str) -> dict[str, Any]:
        return {"displayName": template, "color": {"mode": "palette-classic"}}

    watermark_lag = flux(
        f'filter(fn: (r) => r._measurement == "{PIPELINE}" and r._field == "{WATERMARK.name}")',
        "last()",
        "map(fn: (r) => ({_time: r._time, _value: r._value * 1000.0}))",
    )
    panels = [
        panel(
            "timeseries",
            "Throughput (events/s)",
            per_second(EVENTS_CONSUMED),
            (0, 0, 12, 8),
            unit="suffix: ev/s",
            defaults=named("${__field.labels.topic}"),
            description="Records read per second from each input topic.",
        ),
        panel(
            "timeseries",
            "Consumer lag (records)",
            series(CONSUMER_LAG),
            (12, 0, 12, 8),
            unit="short",
            defaults={
                **named("${__field.labels.topic}"),
                "thresholds": thresholds((None, GREEN), (100_000, ORANGE), (1_000_000, RED)),
            },
            custom={"thresholdsStyle": {"mode": "dashed"}},
            description="Records in the input topics not yet consumed.",
        ),
        panel(
            "timeseries",
            "Invalid events by reason (per minute)",
            per_minute(EVENTS_INVALID),
            (0, 8, 12, 8),
            unit="short",
            defaults=named("${__field.labels.reason} (${__field.labels.topic})"),
            custom={"drawStyle": "bars", "fillOpacity": 60, "stacking": {"mode": "normal"}},
            description="Records the decoder rejected; each went to the dead-letter topic.",
        ),
        panel(
            "timeseries",
            "Dead-lettered and late events (per minute)",
            [per_minute(EVENTS_DEAD_LETTERED), per_minute(EVENTS_LATE)],
            (12, 8, 12, 8),
            unit="short",
            overrides=[
                {
                    "matcher": {"id": "byFrameRefID", "options": "A"},
                    "properties": [
                        {"id": "displayName", "value": "dead-lettered"},
                        {"id": "color", "value": {"mode": "fixed", "fixedColor": RED}},
                    ],
                },
                {
                    "matcher": {"id": "byFrameRefID", "options": "B"},
                    "properties": [
                        {"id": "displayName", "value": "late (${__field.labels.window})"}
                    ],
                },
            ],
            description="Late events were too late for every open window (count, not "
            "dropped silently).",
        ),
        panel(
            "timeseries",
            "Labels waiting",
            [series(PREDICTIONS_AWAITING_LABEL), series(LABELS_AWAITING_PREDICTION)],
            (0, 16, 12, 8),
            unit="short",
            overrides=[
                {
                    "matcher": {"id": "byFrameRefID", "options": "A"},
                    "properties": [
                        {"id": "displayName", "value": "predictions waiting for a label"}
                    ],
                },
                {
                    "matcher": {"id": "byFrameRefID", "options": "B"},
                    "properties": [
                        {"id": "displayName", "value": "labels waiting for a prediction"}
                    ],
                },
            ],
            description="The delayed-label join's pending store.",
        ),
        panel(
            "timeseries",
            "Labels joined and orphaned (per minute)",
            [per_minute(LABELS_JOINED), per_minute(LABELS_ORPHANED)],
            (12, 16, 12, 8),
            unit="short",
            overrides=[
                {
                    "matcher": {"id": "byFrameRefID", "options": "A"},
                    "properties": [{"id": "displayName", "value": "joined"}],
                },
                {
                    "matcher": {"id": "byFrameRefID", "options": "B"},
                    "properties": [
                        {"id": "displayName", "value": "orphaned"},
                        {"id": "color", "value": {"mode": "fixed", "fixedColor": ORANGE}},
                    ],
                },
            ],
            description="Orphans are labels whose prediction never arrived within the horizon.",
        ),
        panel(
            "timeseries",
            "Notification failures (per minute)",
            per_minute(NOTIFICATIONS_FAILED),
            (0, 24, 12, 8),
            unit="short",
            defaults=named("${__field.labels.receiver}: ${__field.labels.reason}"),
            custom={"drawStyle": "bars", "fillOpacity": 60, "stacking": {"mode": "normal"}},
            description="Failed delivery attempts to Slack, PagerDuty and webhooks by "
            "reason (retried unless the reason is permanent).",
        ),
        panel(
            "timeseries",
            "Sink backlog (rows)",
            series(BACKLOG_ROWS),
            (12, 24, 12, 8),
            unit="short",
            defaults={
                **named("${__field.labels.sink}"),
                "thresholds": thresholds((None, GREEN), (50_000, ORANGE), (200_000, RED)),
            },
            custom={"thresholdsStyle": {"mode": "dashed"}},
            description="Rows waiting to be written; consumption pauses when it is full.",
        ),
        panel(
            "timeseries",
            "Sink write failures (per minute)",
            per_minute(WRITE_FAILURES),
            (0, 32, 12, 8),
            unit="short",
            defaults=named("${__field.labels.sink}: ${__field.labels.reason}"),
            custom={"drawStyle": "bars", "fillOpacity": 60, "stacking": {"mode": "normal"}},
            description="Failed writes (retried with backoff; nothing is dropped).",
        ),
        panel(
            "stat",
            "Event-time watermark",
            watermark_lag,
            (12, 32, 6, 8),
            unit="dateTimeFromNow",
            description="Largest event time seen minus the allowed lateness.",
        ),
        panel(
            "state-timeline",
            "Consumption paused",
            series(CONSUMPTION_PAUSED),
            (18, 32, 6, 8),
            defaults={
                "mappings": [
                    {
                        "type": "value",
                        "options": {
                            "0": {"text": "running", "color": GREEN},
                            "1": {"text": "paused (sink full)", "color": RED},
                        },
                    }
                ],
                "color": {"mode": "thresholds"},
                "displayName": "consumer",
            },
            description="1 while the sink's buffer is full and consumption waits.",
        ),
    ]
    return dashboard(
        "fairwatch-pipeline",
        "fairwatch / Pipeline health",
        "Throughput, consumer lag, invalid and dead-lettered events, labels waiting, late "
        "events, sink backlog and notification failures.",
        panels,
        [],
        time_from="now-6h",
    )


DASHBOARDS = {
    "fleet-overview.json": fleet_overview,
    "model-detail.json": model_detail,
    "disparity-heatmap.json": disparity_heatmap,
    "pipeline-health.json": pipeline_health,
}


def queries(board: dict[str, Any]) -> list[str]:
    """Every Flux query of a dashboard: panels (rows included), variables, annotations."""
    found = [v["query"] for v in board["templating"]["list"] if v["type"] == "query"]
    found += [a["query"] for a in board["annotations"]["list"] if "query" in a]
    stack = list(board["panels"])
    while stack:
        item = stack.pop()
        stack.extend(item.get("panels", []))
        found += [target["query"] for target in item.get("targets", [])]
    return found


def render() -> dict[str, str]:
    """The JSON text of every dashboard, every query checked first (:func:`check_query`)."""
    boards = {name: build() for name, build in DASHBOARDS.items()}
    for board in boards.values():
        for query in queries(board):
            check_query(query)
    return {name: json.dumps(board, indent=2) + "\n" for name, board in boards.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare, write nothing")
    args = parser.parse_args(argv)
    stale = []
    for name, text in render().items():
        path = OUT / name
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(name)
            continue
        OUT.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    if stale:
        print(
            f"out of date (run python dashboards/generate.py): {', '.join(stale)}", file=sys.stderr
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
