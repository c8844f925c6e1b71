"""Sources without a broker: the embedded source, and the Kafka source's outage handling."""

from __future__ import annotations

from typing import Any

from kafka.errors import KafkaConnectionError

from monitor.config import KafkaSettings
from monitor.kafka.group import default_instance_id
from monitor.kafka.source import KafkaSource
from monitor.stream.decode import Record
from monitor.stream.memory import EmbeddedSource


def test_embedded_source_resumes_from_positions_and_pauses() -> None:
    records = [Record("predictions", p, o, None, b"{}") for o in range(3) for p in range(2)]
    source = EmbeddedSource(records)
    source.start(lambda: {("predictions", 0): 2})
    source.pause()
    assert source.poll(100, 0.0) == []
    source.resume()
    got = source.poll(100, 0.0)
    assert [(r.partition, r.offset) for r in got] == [(1, 0), (1, 1), (0, 2), (1, 2)]
    assert source.is_idle()


class FailingConsumer:
    def poll(self, **_kwargs: Any) -> Any:
        raise KafkaConnectionError("111 ECONNREFUSED")


def test_a_broker_outage_during_poll_returns_nothing_instead_of_raising() -> None:
    source = KafkaSource(KafkaSettings(), "instance")
    source._consumer = FailingConsumer()
    source._owns_all = True
    assert source.poll(100, 0.01) == []


def test_instance_id_is_stable_per_state_directory() -> None:
    settings = KafkaSettings(group_id="g")
    first = default_instance_id(settings, "/var/lib/fairwatch")
    assert first == default_instance_id(settings, "/var/lib/fairwatch/")
    assert first != default_instance_id(settings, "/var/lib/other")
    assert default_instance_id(KafkaSettings(instance_id="fixed"), "/x") == "fixed"
