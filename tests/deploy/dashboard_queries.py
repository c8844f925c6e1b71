"""The Flux queries of the Grafana dashboards, with Grafana's interpolation done as Grafana does.

Grafana replaces its macros (``v.timeRangeStart``, ``v.timeRangeStop``, ``v.windowPeriod``,
``v.defaultBucket``) and the template variables (``${var}``, ``$var``, ``${var:regex}``) in the
query text before sending it to InfluxDB; :func:`interpolate` does the same.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tests.paths import ROOT

DASHBOARDS = ROOT / "dashboards" / "json"
_VARIABLE = re.compile(r"\$\{(\w+)(?::(\w+))?\}|\$(\w+)")
_REGEX_SPECIAL = re.compile(r"[\\^$*+?.()|\[\]{}/]")


@dataclass(frozen=True)
class Query:
    dashboard: str
    where: str  # "panel <title>", "variable <name>" or "annotation <name>"
    text: str
    repeat: str | None = None


def dashboards() -> dict[str, dict[str, Any]]:
    return {path.name: json.loads(path.read_text()) for path in sorted(DASHBOARDS.glob("*.json"))}


def _panels(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for item in items:
        yield item
        yield from _panels(item.get("panels", []))


def panel_queries(name: str, board: dict[str, Any]) -> list[Query]:
    queries = []
    for panel in _panels(board.get("panels", [])):
        for target in panel.get("targets", []):
            queries.append(
                Query(
                    name,
                    f"panel {panel['title']!r} {target['refId']}",
                    target["query"],
                    panel.get("repeat"),
                )
            )
    for annotation in board.get("annotations", {}).get("list", []):
        if annotation.get("datasource", {}).get("type") == "influxdb":
            queries.append(
                Query(name, f"annotation {annotation['name']!r}", annotation["target"]["query"])
            )
    return queries


def regex_escape(value: str) -> str:
    """Grafana's ``regex`` formatting of one value."""
    return _REGEX_SPECIAL.sub(lambda match: "\\" + match.group(0), value)


def _flux_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def interpolate(
    query: str,
    variables: dict[str, str],
    start: datetime,
    stop: datetime,
    bucket: str,
    window_period: str = "1m",
) -> str:
    text = (
        query.replace("v.timeRangeStart", _flux_time(start))
        .replace("v.timeRangeStop", _flux_time(stop))
        .replace("v.windowPeriod", window_period)
        .replace("v.defaultBucket", json.dumps(bucket))
    )

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(3)
        value = variables[name]
        return regex_escape(value) if match.group(2) == "regex" else value

    text = _VARIABLE.sub(replace, text)
    assert "${" not in text, text
    return text
