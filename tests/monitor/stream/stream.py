"""A realistic multi-partition stream for the end-to-end fault suite.

Two days of predictions from two models, spread over three partitions by prediction id and in
event-time order within each partition; labels delayed by up to three days and produced in the
order they arrive (a few of them before their prediction); at-least-once duplicates of both; and
bad messages of several kinds, each with the dead-letter reason the daemon must give it
(docs/events.md).

:func:`make_stream` builds it (pure, seeded); :func:`send` produces messages to the partition
each names, in the order given. ``Stream.predictions`` and ``Stream.labels`` hold every valid
event once, in the form :func:`tests.monitor.stream.reference.reference_counts` reads.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson

PARTITIONS = 3
PREDICTIONS = "predictions"  # topic roles; the tests map them to their topics' names
LABELS = "labels"
THRESHOLDS = {"credit": 0.5, "fraud": 0.4}  # as in tests.monitor.stream.conftest.daemon_config
MODELS = (("credit", 0.6), ("fraud", 0.4))
SEXES = (("Female", 0.5), ("Male", 0.5))
# "Indigenous" is the small group: about one prediction an hour per model
RACES = (
    ("White", 0.55),
    ("Black", 0.18),
    ("Hispanic", 0.14),
    ("Asian", 0.11),
    ("Indigenous", 0.02),
)
HOUR = 3600.0
LABEL_DELAY = 72 * HOUR
DUPLICATE_WITHIN = 60.0  # an at-least-once retry comes this soon after the original
EARLY_BY = 300.0  # an early label arrives up to this long before its prediction


@dataclass(frozen=True)
class Message:
    """One Kafka message: topic role, explicit partition, key, value, and when it arrives (in
    event-time seconds; messages are produced in this order)."""

    topic: str
    partition: int
    key: bytes
    value: bytes
    arrival: float


@dataclass(frozen=True)
class BadMessage:
    """A message the daemon must reject, and the reason it must give."""

    topic: str
    reason: str
    value: bytes


@dataclass
class Stream:
    predictions: list[dict[str, Any]]  # each valid prediction once (timestamps in seconds)
    labels: list[dict[str, Any]]  # each valid label once
    messages: list[Message]  # everything, in production order
    bad: list[BadMessage]
    duplicate_predictions: int = 0
    duplicate_labels: int = 0
    early_labels: int = 0
    start: float = 0.0  # event time of the first possible prediction

    def select(self, partitions: Iterable[int]) -> list[Message]:
        """The messages of some partitions (both topics), in production order."""
        chosen = set(partitions)
        return [message for message in self.messages if message.partition in chosen]


def _pick(rng: random.Random, choices: Sequence[tuple[str, float]]) -> str:
    names, weights = zip(*choices, strict=True)
    return rng.choices(names, weights)[0]


def partition_of(prediction_id: str) -> int:
    """The partition of a prediction and its labels (a stable hash of the key)."""
    return zlib.crc32(prediction_id.encode()) % PARTITIONS


def _wire_time(rng: random.Random, milliseconds: int) -> Any:
    """Event time in one of the contract's three forms."""
    form = rng.random()
    if form < 0.6:
        return milliseconds / 1000.0
    if form < 0.8:
        return milliseconds
    offset = timezone(timedelta(hours=rng.choice([0, 2, -5])))
    moment = datetime.fromtimestamp(milliseconds / 1000.0, UTC).astimezone(offset)
    text = moment.isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z") if rng.random() < 0.5 else text


def _bad_predictions(rng: random.Random, start: float) -> list[tuple[str, bytes]]:
    def event(number: int, **changes: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "prediction_id": f"bad-{number}-{rng.randrange(10**9)}",
            "model_id": "credit",
            "timestamp": start + rng.random() * 48 * HOUR,
            "score": 0.42,
            "sensitive": {"sex": "Female", "race": "Black"},
        }
        body.update(changes)
        return {key: value for key, value in body.items() if value is not None}

    out: list[tuple[str, bytes]] = []
    for copy in range(2):
        truncated = orjson.dumps(event(copy))[:-17]
        valid = orjson.dumps(event(copy, sensitive={"sex": "Female", "race": "Black@"}))
        not_utf8 = valid.replace(b"Black@", b"Black\xff")  # an invalid byte inside a string
        deep = (b'{"a":' * 3000) + str(copy).encode() + b"}" * 3000  # an object 3,000 deep
        out += [
            ("invalid_json", truncated),
            ("invalid_json", not_utf8),
            ("invalid_json", deep),
            ("unknown_model", orjson.dumps(event(copy, model_id="churn"))),
            ("missing_attribute", orjson.dumps(event(copy, sensitive={"sex": "Male"}))),
            ("score_out_of_range", orjson.dumps(event(copy, score=1.7))),
            ("missing_field", orjson.dumps(event(copy, timestamp=None))),
        ]
    return out


def _bad_labels(rng: random.Random) -> list[tuple[str, bytes]]:
    number = rng.randrange(10**9)
    return [
        ("invalid_json", b'{"prediction_id": "bad-label-%d", "label": ' % number),
        ("invalid_json", b'{"prediction_id": "bad-\xfe-%d", "label": 1}' % number),
        ("label_not_binary", b'{"prediction_id": "bad-label-%d", "label": 2}' % number),
        ("missing_field", b'{"prediction_id": "bad-label-%d"}' % (number + 1)),
    ]


def make_stream(
    count: int = 6000,
    seed: int = 11,
    start: float = 1_704_067_200.0,  # 2024-01-01T00:00:00Z
    hours: float = 48.0,
    label_share: float = 0.85,
    early_share: float = 0.03,
    duplicate_share: float = 0.015,
) -> Stream:
    """``count`` predictions over ``hours`` of event time, their labels, duplicates, bad ones."""
    rng = random.Random(seed)
    span_ms = int(hours * HOUR * 1000)
    times = sorted(int(start * 1000) + rng.randrange(span_ms) for _ in range(count))
    predictions: list[dict[str, Any]] = []
    labels: list[dict[str, Any]] = []
    messages: list[tuple[float, int, int, Message]] = []  # (arrival, kind, creation, message)
    stream = Stream(predictions, labels, [], [], start=start)

    def emit(topic: str, partition: int, key: str, value: bytes, arrival: float) -> None:
        # at the same instant a prediction goes before a label; otherwise the order of creation
        kind = 0 if topic == PREDICTIONS else 1
        message = Message(topic, partition, key.encode(), value, arrival)
        messages.append((arrival, kind, len(messages), message))

    for index, milliseconds in enumerate(times):
        prediction_id = f"{int(start)}-{index:06d}"  # time-ordered ids, as docs/daemon.md advises
        partition = partition_of(prediction_id)
        model = _pick(rng, MODELS)
        sex = _pick(rng, SEXES)
        race = _pick(rng, RACES)
        # a biased model: lower scores for women and for two of the groups
        score = rng.betavariate(2.2, 2.0) * (0.85 if sex == "Female" else 1.0)
        score *= 0.9 if race in ("Black", "Indigenous") else 1.0
        reference: dict[str, Any] = {
            "prediction_id": prediction_id,
            "model_id": model,
            "timestamp": milliseconds / 1000.0,
            "sensitive": {"sex": sex, "race": race},
        }
        form = rng.random()
        if form < 0.75:
            reference["score"] = round(score, 6)
        elif form < 0.9:  # a decision overriding the threshold now and then, score kept
            reference["score"] = round(score, 6)
            reference["prediction"] = int(score >= THRESHOLDS[model]) ^ int(rng.random() < 0.1)
        else:
            reference["prediction"] = int(score >= THRESHOLDS[model])
        truth = int(rng.random() < 0.15 + 0.7 * score)
        inline = rng.random() < 0.02  # the outcome was known at once
        if inline:
            reference["label"] = truth
        wire = {**reference, "timestamp": _wire_time(rng, milliseconds)}
        if "prediction" in wire and rng.random() < 0.3:
            wire["prediction"] = bool(wire["prediction"])
        if rng.random() < 0.2:
            wire["request"] = {"channel": rng.choice(["web", "branch", "phone"]), "v": 3}
        value = orjson.dumps(wire)
        time = milliseconds / 1000.0
        predictions.append(reference)
        emit(PREDICTIONS, partition, prediction_id, value, time)
        if rng.random() < duplicate_share:
            emit(
                PREDICTIONS,
                partition,
                prediction_id,
                value,
                time + rng.uniform(0.5, DUPLICATE_WITHIN),
            )
            stream.duplicate_predictions += 1
        if inline or rng.random() >= label_share:
            continue
        if rng.random() < early_share:
            arrival = time - rng.uniform(1.0, EARLY_BY)
            stream.early_labels += 1
        else:
            arrival = time + rng.uniform(1.0, LABEL_DELAY)
        label: dict[str, Any] = {"prediction_id": prediction_id, "label": truth}
        labels.append(dict(label))
        if rng.random() < 0.1:
            label["label"] = bool(truth)
        if rng.random() < 0.7:
            label["timestamp"] = _wire_time(rng, int(arrival * 1000))
        label_value = orjson.dumps(label)
        emit(LABELS, partition, prediction_id, label_value, arrival)
        if rng.random() < duplicate_share:
            emit(
                LABELS,
                partition,
                prediction_id,
                label_value,
                arrival + rng.uniform(0.5, DUPLICATE_WITHIN),
            )
            stream.duplicate_labels += 1

    end = start + hours * HOUR
    for topic, bad in [(PREDICTIONS, _bad_predictions(rng, start)), (LABELS, _bad_labels(rng))]:
        for reason, value in bad:
            stream.bad.append(BadMessage(topic, reason, value))
            emit(topic, rng.randrange(PARTITIONS), "bad", value, rng.uniform(start, end))
    messages.sort(key=lambda item: item[:3])
    stream.messages = [item[3] for item in messages]
    return stream


def send(bootstrap: str, topics: Mapping[str, str], messages: Sequence[Message]) -> int:
    """Produce ``messages`` to their partitions of ``topics`` (role → name), in order.

    One request in flight per connection, so that a retried request cannot overtake the next
    one and reorder a partition. Returns how many were sent.
    """
    from kafka import KafkaProducer

    producer = KafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        linger_ms=20,
        batch_size=256 * 1024,
        max_request_size=8 * 1024 * 1024,
        max_in_flight_requests_per_connection=1,
        retries=10,
    )
    try:
        for message in messages:
            producer.send(
                topics[message.topic],
                value=message.value,
                key=message.key,
                partition=message.partition,
            )
        producer.flush(timeout=60)
    finally:
        producer.close(timeout=10)
    return len(messages)
