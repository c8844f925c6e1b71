"""The local Kafka broker is real: kafka-python produces, and consumes through a consumer group."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from kafka import KafkaConsumer, KafkaProducer

pytestmark = pytest.mark.integration


def produce(bootstrap: str, topic: str, events: list[dict[str, Any]]) -> None:
    producer = KafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        linger_ms=5,
        value_serializer=lambda value: json.dumps(value).encode(),
    )
    try:
        for event in events:
            producer.send(topic, event)
        producer.flush(timeout=60)
    finally:
        producer.close()


def consume(
    bootstrap: str, topic: str, group: str, expected: int, timeout_s: float = 60.0
) -> list[dict[str, Any]]:
    """Read until ``expected`` events arrived (or the timeout), then commit the group's offsets."""
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        value_deserializer=json.loads,
    )
    received: list[dict[str, Any]] = []
    try:
        deadline = time.monotonic() + timeout_s
        while len(received) < expected and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                received.extend(record.value for record in records)
        # A little longer: anything beyond `expected` would be a duplicate.
        for records in consumer.poll(timeout_ms=1000).values():
            received.extend(record.value for record in records)
        consumer.commit()
    finally:
        consumer.close()
    return received


def test_ten_thousand_events_arrive_exactly_once_through_a_consumer_group(
    kafka_bootstrap: str, kafka_topic: Callable[..., str], unique_name: Callable[[str], str]
) -> None:
    topic = kafka_topic(partitions=3)
    group = unique_name("group")
    events = [
        {"id": f"event-{index}", "model_id": "credit", "score": index / 10_000}
        for index in range(10_000)
    ]
    produce(kafka_bootstrap, topic, events)

    received = consume(kafka_bootstrap, topic, group, expected=len(events))

    ids = [event["id"] for event in received]
    assert len(ids) == len(set(ids)), "some events were delivered twice"
    assert set(ids) == {event["id"] for event in events}
    by_id = {event["id"]: event for event in received}
    assert by_id["event-1234"] == {"id": "event-1234", "model_id": "credit", "score": 0.1234}
    # The group committed its offsets: a new member of the same group starts after them.
    assert consume(kafka_bootstrap, topic, group, expected=0, timeout_s=0) == []


def test_a_restarted_broker_keeps_its_port_and_its_data(
    local_servers_factory: Callable[[str], Any], unique_name: Callable[[str], str]
) -> None:
    broker = local_servers_factory("kafka")
    bootstrap = broker.bootstrap
    topic = unique_name("topic")
    produce(bootstrap, topic, [{"id": index} for index in range(100)])

    broker.stop()
    assert not broker.is_running()
    broker.start()

    assert broker.bootstrap == bootstrap
    received = consume(bootstrap, topic, unique_name("group"), expected=100)
    assert sorted(event["id"] for event in received) == list(range(100))
