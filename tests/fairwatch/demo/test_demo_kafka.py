"""``fairwatch demo --kafka``: the demo's events reach real Kafka topics, readable by a consumer
the way ``fairwatch run`` reads them (keyed and co-partitioned by prediction_id)."""

from __future__ import annotations

import contextlib
import io
import re
import time
from collections.abc import Callable

import orjson
import pytest

from fairwatch.cli import main
from fairwatch.demo.settings import SHORT_SCENARIO
from monitor.stream.decode import DecodeRules, Record, decode_labels, decode_predictions

pytestmark = pytest.mark.integration


def consume_all(bootstrap: str, topic: str, expected: int, timeout: float = 60.0) -> list[Record]:
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, client_id="fairwatch-demo-test"
    )
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        records: list[Record] = []
        deadline = time.monotonic() + timeout
        while len(records) < expected and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500, max_records=5000).values():
                records.extend(
                    Record(m.topic, m.partition, m.offset, m.key, m.value) for m in batch
                )
        return records
    finally:
        consumer.close()


def test_the_demo_events_can_be_consumed_back(
    kafka_bootstrap: str, unique_name: Callable[[str], str]
) -> None:
    predictions_topic, labels_topic = unique_name("predictions"), unique_name("labels")
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        code = main(
            [
                "demo",
                "--short",
                "--kafka",
                kafka_bootstrap,
                "--plain",
                "--predictions-topic",
                predictions_topic,
                "--labels-topic",
                labels_topic,
            ]
        )
    assert code == 0, output.getvalue()
    sent = re.search(
        r"sent ([\d,]+) events \(([\d,]+) predictions, ([\d,]+) labels\)", output.getvalue()
    )
    assert sent is not None, output.getvalue()
    total, n_predictions, n_labels = (int(group.replace(",", "")) for group in sent.groups())
    assert n_predictions == SHORT_SCENARIO.rows and total == n_predictions + n_labels

    predictions = consume_all(kafka_bootstrap, predictions_topic, n_predictions)
    labels = consume_all(kafka_bootstrap, labels_topic, n_labels)
    assert len(predictions) == n_predictions and len(labels) == n_labels

    rules = DecodeRules(thresholds={"adult-income": 0.5}, attributes=("sex", "race"))
    decoded, bad = decode_predictions(predictions, rules)
    assert bad == [] and len(decoded) == n_predictions
    decoded_labels, bad_labels = decode_labels(labels, rules)
    assert bad_labels == [] and len(decoded_labels) == n_labels

    # Keyed by prediction_id: every label is on its prediction's partition.
    partition_of = {record.key: record.partition for record in predictions}
    assert len(partition_of) == n_predictions
    for record in labels:
        assert record.key == orjson.loads(record.value)["prediction_id"].encode()
        assert partition_of[record.key] == record.partition
