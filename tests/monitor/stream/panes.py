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


PaneKey = tuple[str, float, float, str, str]  # (model, pane size, pane start, attribute, group)


def pane_rows(pipeline: Pipeline) -> dict[PaneKey, list[int]]:
    """The pipeline's panes as the pane topic keys them: a row per group counted, summed over
    the input partitions, once per pane size (specifications of one step share panes)."""
    step_of: dict[str, float] = {}
    for spec in pipeline.counts.specs:
        if float(spec.step) not in step_of.values():
            step_of[spec.name] = float(spec.step)
    rows: dict[PaneKey, list[int]] = {}
    for key in pipeline.panes:
        spec_name, model, start, _partition = key
        if spec_name not in step_of:
            continue
        matrix = pipeline.panes.matrix(key)
        assert matrix is not None
        groups = pipeline.counts.group_indexes[model].keys
        for row, (attribute, group) in enumerate(groups[: matrix.shape[0]]):
            if not matrix[row].any():
                continue
            pane = (model, step_of[spec_name], start, attribute, group)
            values = matrix[row].tolist()
            before = rows.get(pane)
            rows[pane] = (
                values if before is None else [a + b for a, b in zip(before, values, strict=True)]
            )
    return rows


def pane_values(pipeline: Pipeline) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(key, value) of every non-empty group of every pane the pipeline counted, as a job
    writes them to the pane topic."""
    out = []
    for (model, step, start, attribute, group), row in sorted(pane_rows(pipeline).items()):
        group_counts = GroupCounts.from_row(np.asarray(row, dtype=np.int64))
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
