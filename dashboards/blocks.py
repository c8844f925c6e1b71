"""Building blocks of the dashboards: panels, rows, variables, the dashboard itself, and the
filters and variables every dashboard shares (model, window, attribute).
"""

from __future__ import annotations

from typing import Any

from dashboards.names import DISPARITY, GROUP
from monitor.engine.results import STATUSES

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


# -- shared filters and variables ---------------------------------------------------------------

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
