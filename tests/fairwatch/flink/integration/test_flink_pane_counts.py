"""The rendered Flink job counts exactly: real Kafka, real Flink, compared with a batch count.

A small stream on three partitions per topic — predictions with decisions, scores and labels
carried inline, duplicate predictions, early, delayed, duplicate and orphan labels, bad messages
of every reason SQL reproduces — goes through ``fairwatch flink render`` + the SQL client. Part
of it is produced before the job starts (a backlog), the rest while it runs. The pane counts
read back from the upsert topic must equal a batch computation from the same records, which
uses fairwatch's own decoder; the dead letters must carry the decoder's reasons.
"""

from __future__ import annotations

import json
import math
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaConsumer, KafkaProducer

from fairwatch.flink.job import JobOptions, render
from monitor.config import MonitorConfig
from monitor.engine.groups import intersection_group_name, intersection_name
from monitor.stream.decode import Record, decode_labels, decode_predictions, decode_rules

pytestmark = [pytest.mark.integration, pytest.mark.slow]

BASE = 1714564800  # 2024-05-01T12:00:00Z
PaneKey = tuple[str, float, float, str, str]
FIELDS = ("n", "predicted_positive", "tp", "fp", "tn", "fn")


def config_for(bootstrap: str, topics: dict[str, str]) -> MonitorConfig:
    return MonitorConfig.model_validate(
        {
            "kafka": {
                "bootstrap_servers": [bootstrap],
                "predictions_topic": topics["predictions"],
                "labels_topic": topics["labels"],
                "dead_letter_topic": topics["dead_letters"],
                "group_id": topics["predictions"],
            },
            "models": {"credit": {"threshold": 0.6}, "fraud": {}},
            "sensitive": {"attributes": ["sex", "race"], "intersections": [["race", "sex"]]},
            "windows": ["1h", "1d/1h", "15m"],
            "label_horizon": "7d",
            "embedded_sink": {"path": "unused.db"},
        }
    )


def timestamp(index: int) -> Any:
    """Event times in every form the contract takes."""
    seconds = BASE + index * 97
    form = index % 4
    if form == 0:
        return seconds
    if form == 1:
        return seconds * 1000 + 250
    if form == 2:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))
    local = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds + 7200))
    return f"{local}.125+02:00"


def prediction(index: int, *, duplicate: bool = False) -> dict[str, Any]:
    event: dict[str, Any] = {
        "prediction_id": f"p{index:04d}",
        "model_id": "fraud" if index % 5 == 0 or duplicate else "credit",
        "timestamp": timestamp(index),
        "sensitive": {"sex": "F" if index % 2 else "M", "race": ("A", "B", "")[index % 3]},
    }
    if index % 3 == 0:
        event["prediction"] = (index // 3) % 2 == 0 if index % 6 else 1
    else:
        event["score"] = round((index * 37 % 100) / 100, 2)
    if index % 7 == 0:
        event["label"] = index % 2
    if duplicate:
        event["score"] = 0.99
    return event


def label(index: int, value: int) -> dict[str, Any]:
    return {"prediction_id": f"p{index:04d}", "label": value}


BAD_PREDICTIONS: list[bytes | None] = [
    b"not json",
    b"[1, 2]",
    None,
    b"\xff\xfe{}",
    json.dumps({"model_id": "credit", "timestamp": BASE, "score": 0.5}).encode(),
    json.dumps({"prediction_id": 7, "model_id": "credit", "timestamp": BASE}).encode(),
    json.dumps({"prediction_id": "", "model_id": "credit", "timestamp": BASE}).encode(),
    json.dumps({"prediction_id": "x1", "model_id": "other", "timestamp": BASE}).encode(),
    json.dumps({"prediction_id": "x2", "model_id": "credit", "timestamp": "yesterday"}).encode(),
    json.dumps(
        {"prediction_id": "x3", "model_id": "credit", "timestamp": "2024-02-30T00:00:00Z"}
    ).encode(),
    json.dumps({"prediction_id": "x4", "model_id": "credit", "timestamp": BASE}).encode(),
    json.dumps(
        {"prediction_id": "x5", "model_id": "credit", "timestamp": BASE, "score": 1.5}
    ).encode(),
    b'{"prediction_id": "x6", "model_id": "credit", "timestamp": 1714564800, "score": 1e400}',
    json.dumps(
        {"prediction_id": "x7", "model_id": "credit", "timestamp": BASE, "prediction": 2}
    ).encode(),
    json.dumps(
        {"prediction_id": "x8", "model_id": "credit", "timestamp": BASE, "prediction": 1}
    ).encode(),
    json.dumps(
        {
            "prediction_id": "x9",
            "model_id": "credit",
            "timestamp": BASE,
            "prediction": 1,
            "sensitive": {"sex": "F"},
        }
    ).encode(),
    json.dumps(
        {
            "prediction_id": "x10",
            "model_id": "credit",
            "timestamp": BASE,
            "prediction": 1,
            "sensitive": "F",
        }
    ).encode(),
    json.dumps(
        {
            "prediction_id": "x11",
            "model_id": "credit",
            "timestamp": BASE,
            "score": "high",
            "sensitive": {"sex": "F", "race": "A"},
        }
    ).encode(),
]
BAD_LABELS: list[bytes | None] = [
    b"{",
    json.dumps({"prediction_id": "p0001", "label": 3}).encode(),
    json.dumps({"prediction_id": "p0001"}).encode(),
    json.dumps({"prediction_id": "p0001", "label": "yes"}).encode(),
    json.dumps({"prediction_id": "p0001", "label": 1, "timestamp": True}).encode(),
]


class Stream:
    """Produces records and remembers each one as the decoder would see it."""

    def __init__(self, bootstrap: str, topics: dict[str, str]) -> None:
        self.producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
        self.topics = topics
        self.sent: list[tuple[str, Any]] = []

    def send(self, kind: str, key: str | None, value: bytes | dict[str, Any] | None) -> None:
        raw = json.dumps(value).encode() if isinstance(value, dict) else value
        topic = self.topics[kind]
        future = self.producer.send(topic, key=key.encode() if key else None, value=raw)
        self.sent.append((topic, (future, key, raw)))

    def records(self) -> dict[str, list[Record]]:
        """Every record sent, per topic, in partition and offset order."""
        self.producer.flush()
        out: dict[str, list[Record]] = defaultdict(list)
        for topic, (future, key, raw) in self.sent:
            meta = future.get(timeout=30)
            out[topic].append(
                Record(topic, meta.partition, meta.offset, key.encode() if key else None, raw)
            )
        for records in out.values():
            records.sort(key=lambda record: (record.partition, record.offset))
        return out


def expected_counts(
    config: MonitorConfig, records: dict[str, list[Record]]
) -> dict[PaneKey, dict[str, int]]:
    """The pane counts of the contract, by batch: first prediction and first label of an id
    win, a label carried in the prediction is its label, labels of unknown ids are orphans."""
    rules = decode_rules(config)
    predictions, _ = decode_predictions(records[config.kafka.predictions_topic], rules)
    labels, _ = decode_labels(records[config.kafka.labels_topic], rules)
    first: dict[str, int] = {}
    for row, key in enumerate(predictions.prediction_id):
        first.setdefault(key, row)
    first_label: dict[str, int] = {}
    for row, key in enumerate(labels.prediction_id):
        first_label.setdefault(key, labels.label[row])
    steps = sorted({spec.step for spec in config.windows})
    attributes = config.sensitive.attributes
    counts: dict[PaneKey, dict[str, int]] = defaultdict(lambda: dict.fromkeys(FIELDS, 0))
    for key, row in first.items():
        decision = int(predictions.prediction[row])
        carried = int(predictions.label[row])
        outcome = carried if carried >= 0 else first_label.get(key, -1)
        values = {name: predictions.sensitive[name][row] or "(missing)" for name in attributes}
        groups = [(name, values[name]) for name in attributes]
        for members in config.sensitive.intersections:
            groups.append(
                (
                    intersection_name(members),
                    intersection_group_name({m: values[m] for m in members}),
                )
            )
        stamp = float(predictions.timestamp[row])
        for step in steps:
            start = math.floor(stamp / step) * step
            for attribute, group in groups:
                cell = counts[(predictions.model_id[row], step, start, attribute, group)]
                cell["n"] += 1
                cell["predicted_positive"] += decision
                if outcome >= 0:
                    name = ("tn", "fp", "fn", "tp")[outcome * 2 + decision]
                    cell[name] += 1
    return dict(counts)


def expected_dead_letters(
    config: MonitorConfig, records: dict[str, list[Record]]
) -> Counter[tuple[str, int, int, str]]:
    rules = decode_rules(config)
    _, bad_predictions = decode_predictions(records[config.kafka.predictions_topic], rules)
    _, bad_labels = decode_labels(records[config.kafka.labels_topic], rules)
    return Counter(
        (error.record.topic, error.record.partition, error.record.offset, error.reason)
        for error in bad_predictions + bad_labels
    )


def read_panes(consumer: KafkaConsumer, panes: dict[PaneKey, dict[str, int]]) -> None:
    for batch in consumer.poll(timeout_ms=500).values():
        for message in batch:
            key = json.loads(message.key)
            pane = (
                key["model_id"],
                key["pane_seconds"],
                key["pane_start"],
                key["attribute"],
                key["group_name"],
            )
            if message.value is None:
                panes.pop(pane, None)
            else:
                value = json.loads(message.value)
                panes[pane] = {name: value[name] for name in FIELDS}


def test_pane_counts_equal_a_batch_count(
    flink_cluster: Any, kafka_bootstrap: str, kafka_topic: Callable[..., str], tmp_path: Path
) -> None:
    topics = {
        "predictions": kafka_topic(partitions=3, prefix="predictions"),
        "labels": kafka_topic(partitions=3, prefix="labels"),
        "dead_letters": kafka_topic(partitions=1, prefix="dead-letters"),
        "panes": kafka_topic(partitions=2, prefix="panes"),
    }
    config = config_for(kafka_bootstrap, topics)
    stream = Stream(kafka_bootstrap, topics)
    # A backlog: early labels, the first predictions (some twice), labels, bad messages.
    for index in range(160, 200, 3):
        stream.send("labels", f"p{index:04d}", label(index, index % 2))
    for index in range(160):
        stream.send("predictions", f"p{index:04d}", prediction(index))
        if index % 11 == 0:
            stream.send("predictions", f"p{index:04d}", prediction(index, duplicate=True))
    for index in range(0, 160, 2):
        stream.send("labels", f"p{index:04d}", label(index, (index // 2) % 2))
    for position, value in enumerate(BAD_PREDICTIONS):
        stream.send("predictions", f"bad{position}", value)
    for position, value in enumerate(BAD_LABELS):
        stream.send("labels", f"bad{position}", value)
    stream.producer.flush()

    job_id = flink_cluster.submit(render(config, JobOptions(pane_topic=topics["panes"])), tmp_path)
    try:
        flink_cluster.wait_running(job_id)
        # Live: the rest of the predictions, delayed and duplicate labels (the first one wins),
        # labels of predictions that carried theirs, orphans.
        for index in range(160, 240):
            stream.send("predictions", f"p{index:04d}", prediction(index))
        for index in range(1, 240, 4):
            stream.send("labels", f"p{index:04d}", label(index, 1))
        for index in range(0, 240, 6):
            stream.send("labels", f"p{index:04d}", label(index, 0))
        for index in range(1000, 1010):
            stream.send("labels", f"p{index:04d}", label(index, 1))
        records = stream.records()
        expected = expected_counts(config, records)
        assert sum(cell["tp"] + cell["fp"] + cell["tn"] + cell["fn"] for cell in expected.values())

        panes: dict[PaneKey, dict[str, int]] = {}
        consumer = KafkaConsumer(
            topics["panes"], bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest"
        )
        deadline = time.monotonic() + 120
        checked = time.monotonic()
        while panes != expected and time.monotonic() < deadline:
            read_panes(consumer, panes)
            if time.monotonic() - checked > 5:
                flink_cluster.check_healthy(job_id)
                checked = time.monotonic()
        consumer.close()
        missing = {key: value for key, value in expected.items() if panes.get(key) != value}
        extra = {key: value for key, value in panes.items() if key not in expected}
        got = {key: panes.get(key) for key in list(missing)[:5]}
        assert not missing, f"{len(missing)} panes differ: {list(missing.items())[:5]}, got {got}"
        assert not extra, f"{len(extra)} panes not expected, e.g. {list(extra.items())[:5]}"

        letters: Counter[tuple[str, int, int, str]] = Counter()
        consumer = KafkaConsumer(
            topics["dead_letters"],
            bootstrap_servers=kafka_bootstrap,
            auto_offset_reset="earliest",
            consumer_timeout_ms=5000,
        )
        for message in consumer:
            headers = {name: value.decode() for name, value in message.headers}
            letters[
                (
                    headers["fairwatch.source.topic"],
                    int(headers["fairwatch.source.partition"]),
                    int(headers["fairwatch.source.offset"]),
                    headers["fairwatch.reason"],
                )
            ] += 1
        consumer.close()
        assert letters == expected_dead_letters(config, records)
    finally:
        flink_cluster.cancel(job_id)
