"""The sinks' own counters and gauges, declared once (convention in :mod:`monitor.counters`).

Each is labelled with the ``sink`` that reports it (``influxdb``, ``embedded``); they go to
``/metrics`` and the ``fairwatch_pipeline`` measurement with the pipeline's.
"""

from __future__ import annotations

from monitor.counters import Metric

ROWS_WRITTEN = Metric(
    "fairwatch_sink_rows_written_total", "counter", "Rows written to the sink.", ("sink",)
)
ROWS_REJECTED = Metric(
    "fairwatch_sink_rows_rejected_total",
    "counter",
    "Rows the server rejected as invalid (not retried).",
    ("sink",),
)
WRITE_RETRIES = Metric(
    "fairwatch_sink_write_retries_total",
    "counter",
    "Write attempts that failed and were retried.",
    ("sink",),
)
WRITE_FAILURES = Metric(
    "fairwatch_sink_write_failures_total",
    "counter",
    "Failed write attempts by reason.",
    ("sink", "reason"),
)
BACKLOG_ROWS = Metric(
    "fairwatch_sink_backlog_rows", "gauge", "Rows buffered, waiting to be written.", ("sink",)
)

SINK_METRICS: tuple[Metric, ...] = (
    ROWS_WRITTEN,
    ROWS_REJECTED,
    WRITE_RETRIES,
    WRITE_FAILURES,
    BACKLOG_ROWS,
)
