"""The in-process pipeline on the records a Flink job read: the reference of the contract test.

:func:`run_pipeline` feeds the records to a :class:`monitor.stream.pipeline.Pipeline` one at a
time, in the order they were produced (the order of each partition, as a consumer reads them,
and the processing order in which the first prediction and the first label of an id win), and
gives its verdict on each record and its pane counts in the pane topic's layout
(:mod:`fairwatch.flink.panes`): keyed by pane size rather than by window specification, summed
over input partitions, a row per group that was counted.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from monitor.config import MonitorConfig
from monitor.stream.decode import Record
from monitor.stream.pipeline import Pipeline
from monitor.stream.state import StateStore
from tests.fairwatch.flink.integration.streams import Expected, PaneKey, expected
from tests.monitor.stream.panes import pane_rows

Position = tuple[str, int, int]  # (topic, partition, offset)


@dataclass
class Reference:
    """The pipeline's dead-letter reason for each rejected record, and its counts."""

    reasons: dict[Position, str]
    panes: dict[PaneKey, list[int]]
    progress: dict[int, tuple[float, int]]


def run_pipeline(config: MonitorConfig, records: Sequence[Record], state_dir: Path) -> Reference:
    pipeline = Pipeline(config, StateStore(state_dir))
    try:
        pipeline.own_partitions({(record.topic, record.partition) for record in records})
        pipeline.tick(time.time(), {})  # the wall clock, for future_timestamp
        reasons: dict[Position, str] = {}
        for record in records:
            for error in pipeline.process([record]):
                where = (error.record.topic, error.record.partition, error.record.offset)
                assert where not in reasons, where
                reasons[where] = error.reason
        offsets: dict[int, int] = {}
        for record in records:
            if record.topic == config.kafka.predictions_topic:
                offsets[record.partition] = max(offsets.get(record.partition, -1), record.offset)
        progress = pipeline.watermark.progress
        return Reference(
            reasons,
            pane_rows(pipeline),
            {p: (progress.get(p, math.nan), offset) for p, offset in offsets.items()},
        )
    finally:
        pipeline.close()


def adjusted(
    reference: Reference,
    config: MonitorConfig,
    add: Sequence[Record],
    remove: Sequence[Record],
) -> Expected:
    """The reference's panes and progress with the counts of ``add`` (predictions Flink counts
    and the pipeline does not, each read by the decoder) added and those of ``remove`` (counted
    by the pipeline only) taken away. Their event times stay below their partitions' largest,
    so that the progress only moves for ``add``."""
    panes = {key: list(row) for key, row in reference.panes.items()}
    progress = dict(reference.progress)
    labels = config.kafka.labels_topic
    for records, sign in ((add, 1), (remove, -1)):
        if not records:
            continue
        topic = config.kafka.predictions_topic
        counted = expected(config, {topic: list(records), labels: []})
        for key, row in counted.panes.items():
            before = panes.get(key, [0] * len(row))
            panes[key] = [a + sign * b for a, b in zip(before, row, strict=True)]
            if not any(panes[key]):
                del panes[key]
        if sign == 1:
            for partition, (stamp, _offset) in counted.progress.items():
                current, offset = progress[partition]
                progress[partition] = (
                    stamp if math.isnan(current) else max(current, stamp),
                    offset,
                )
    return Expected(panes, progress)
