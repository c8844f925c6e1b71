"""Pane counts of a counting tier into the window counts (``kafka.mode: pane_counts``).

The Flink job of ``fairwatch flink render`` counts the events (decoding, deduplication, the label
join) and writes the current counts of every (model, pane, attribute or intersection, group) to
the pane topic, with the event-time progress of every partition of the predictions topic
(docs/scaling.md). The evaluator only sums panes into windows: each pane count read *replaces*
the row it names (the topic holds the latest value per key), so reading a record again — after a
restart, or the whole compacted topic from its beginning — changes nothing.

A progress value is applied only once the counts it covers are all in: the job writes counts and
progress in one Kafka transaction, whose records land in several partitions of the pane topic,
which are read independently. So a progress record read is held until every partition of the
pane topic has been read up to end offsets fetched *after* it was read (:meth:`PaneIntake.release`,
at each cycle, with the lag the source fetched then). Applied, it moves the partition's progress
in the :class:`monitor.stream.window.Watermark` (idleness and lateness as in-process) and records
the job's offset as the position of that predictions partition.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, MutableMapping, Sequence

import numpy as np

from monitor.config import WindowSpec
from monitor.stream.counters import PANES_IGNORED, PANES_UPDATED, PipelineCounters
from monitor.stream.counting import WindowCounts
from monitor.stream.decode.panes import PaneBatch, PaneValue, Progress
from monitor.stream.window import Watermark
from monitor.types import TopicPartition

logger = logging.getLogger(__name__)

#: A progress record read, and the end offsets of the pane topic it waits for (None: not yet
#: fetched since it was read).
Held = tuple[Progress, dict[TopicPartition, int] | None]


class PaneIntake:
    """Applies pane counts to ``counts`` and releases progress to ``watermark``.

    ``positions`` is the pipeline's (next offset per partition): the pane topic's partitions as
    read, and each predictions partition as far as the job has read it (its progress offset + 1).
    """

    def __init__(
        self,
        counts: WindowCounts,
        watermark: Watermark,
        counters: PipelineCounters,
        positions: MutableMapping[TopicPartition, int],
        *,
        label_horizon: float,
        predictions_topic: str,
        pane_topic: str,
        held: Sequence[Progress] = (),
    ) -> None:
        self.counts = counts
        self.watermark = watermark
        self.counters = counters
        self.positions = positions
        self.label_horizon = label_horizon
        self.predictions_topic = predictions_topic
        self.pane_topic = pane_topic
        self.specs_by_step: dict[float, list[WindowSpec]] = {}
        for spec in counts.specs:
            self.specs_by_step.setdefault(float(spec.step), []).append(spec)
        self.held: list[Held] = [(progress, None) for progress in held]
        self.pane_partitions: set[TopicPartition] = set()
        self._warned: set[str] = set()

    def add(self, batch: PaneBatch) -> None:
        """Apply the pane counts of ``batch`` and hold its progress records."""
        for value in batch.values:
            self._apply(value)
        self.held.extend((progress, None) for progress in batch.progress)

    def _apply(self, value: PaneValue) -> None:
        specs = self.specs_by_step.get(value.pane_seconds)
        if not specs:
            self._ignore("unknown_step", f"panes of {value.pane_seconds:g}s")
            return
        if value.attribute not in self.counts.columns:
            self._ignore("unknown_attribute", f"attribute {value.attribute!r}")
            return
        oldest_kept = self.watermark.value - self.label_horizon
        live = [spec for spec in specs if value.pane_start + spec.size >= oldest_kept]
        if not live:  # retired: as in-process, nothing counts into a retired pane
            self.counters.inc(PANES_IGNORED, reason="retired")
            return
        changed = self.counts.set_row(
            value.model_id, live, value.pane_start, value.attribute, value.group, value.row
        )
        if changed:
            self.counters.inc(PANES_UPDATED)

    def _ignore(self, reason: str, what: str) -> None:
        self.counters.inc(PANES_IGNORED, reason=reason)
        if reason not in self._warned:
            self._warned.add(reason)
            logger.warning(
                "event=pane_ignored reason=%s what=%s note=render_the_flink_job_again_from_"
                "this_configuration",
                reason,
                what.replace(" ", "_"),
            )

    def release(self, lag: Mapping[TopicPartition, int]) -> None:
        """Apply the held progress whose counts are all in. ``lag`` (records left per
        partition, fetched now, after every held record was read) gives the end offsets a
        progress read before now waits for; without the lag of every partition of the pane
        topic, nothing is released (the counts it covers could still be unread)."""
        ends = {
            key: self.positions.get(key, 0) + left
            for key, left in lag.items()
            if key[0] == self.pane_topic
        }
        known = bool(ends) and self.pane_partitions <= ends.keys()
        waiting: list[Held] = []
        ready: list[Progress] = []
        for progress, barrier in self.held:
            if barrier is None:
                if not known:
                    waiting.append((progress, None))
                    continue
                barrier = ends
            if all(self.positions.get(key, 0) >= end for key, end in barrier.items()):
                ready.append(progress)
            else:
                waiting.append((progress, barrier))
        self.held = waiting
        if ready:
            self._apply_progress(ready)

    def _apply_progress(self, ready: list[Progress]) -> None:
        """Move the job's offsets and the partitions' progress (every partition owned first:
        one not heard of before holds the event time back like the others)."""
        for progress in ready:
            key = (self.predictions_topic, progress.partition)
            self.positions[key] = max(self.positions.get(key, 0), progress.offset + 1)
        self.watermark.own(progress.partition for progress in ready)
        timed = [progress for progress in ready if progress.event_time is not None]
        if timed:
            self.watermark.advance(
                np.asarray([progress.event_time for progress in timed], dtype=np.float64),
                np.asarray([progress.partition for progress in timed], dtype=np.int64),
            )

    def held_progress(self) -> list[list[float | int | None]]:
        """The progress records not yet applied, for the checkpoint (applied after a restart
        once the pane topic is read past them again)."""
        return [
            [progress.partition, progress.event_time, progress.offset]
            for progress, _barrier in self.held
        ]


def restore_held(value: object) -> list[Progress]:
    """Inverse of :meth:`PaneIntake.held_progress` (from the checkpoint's meta)."""
    if not isinstance(value, list):
        return []
    return [
        Progress(int(partition), None if time is None else float(time), int(offset))
        for partition, time, offset in value
    ]
