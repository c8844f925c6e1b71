"""The InfluxDB sink with nothing listening (a closed port on 127.0.0.1): it buffers, reports
back-pressure and its failures, and still shuts down promptly."""

from __future__ import annotations

import socket
import time

import pytest

from monitor.sinks.errors import SinkClosedError, SinkUnavailableError
from monitor.sinks.influx import InfluxSink
from tests.monitor.sinks.sink_builders import make_evaluation


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_buffers_reports_and_closes_promptly() -> None:
    # nothing is sent before flush(): a long flush_interval and a batch larger than the backlog
    sink = InfluxSink(
        f"http://127.0.0.1:{_closed_port()}",
        "t",
        "o",
        "b",
        max_backlog=10,
        batch_size=1000,
        flush_interval=60,
        retry_initial=0.05,
        retry_max=0.1,
        close_timeout=0.5,
    )
    sink.on_evaluations(
        [make_evaluation(window_end=1_700_003_600.0 + 3600 * k) for k in range(3)],
        now=0,
        watermark=0,
    )
    revision = [make_evaluation(window_end=1_700_003_600.0)]
    sink.on_evaluations(revision, now=1, watermark=1)
    assert sink.backlog() == 18  # 3 windows × 6 rows; the revision replaced its rows
    assert sink.is_full() and not sink.is_reachable()
    with pytest.raises(SinkUnavailableError, match="connection"):
        sink.flush(timeout=0.5)
    failures = [s for s in sink.samples() if s.name == "fairwatch_sink_write_failures_total"]
    assert failures and failures[0].labels == {"sink": "influxdb", "reason": "connection"}
    backlog = next(s for s in sink.samples() if s.name == "fairwatch_sink_backlog_rows")
    assert backlog.kind == "gauge" and backlog.value == 18
    started = time.monotonic()
    sink.close()  # gives up after close_timeout, logs the loss, never raises
    assert time.monotonic() - started < 3.0
    with pytest.raises(SinkClosedError):
        sink.on_evaluations([make_evaluation()], now=2, watermark=2)
