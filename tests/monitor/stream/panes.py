"""A counting tier in memory: the pane topic a Flink job would write for what an events-mode
pipeline counted (docs/scaling.md, "The pane topic"), as records of that topic."""

from __future__ import annotations

import json
import zlib
from typing import Any

import numpy as np

from monitor.engine.counts import GroupCounts
from monitor.stream.decode import Record
from monitor.stream.pipeline import Pipeline

PANE_TOPIC = "fairwatch-pane-counts"


def dumps(value: dict[str, Any]) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def pane_values(pipeline: Pipeline) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(key, value) of every non-empty group of every pane the pipeline counted, its input
    partitions merged, once per pane size (specifications of one step share panes)."""
    counts = pipeline.counts
    first_of_step: dict[float, str] = {}
    for spec in counts.specs:
        first_of_step.setdefault(float(spec.step), spec.name)
    steps = {name: step for step, name in first_of_step.items()}
    merged: dict[tuple[str, float, float], np.ndarray] = {}
    for key in counts.panes:
        spec_name, model, start, _partition = key
        if spec_name not in steps:
            continue
        matrix = counts.panes.matrix(key)
        assert matrix is not None
        pane = (model, steps[spec_name], start)
        total = merged.get(pane)
        if total is None:
            merged[pane] = matrix.copy()
            continue
        if total.shape[0] < matrix.shape[0]:
            grown = np.zeros_like(matrix)
            grown[: total.shape[0]] = total
            total = merged[pane] = grown
        total[: matrix.shape[0]] += matrix
    out = []
    for (model, step, start), matrix in sorted(merged.items()):
        for row, (attribute, group) in enumerate(counts.group_indexes[model].keys):
            if row >= matrix.shape[0] or not matrix[row].any():
                continue
            group_counts = GroupCounts.from_row(matrix[row])
            value: dict[str, Any] = {
                "n": group_counts.n,
                "predicted_positive": group_counts.predicted_positive,
                "tp": group_counts.tp,
                "fp": group_counts.fp,
                "tn": group_counts.tn,
                "fn": group_counts.fn,
            }
            if group_counts.score_histogram is not None:
                value["score_histogram"] = [list(cells) for cells in group_counts.score_histogram]
                value["score_offsets"] = list(group_counts.score_offsets or ())
                value["score_predictions"] = list(group_counts.score_predictions or ())
            key = {
                "attribute": attribute,
                "group_name": group,
                "model_id": model,
                "pane_seconds": step,
                "pane_start": start,
            }
            out.append((key, value))
    return out


def progress_values(pipeline: Pipeline) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(key, value) of the progress of every predictions partition the pipeline read."""
    topic = pipeline.config.kafka.predictions_topic
    out = []
    for (name, partition), position in sorted(pipeline.positions.items()):
        if name != topic:
            continue
        value: dict[str, Any] = {"offset": position - 1}
        if partition in pipeline.watermark.progress:
            value["event_time"] = pipeline.watermark.progress[partition]
        out.append(({"partition": partition, "progress": topic}, value))
    return out


class PaneTopicWriter:
    """Appends (key, value) pairs to a pane topic of ``partitions`` partitions, each key always
    to the same partition (by a hash, as Kafka's producer does), with increasing offsets."""

    def __init__(self, topic: str = PANE_TOPIC, partitions: int = 2) -> None:
        self.topic = topic
        self.partitions = partitions
        self.offsets = [0] * partitions

    def records(self, pairs: list[tuple[dict[str, Any], dict[str, Any] | None]]) -> list[Record]:
        out = []
        for key, value in pairs:
            data = dumps(key)
            partition = zlib.crc32(data) % self.partitions
            out.append(
                Record(
                    self.topic,
                    partition,
                    self.offsets[partition],
                    data,
                    None if value is None else dumps(value),
                )
            )
            self.offsets[partition] += 1
        return out
