"""Closing is bounded: a shutdown step that never returns is abandoned after the grace period,
and a stop requested while the Kafka source still waits for the broker ends the start at once
(a closed port: no server needed)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from fairwatch.app import build_daemon
from monitor.kafka.source import KafkaSource
from monitor.sinks.embedded import EmbeddedSink
from monitor.stream.counters import CHECKPOINTS
from monitor.stream.daemon import CLOSE_GRACE
from monitor.stream.memory import EmbeddedSource, MemoryDeadLetters
from tests.monitor.kafka.test_kafka_connection import closed_port
from tests.monitor.stream.reference import make_events, records
from tests.monitor.stream.test_pipeline import make_config


def test_a_stop_step_that_never_returns_is_abandoned_after_the_grace_period(
    tmp_path: Path,
) -> None:
    config = make_config(tmp_path, pipeline={"shutdown_timeout": "1s"})
    predictions, labels = make_events(200)
    source = EmbeddedSource(records("predictions", predictions, 1) + records("labels", labels, 1))
    daemon = build_daemon(
        config,
        source=source,
        sink=EmbeddedSink(config.embedded_sink.path),  # type: ignore[union-attr]
        dead_letters=MemoryDeadLetters(),
        health=False,
        alerting=False,
    )
    release = threading.Event()

    def stuck_delivery() -> None:  # e.g. an alert webhook that never answers
        release.wait()

    daemon.on_stop.append(stuck_delivery)
    started = time.monotonic()
    try:
        assert daemon.run(stop_when_idle=True) == 0
        assert time.monotonic() - started < 1.0 + CLOSE_GRACE + 2.0
        assert daemon.abandoned == ["stuck_delivery"]
        assert source.committed  # the final checkpoint and commit came first
    finally:
        release.set()


def test_a_stop_while_the_kafka_source_waits_for_the_broker_ends_the_start_at_once(
    tmp_path: Path,
) -> None:
    config = make_config(
        tmp_path, kafka={"bootstrap_servers": f"127.0.0.1:{closed_port()}", "startup_timeout": 60}
    )
    daemon = build_daemon(
        config,
        source=KafkaSource(config.kafka, "instance"),
        sink=EmbeddedSink(config.embedded_sink.path),  # type: ignore[union-attr]
        dead_letters=MemoryDeadLetters(),
        health=False,
        alerting=False,
    )
    threading.Timer(0.5, daemon.stop).start()
    started = time.monotonic()
    assert daemon.run() == 0
    assert time.monotonic() - started < 3.0
    assert daemon.abandoned == []


class FailingFlushSink(EmbeddedSink):
    """A sink whose flush fails with a TypeError raised inside it."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.flushes: list[float | None] = []

    def flush(self, timeout: float | None = None) -> None:
        self.flushes.append(timeout)
        raise TypeError("a bug inside the sink")


def test_a_type_error_inside_the_sinks_flush_is_not_retried_without_a_timeout(
    tmp_path: Path,
) -> None:
    config = make_config(tmp_path, pipeline={"shutdown_timeout": "2s"})
    predictions, labels = make_events(50)
    sink = FailingFlushSink(config.embedded_sink.path)  # type: ignore[union-attr]
    daemon = build_daemon(
        config,
        source=EmbeddedSource(records("predictions", predictions) + records("labels", labels)),
        sink=sink,
        dead_letters=MemoryDeadLetters(),
        health=False,
        alerting=False,
    )
    assert daemon.run(stop_when_idle=True) == 0
    [timeout] = sink.flushes  # once, with what is left of the shutdown budget
    assert timeout is not None and 0 < timeout <= 2.0
    assert daemon.pipeline.counters.get(CHECKPOINTS) >= 1  # the final checkpoint was taken anyway
