"""A deliberately naive batch computation of window counts, the reference for the pipeline."""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import orjson

from monitor.config import WindowSpec
from monitor.engine.results import WindowEvaluation
from monitor.stream.decode import Record

Counts = dict[tuple[str, str, float, str, str], tuple[int, int, int, int, int, int]]


def make_events(
    count: int,
    seed: int = 7,
    start: float = 1_700_000_000.0,
    spacing: float = 7.0,
    label_share: float = 0.7,
    models: Sequence[str] = ("credit",),
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Predictions over two attributes (2 × 4 values) with a bias, and labels for a share."""
    rng = random.Random(seed)
    predictions, labels = [], []
    for index in range(count):
        sex = rng.choice(["Female", "Male"])
        race = rng.choice(["Asian", "Black", "Hispanic", "White"])
        score = rng.random() * (0.8 if sex == "Female" else 1.0)
        event = {
            "prediction_id": f"p-{seed}-{index}",
            "model_id": models[index % len(models)],
            "timestamp": start + index * spacing + rng.random(),
            "score": score,
            "sensitive": {"sex": sex, "race": race},
        }
        predictions.append(event)
        if rng.random() < label_share:
            labels.append(
                {"prediction_id": event["prediction_id"], "label": int(rng.random() < 0.5)}
            )
    return predictions, labels


def records(
    topic: str,
    events: Iterable[dict[str, Any] | bytes],
    partitions: int = 1,
    first_offset: Sequence[int] | None = None,
) -> list[Record]:
    """Kafka-like records, keyed by prediction id, spread over partitions by a stable hash."""
    offsets = list(first_offset) if first_offset else [0] * partitions
    out = []
    for event in events:
        value = event if isinstance(event, bytes) else orjson.dumps(event)
        key = event["prediction_id"] if isinstance(event, dict) else "bad"
        partition = sum(key.encode()) % partitions
        out.append(Record(topic, partition, offsets[partition], key.encode(), value))
        offsets[partition] += 1
    return out


def reference_counts(
    predictions: Sequence[dict[str, Any]],
    labels: Sequence[dict[str, Any]],
    specs: Sequence[WindowSpec],
    intersections: bool = True,
    thresholds: dict[str, float] | None = None,
) -> Counts:
    """(spec, model, window start, attribute, group) → (n, predicted positive, tp, fp, tn, fn)."""
    thresholds = thresholds or {}
    first: dict[str, dict[str, Any]] = {}
    for event in predictions:
        first.setdefault(event["prediction_id"], event)
    label_of: dict[str, int] = {}
    for label in labels:
        label_of.setdefault(label["prediction_id"], int(label["label"]))
    totals: dict[tuple[str, str, float, str, str], list[int]] = defaultdict(lambda: [0] * 6)
    for key, event in first.items():
        decision = event.get("prediction")
        if decision is None:
            decision = int(event["score"] >= thresholds.get(event["model_id"], 0.5))
        label = event.get("label")
        if label is None:
            label = label_of.get(key, -1)
        groups = [(name, value) for name, value in event["sensitive"].items()]
        if intersections:
            names = sorted(event["sensitive"])
            groups.append(("&".join(names), "&".join(event["sensitive"][n] for n in names)))
        for spec in specs:
            steps = round(spec.size / spec.step)
            last = math.floor(event["timestamp"] / spec.step) * spec.step
            for back in range(steps):
                window_start = last - back * spec.step
                for attribute, group in groups:
                    cell = totals[(spec.name, event["model_id"], window_start, attribute, group)]
                    cell[0] += 1
                    cell[1] += decision
                    if label >= 0:
                        cell[
                            2 + {(1, 1): 0, (1, 0): 1, (0, 0): 2, (0, 1): 3}[(decision, label)]
                        ] += 1
    return {key: tuple(value) for key, value in totals.items()}  # type: ignore[misc]


def evaluation_counts(evaluations: Iterable[WindowEvaluation]) -> Counts:
    """The same shape from evaluations (the latest evaluation of each window wins)."""
    latest: dict[tuple[str, str, float], WindowEvaluation] = {}
    for evaluation in evaluations:
        latest[(evaluation.window, evaluation.model_id, evaluation.window_start)] = evaluation
    out: Counts = {}
    for (window, model, start), evaluation in latest.items():
        for group in evaluation.groups:
            out[(window, model, start, group.attribute, group.group)] = (
                group.n,
                group.predicted_positive,
                group.tp,
                group.fp,
                group.tn,
                group.fn,
            )
    return out


class Collector:
    """An evaluation listener keeping everything it was handed."""

    def __init__(self) -> None:
        self.evaluations: list[WindowEvaluation] = []

    def on_evaluations(
        self, evaluations: Sequence[WindowEvaluation], now: float, watermark: float
    ) -> None:
        self.evaluations.extend(evaluations)
