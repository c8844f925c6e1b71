"""The small stream of the Flink job's integration tests, and what the job must make of it.

Three partitions per topic: predictions with decisions, scores (edge values of the histogram's
binning included) and labels carried inline, duplicate predictions, early, delayed, duplicate and
orphan labels, bad messages of every reason SQL reproduces. The expected pane counts, progress
and dead letters are a batch computation from the records as produced, with fairwatch's own
decoder and its own counting function (:func:`monitor.engine.counts.count_batch`).
"""

from __future__ import annotations

import json
import math
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from kafka import KafkaConsumer, KafkaProducer

from monitor.config import MonitorConfig
from monitor.engine.counts import count_batch
from monitor.engine.groups import intersection_group_name, intersection_name
from monitor.stream.decode import Record, decode_labels, decode_predictions, decode_rules

BASE = 1714564800  # 2024-05-01T12:00:00Z
PaneKey = tuple[str, float, float, str, str]
PANE_KEY = ("model_id", "pane_seconds", "pane_start", "attribute", "group_name")
COUNTS = ("n", "predicted_positive", "tp", "fp", "tn", "fn")
# Scores at and around bin edges and centres, in every JSON number form.
SCORES: list[Any] = [
    0,
    1,
    0.0,
    1.0,
    0.3,
    0.7,
    0.05,
    0.15,
    0.95,
    0.0500005,
    0.2500025,
    0.123456789012345678,
    5e-1,
    1e-7,
    0.999999999,
    0.6,
    0.1 + 0.2,
]


def config_for(bootstrap: str, topics: dict[str, str]) -> MonitorConfig:
    return MonitorConfig.model_validate(config_data(bootstrap, topics))


def config_data(bootstrap: str, topics: dict[str, str]) -> dict[str, Any]:
    """The configuration of the stream's job, as a ``fairwatch.yaml`` holds it."""
    return {
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
        if index % 9 == 0:
            event["score"] = SCORES[index % len(SCORES)]
    elif index % 4 == 1:
        event["score"] = SCORES[index % len(SCORES)]
    else:
        event["score"] = round((index * 37 % 100) / 100, 2)
    if index % 7 == 0:
        event["label"] = index % 2
    if duplicate:
        event["score"] = 0.99
    return event


def label(index: int, value: int) -> dict[str, Any]:
    return {"prediction_id": f"p{index:04d}", "label": value}


def _event(**fields: Any) -> bytes:
    return json.dumps({"model_id": "credit", "timestamp": BASE, **fields}).encode()


BAD_PREDICTIONS: list[bytes | None] = [
    b"not json",
    b"[1, 2]",
    None,
    b"\xff\xfe{}",
    json.dumps({"model_id": "credit", "timestamp": BASE, "score": 0.5}).encode(),
    _event(prediction_id=7),
    _event(prediction_id=""),
    _event(prediction_id="x1", model_id="other"),
    _event(prediction_id="x2", timestamp="yesterday"),
    _event(prediction_id="x3", timestamp="2024-02-30T00:00:00Z"),
    _event(prediction_id="x4"),
    _event(prediction_id="x5", score=1.5),
    b'{"prediction_id": "x6", "model_id": "credit", "timestamp": 1714564800, "score": 1e400}',
    _event(prediction_id="x7", prediction=2),
    _event(prediction_id="x8", prediction=1),
    _event(prediction_id="x9", prediction=1, sensitive={"sex": "F"}),
    _event(prediction_id="x10", prediction=1, sensitive="F"),
    _event(prediction_id="x11", score="high", sensitive={"sex": "F", "race": "A"}),
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

    def backlog(self) -> None:
        """Early labels, the first predictions (some twice), labels, bad messages."""
        for index in range(160, 200, 3):
            self.send("labels", f"p{index:04d}", label(index, index % 2))
        for index in range(160):
            self.send("predictions", f"p{index:04d}", prediction(index))
            if index % 11 == 0:
                self.send("predictions", f"p{index:04d}", prediction(index, duplicate=True))
        for index in range(0, 160, 2):
            self.send("labels", f"p{index:04d}", label(index, (index // 2) % 2))
        for position, value in enumerate(BAD_PREDICTIONS):
            self.send("predictions", f"bad{position}", value)
        for position, value in enumerate(BAD_LABELS):
            self.send("labels", f"bad{position}", value)
        self.producer.flush()

    def live(
        self, predictions: range = range(160, 240), pause: float = 0.0, bad_every: int = 0
    ) -> None:
        """The rest of the predictions, delayed and duplicate labels (the first one wins),
        labels of predictions that carried theirs, orphans; ``pause`` seconds per 10 records;
        a bad prediction after every ``bad_every`` records."""
        sends: list[tuple[str, str, bytes | dict[str, Any] | None]] = []
        sends += [("predictions", f"p{i:04d}", prediction(i)) for i in predictions]
        sends += [("labels", f"p{i:04d}", label(i, 1)) for i in range(1, predictions.stop, 4)]
        sends += [("labels", f"p{i:04d}", label(i, 0)) for i in range(0, predictions.stop, 6)]
        sends += [("labels", f"p{i:04d}", label(i, 1)) for i in range(5000, 5010)]
        if bad_every:
            mixed = []
            for position, send in enumerate(sends):
                mixed.append(send)
                if position % bad_every == bad_every - 1:
                    value = BAD_PREDICTIONS[(position // bad_every) % len(BAD_PREDICTIONS)]
                    mixed.append(("predictions", f"bad-{predictions.start}-{position}", value))
            sends = mixed
        for position, (kind, key, value) in enumerate(sends):
            self.send(kind, key, value)
            if pause and position % 10 == 9:
                self.producer.flush()
                time.sleep(pause)
        self.producer.flush()

    def ordered(self) -> list[Record]:
        """Every record sent, in the order sent."""
        self.producer.flush()
        out = []
        for topic, (future, key, raw) in self.sent:
            meta = future.get(timeout=30)
            out.append(
                Record(topic, meta.partition, meta.offset, key.encode() if key else None, raw)
            )
        return out

    def records(self) -> dict[str, list[Record]]:
        """Every record sent, per topic, in partition and offset order."""
        out: dict[str, list[Record]] = defaultdict(list)
        for record in self.ordered():
            out[record.topic].append(record)
        for records in out.values():
            records.sort(key=lambda record: (record.partition, record.offset))
        return out


@dataclass
class Expected:
    """What the job must write for a stream: pane rows (``GroupCounts.to_row`` layout),
    progress per predictions partition, dead letters by (topic, partition, offset, reason)."""

    panes: dict[PaneKey, list[int]]
    progress: dict[int, tuple[float, int]]
    dead_letters: Counter[tuple[str, int, int, str]] = field(default_factory=Counter)


def expected(config: MonitorConfig, records: dict[str, list[Record]]) -> Expected:
    """The contract, by batch: the first prediction and the first label of an id win, a label
    carried in the prediction is its label, labels of unknown ids are orphans."""
    rules = decode_rules(config)
    kafka = config.kafka
    predictions, bad_predictions = decode_predictions(records[kafka.predictions_topic], rules)
    labels, bad_labels = decode_labels(records[kafka.labels_topic], rules)
    first: dict[str, int] = {}
    for row, key in enumerate(predictions.prediction_id):
        first.setdefault(key, row)
    first_label: dict[str, int] = {}
    for row, key in enumerate(labels.prediction_id):
        first_label.setdefault(key, labels.label[row])
    steps = sorted({spec.step for spec in config.windows})
    attributes = config.sensitive.attributes
    panes: dict[PaneKey, int] = {}
    columns: dict[str, list[Any]] = defaultdict(list)
    progress: dict[int, float] = {}
    for key, row in first.items():
        decision = int(predictions.prediction[row])
        carried = int(predictions.label[row])
        outcome = carried if carried >= 0 else first_label.get(key, -1)
        values = {name: predictions.sensitive[name][row] or "(missing)" for name in attributes}
        groups = [(name, values[name]) for name in attributes]
        for members in config.sensitive.intersections:
            named = intersection_group_name({m: values[m] for m in members})
            groups.append((intersection_name(members), named))
        stamp = float(predictions.timestamp[row])
        partition = int(predictions.partition[row])
        progress[partition] = max(progress.get(partition, -math.inf), stamp)
        for step in steps:
            start = math.floor(stamp / step) * step
            for attribute, group in groups:
                pane = (predictions.model_id[row], step, start, attribute, group)
                columns["group"].append(panes.setdefault(pane, len(panes)))
                columns["decision"].append(decision)
                columns["label"].append(outcome)
                columns["score"].append(float(predictions.score[row]))
    matrix = count_batch(
        np.asarray(columns["group"]),
        len(panes),
        np.asarray(columns["decision"]),
        np.asarray(columns["label"]),
        score=np.asarray(columns["score"]),
        score_bins=config.engine.score_bins,
    )
    offsets: dict[int, int] = {}
    for record in records[config.kafka.predictions_topic]:
        offsets[record.partition] = max(offsets.get(record.partition, -1), record.offset)
    return Expected(
        panes={pane: matrix[index].tolist() for pane, index in panes.items()},
        progress={p: (progress.get(p, math.nan), offset) for p, offset in offsets.items()},
        dead_letters=Counter(
            (error.record.topic, error.record.partition, error.record.offset, error.reason)
            for error in bad_predictions + bad_labels
        ),
    )


class PaneTopic:
    """Reads the pane topic as an evaluator would (``read_committed``): the latest pane rows and
    progress per key, every time a pane's counts went down (a double count taken back) and the
    tombstones (there should be none: counts only grow)."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.consumer = KafkaConsumer(
            topic,
            bootstrap_servers=bootstrap,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
        )
        self.panes: dict[PaneKey, list[int]] = {}
        self.progress: dict[int, tuple[float, int]] = {}
        self.decreases: list[tuple[PaneKey, list[int], list[int]]] = []
        self.records = 0
        self.tombstones = 0

    def poll(self) -> None:
        for batch in self.consumer.poll(timeout_ms=500).values():
            for message in batch:
                self.records += 1
                key = json.loads(message.key)
                if message.value is None:
                    self.tombstones += 1
                    continue
                value = json.loads(message.value)
                if "progress" in key:
                    stamp = value.get("event_time")  # absent before the first
                    self.progress[key["partition"]] = (
                        math.nan if stamp is None else stamp,
                        value["offset"],
                    )
                    continue
                pane = tuple(key[name] for name in PANE_KEY)
                row = [value[name] for name in COUNTS]
                row += [*value["score_histogram"][0], *value["score_histogram"][1]]
                row += value["score_offsets"]
                row += value["score_predictions"]
                before = self.panes.get(pane)  # type: ignore[arg-type]
                if before is not None and any(b > a for b, a in zip(before, row[:6], strict=False)):
                    self.decreases.append((pane, before, row))  # type: ignore[arg-type]
                self.panes[pane] = row  # type: ignore[index]

    def wait_for(
        self, wanted: Expected, healthy: Callable[[], None], timeout: float = 120.0
    ) -> None:
        """Poll until the panes and progress are the expected ones (or ``timeout``);
        ``healthy`` is called every few seconds and raises when the job failed."""
        deadline = time.monotonic() + timeout
        checked = time.monotonic()
        while time.monotonic() < deadline and not self.matches(wanted):
            self.poll()
            if time.monotonic() - checked > 5:
                healthy()
                checked = time.monotonic()

    def matches(self, wanted: Expected) -> bool:
        return self.panes == wanted.panes and same_progress(self.progress, wanted.progress)

    def close(self) -> None:
        self.consumer.close()


def same_progress(got: dict[int, tuple[float, int]], want: dict[int, tuple[float, int]]) -> bool:
    return got.keys() == want.keys() and all(
        got[p][1] == want[p][1]
        and (got[p][0] == want[p][0] or (math.isnan(got[p][0]) and math.isnan(want[p][0])))
        for p in want
    )


def pane_differences(got: dict[PaneKey, list[int]], want: dict[PaneKey, list[int]]) -> str:
    """An assertion message: the first panes that differ, missing or extra."""
    missing = {key: value for key, value in want.items() if got.get(key) != value}
    extra = [key for key in got if key not in want]
    cells = {
        key: [
            (column, found, wanted)
            for column, (found, wanted) in enumerate(zip(got[key], value, strict=False))
            if found != wanted
        ]
        for key, value in list(missing.items())[:5]
        if key in got
    }
    return (
        f"{len(missing)} panes differ or are missing, e.g. {list(missing)[:5]}; "
        f"(column, got, want): {cells}; {len(extra)} not expected, e.g. {extra[:3]}"
    )


def read_dead_letters(bootstrap: str, topic: str) -> Counter[tuple[str, int, int, str]]:
    letters: Counter[tuple[str, int, int, str]] = Counter()
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
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
    return letters
