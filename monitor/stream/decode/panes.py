"""Records of the pane topic (``kafka.mode: pane_counts``): pane counts and event-time progress
written by a counting tier (the Flink job of ``fairwatch flink render``), decoded.

The topic's format is in docs/scaling.md ("The pane topic"). Keys and values are JSON text; the
latest value of a key is the current one:

- a **pane count**: key ``{"attribute", "group_name", "model_id", "pane_seconds",
  "pane_start"}``, value the fields of a :class:`monitor.engine.counts.GroupCounts` (``n``,
  ``predicted_positive``, ``tp``, ``fp``, ``tn``, ``fn``, ``score_histogram``,
  ``score_offsets``, ``score_predictions``);
- the **progress** of a partition of the predictions topic: key ``{"partition", "progress"}``,
  value ``event_time`` (absent before the first prediction counted from it) and ``offset``.

A record that is neither (or whose histogram has another number of bins than
``engine.score_bins``) is an :class:`InvalidEvent` with reason ``invalid_pane``: dead-lettered
like a bad event, never raised.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from monitor.engine.counts import BASE_WIDTH, row_width
from monitor.engine.counts.layout import (
    NEGATIVES_BLOCK,
    OFFSETS_BLOCK,
    POSITIVES_BLOCK,
    PREDICTIONS_BLOCK,
    block,
)
from monitor.stream.decode.reasons import InvalidEvent, Reason
from monitor.stream.decode.records import Record

COUNT_KEYS = ("n", "predicted_positive", "tp", "fp", "tn", "fn")
PANE_KEYS = ("attribute", "group_name", "model_id", "pane_seconds", "pane_start")


@dataclass(frozen=True)
class PaneValue:
    """The current counts of one group in one pane (a counts row of the engine's layout)."""

    model_id: str
    pane_seconds: float
    pane_start: float
    attribute: str
    group: str
    row: np.ndarray


@dataclass(frozen=True)
class Progress:
    """How far the counting tier has counted one partition of the predictions topic."""

    partition: int
    event_time: float | None  # the largest event time counted from it (None: none yet)
    offset: int  # the last offset read from it


@dataclass
class PaneBatch:
    """Pane counts and progress records of one poll, in topic order per partition."""

    values: list[PaneValue] = field(default_factory=list)
    progress: list[Progress] = field(default_factory=list)


class _Invalid(Exception):
    pass


def decode_panes(
    records: Sequence[Record], score_bins: int, predictions_topic: str
) -> tuple[PaneBatch, list[InvalidEvent]]:
    """Decode pane-topic records (pure): the pane counts and progress, and the records refused."""
    batch = PaneBatch()
    rejected: list[InvalidEvent] = []
    for record in records:
        try:
            decoded = _decode(record, score_bins, predictions_topic)
        except _Invalid as problem:
            rejected.append(InvalidEvent(record, Reason.INVALID_PANE, str(problem)))
            continue
        if isinstance(decoded, Progress):
            batch.progress.append(decoded)
        else:
            batch.values.append(decoded)
    return batch, rejected


def _decode(record: Record, score_bins: int, predictions_topic: str) -> PaneValue | Progress:
    key = _object(record.key, "key")
    if record.value is None:
        raise _Invalid("a tombstone: pane counts and progress are never deleted")
    value = _object(record.value, "value")
    if "progress" in key:
        if key["progress"] != predictions_topic:
            raise _Invalid(
                f"progress of topic {key['progress']!r}, kafka.predictions_topic is "
                f"{predictions_topic!r}"
            )
        event_time = value.get("event_time")
        if event_time is not None and not _is_finite_number(event_time):
            raise _Invalid("event_time: expected a number")
        return Progress(
            _integer(key, "partition"),
            None if event_time is None else float(event_time),
            _integer(value, "offset"),
        )
    missing = [name for name in PANE_KEYS if name not in key]
    if missing:
        raise _Invalid(f"key: neither a pane nor a progress key (missing {', '.join(missing)})")
    for name in ("attribute", "group_name", "model_id"):
        if not isinstance(key[name], str):
            raise _Invalid(f"key.{name}: expected a string")
    for name in ("pane_seconds", "pane_start"):
        if not _is_finite_number(key[name]):
            raise _Invalid(f"key.{name}: expected a number")
    if not key["pane_seconds"] > 0:
        raise _Invalid("key.pane_seconds: expected a positive number")
    return PaneValue(
        key["model_id"],
        float(key["pane_seconds"]),
        float(key["pane_start"]),
        key["attribute"],
        key["group_name"],
        _row(value, score_bins),
    )


def _row(value: dict[str, Any], score_bins: int) -> np.ndarray:
    row = np.zeros(row_width(score_bins), dtype=np.int64)
    row[:BASE_WIDTH] = [_integer(value, name) for name in COUNT_KEYS]
    if (row[:BASE_WIDTH] < 0).any():
        raise _Invalid("a negative count")
    histogram = value.get("score_histogram")
    if histogram is None or not score_bins:
        return row
    if not (isinstance(histogram, list) and len(histogram) == 2):
        raise _Invalid("score_histogram: expected two lists (label 0, label 1)")
    cells = {
        NEGATIVES_BLOCK: histogram[0],
        POSITIVES_BLOCK: histogram[1],
        OFFSETS_BLOCK: value.get("score_offsets"),
        PREDICTIONS_BLOCK: value.get("score_predictions"),
    }
    for which, values in cells.items():
        if values is None:
            continue  # a job rendered before the block existed: read as zeros
        if not isinstance(values, list) or len(values) != score_bins:
            raise _Invalid(
                f"score histogram of {len(values) if isinstance(values, list) else '?'} bins, "
                f"engine.score_bins is {score_bins}: render the job again from this "
                "configuration"
            )
        if not all(type(cell) is int for cell in values):
            raise _Invalid("score histogram: expected integers")
        row[block(score_bins, which)] = values
    offsets = block(score_bins, OFFSETS_BLOCK)
    if (row[: offsets.start] < 0).any() or (row[offsets.stop :] < 0).any():
        raise _Invalid("a negative count")
    return row


def _object(data: bytes | None, what: str) -> dict[str, Any]:
    if data is None:
        raise _Invalid(f"no {what}")
    try:
        parsed = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise _Invalid(f"{what}: not JSON") from None
    if not isinstance(parsed, dict):
        raise _Invalid(f"{what}: expected a JSON object")
    return parsed


def _integer(mapping: dict[str, Any], name: str) -> int:
    value = mapping.get(name)
    if type(value) is not int:
        raise _Invalid(f"{name}: expected an integer")
    return value


def _is_finite_number(value: object) -> bool:
    return type(value) in (int, float) and math.isfinite(float(value))  # type: ignore[arg-type]
