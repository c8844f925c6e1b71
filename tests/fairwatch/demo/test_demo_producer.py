"""The demo's Kafka producer (:mod:`fairwatch.demo.producer`) against the real broker.

Missing topics are created co-partitioned (and left alone when present); events arrive keyed by
prediction id, so a label lands on its prediction's partition; ``speed`` paces the sending
(the sleep is injected, so pacing is checked without waiting for it).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from fairwatch.demo.producer import Topics, ensure_topics, produce
from fairwatch.demo.scenario import StreamEvent

pytestmark = pytest.mark.integration


def partitions_of(bootstrap: str, topic: str) -> dict[str, int]:
    """Each message's key → the partition it landed on."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        ends = consumer.end_offsets(parts)
        found: dict[str, int] = {}
        while any(consumer.position(p) < ends[p] for p in parts):
            for part, messages in consumer.poll(timeout_ms=500).items():
                for message in messages:
                    found[message.key.decode()] = part.partition
        return found
    finally:
        consumer.close()


def test_topics_are_created_once_and_events_are_co_partitioned_and_paced(
    kafka_bootstrap: str, unique_name: Callable[[str], str]
) -> None:
    topics = Topics(unique_name("predictions"), unique_name("labels"))
    assert sorted(ensure_topics([kafka_bootstrap], topics, 3)) == sorted(
        [topics.predictions, topics.labels]
    )
    assert ensure_topics([kafka_bootstrap], topics, 3) == []  # already there: left alone
    keys = [f"p{i:03d}" for i in range(60)]
    events = [StreamEvent(i, "predictions", key, {"prediction_id": key}) for i, key in
              enumerate(keys)]  # fmt: skip
    events += [StreamEvent(100 + i, "labels", key, {"prediction_id": key, "label": 1})
               for i, key in enumerate(keys)]  # fmt: skip
    slept: list[float] = []
    # 100 events a second: event i is due i / 100 s after the start; the injected sleep does not
    # pass time, so each wait is what is left until the event is due
    assert produce(events, [kafka_bootstrap], topics, speed=100.0, sleep=slept.append) == 120
    assert len(slept) > 100 and all(0 < wait <= 1.19 for wait in slept)
    assert slept[-1] == pytest.approx(1.19, abs=0.3)
    predictions = partitions_of(kafka_bootstrap, topics.predictions)
    labels = partitions_of(kafka_bootstrap, topics.labels)
    assert predictions.keys() == labels.keys() == set(keys)
    assert predictions == labels  # each label on its prediction's partition
    assert len(set(predictions.values())) > 1  # spread over the partitions
