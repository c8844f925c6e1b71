"""The names the dashboards query, imported from the code that writes them, and the check that a
query names nothing else.

Measurements, fields and tags come from ``monitor/sinks/points.py``; the fields and tags of
``fairwatch_pipeline`` are the declared counters and their labels (``monitor/stream/counters.py``,
``monitor/sinks/counters.py``, ``alerting/metrics.py``).
"""

from __future__ import annotations

import re

from alerting.metrics import ALERTING_METRICS
from monitor.counters import Metric
from monitor.sinks import points
from monitor.sinks.counters import SINK_METRICS
from monitor.stream.counters import DAEMON_METRICS, GATE_METRICS, PIPELINE_METRICS

GROUP, DISPARITY, PIPELINE = (
    points.GROUP_MEASUREMENT,
    points.DISPARITY_MEASUREMENT,
    points.PIPELINE_MEASUREMENT,
)

COUNTERS: tuple[Metric, ...] = (
    *PIPELINE_METRICS,
    *DAEMON_METRICS,
    *GATE_METRICS,
    *SINK_METRICS,
    *ALERTING_METRICS,
)
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
