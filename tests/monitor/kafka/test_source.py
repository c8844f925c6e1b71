"""The Kafka source without a broker: its outage handling."""

from __future__ import annotations

import time
from typing import Any

import pytest
from kafka.errors import KafkaConnectionError

from monitor.config import KafkaSettings
from monitor.kafka.errors import KafkaUnreachableError
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


class FlakyMetadata:
    """The cluster goes away right after the connection: metadata fails, then answers."""

    def __init__(self, failures: int) -> None:
        self.failures = failures

    def partitions_for_topic(self, topic: str) -> set[int]:
        if self.failures:
            self.failures -= 1
            raise KafkaConnectionError("111 ECONNREFUSED")
        return {0, 1, 2}


def test_metadata_asked_again_while_the_broker_is_away_at_start() -> None:
    source = KafkaSource(KafkaSettings(), "instance")
    source._consumer = FlakyMetadata(failures=2)
    assert source._topic_partitions("predictions", time.monotonic() + 30) == {0, 1, 2}


def test_metadata_gives_up_after_the_startup_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    source = KafkaSource(KafkaSettings(), "instance")
    source._consumer = FlakyMetadata(failures=10)
    monkeypatch.setattr(source, "close", lambda timeout=0.0: None)
    with pytest.raises(KafkaUnreachableError):
        source._topic_partitions("predictions", time.monotonic() - 1)
