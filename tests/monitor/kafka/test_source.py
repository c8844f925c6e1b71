"""The Kafka source without a broker: its outage handling."""

from __future__ import annotations

from typing import Any

from kafka.errors import KafkaConnectionError

from monitor.config import KafkaSettings
from monitor.kafka.source import KafkaSource
from monitor.stream.decode import BatchDecoder, DecodeRules


class FailingConsumer:
    def poll(self, **_kwargs: Any) -> Any:
        raise KafkaConnectionError("111 ECONNREFUSED")


def test_a_broker_outage_during_poll_returns_nothing_instead_of_raising() -> None:
    source = KafkaSource(KafkaSettings(), "instance")
    source._consumer = FailingConsumer()
    source._owns_all = True
    assert source.poll(100, 0.01) == []
    decoder = BatchDecoder(DecodeRules(), "predictions", "labels")
    assert source.poll_decoded(100, 0.01, decoder) is None
