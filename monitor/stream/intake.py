"""Decoded events into the window counts: deduplicated, refused by event time, joined, counted.

A prediction is counted once (the first with its ``prediction_id`` wins) in every window of every
specification containing its event time, unless it is older than the state still holds
(``too_late``: before the watermark minus ``label_horizon``) or further ahead of the wall clock
than ``pipeline.max_clock_skew`` (``future_timestamp``); those are refused, for the caller to
dead-letter. It then waits in the pending store for its label. A label adds the confusion counts
of its prediction to the windows the prediction was counted in; one that comes first waits for
its prediction (docs/events.md, "How events are joined and counted").
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from monitor.stream.counters import (
    EVENTS_DUPLICATE,
    EVENTS_LATE,
    LABELS_JOINED,
    LABELS_ORPHANED,
    PipelineCounters,
)
from monitor.stream.counting import WindowCounts, split_by_model
from monitor.stream.decode import (
    DecodedBatch,
    InvalidEvent,
    Labels,
    Predictions,
    Reason,
    Record,
)
from monitor.stream.join import PendingStore
from monitor.stream.window import Watermark


def first_occurrences(ids: Sequence[str]) -> np.ndarray:
    """The position of the first occurrence of each id, in order."""
    seen: dict[str, int] = {}
    for position, key in enumerate(ids):
        seen.setdefault(key, position)
    return np.fromiter(seen.values(), dtype=np.int64, count=len(seen))


class Intake:
    """Adds decoded predictions and labels to ``counts``, joining them through ``pending``.

    ``watermark`` gives event time (and the wall clock it was last told); ``counters`` are the
    pipeline's, which the intake updates (duplicates, joins, late predictions, orphans).
    """

    def __init__(
        self,
        counts: WindowCounts,
        pending: PendingStore,
        watermark: Watermark,
        counters: PipelineCounters,
        *,
        label_horizon: float,
        max_clock_skew: float,
    ) -> None:
        self.counts = counts
        self.pending = pending
        self.watermark = watermark
        self.counters = counters
        self.label_horizon = label_horizon
        self.max_clock_skew = max_clock_skew

    def retention_floor(self) -> float:
        """Event time before which panes are retired: a prediction older than this cannot be
        counted any more (the label horizon past the watermark)."""
        return self.watermark.value - self.label_horizon

    def add_predictions(self, events: Predictions) -> dict[Reason, np.ndarray]:
        """Count new predictions; returns the rows refused, by reason, which the caller
        dead-letters (:meth:`refused`): ``too_late`` (before the retention floor) and
        ``future_timestamp`` (further ahead of the wall clock than ``max_clock_skew``)."""
        counts = self.counts
        ids = events.prediction_id
        keep = first_occurrences(ids)
        known = self.pending.known(ids if len(keep) == len(ids) else [ids[i] for i in keep])
        if known:
            keep = np.fromiter((i for i in keep.tolist() if ids[i] not in known), dtype=np.int64)
        self.counters.inc(EVENTS_DUPLICATE, len(ids) - len(keep), kind="prediction")
        refused: dict[Reason, np.ndarray] = {}
        if len(keep):
            stamps = events.timestamp[keep]
            old = stamps < self.retention_floor()
            ahead = stamps > self.watermark.now + self.max_clock_skew
            for reason, rows in ((Reason.TOO_LATE, old), (Reason.FUTURE_TIMESTAMP, ahead & ~old)):
                if rows.any():
                    refused[reason] = keep[rows]
            if refused:
                keep = keep[~(old | ahead)]
        if not len(keep):
            return refused
        everything = len(keep) == len(ids)
        timestamps = events.timestamp[keep]
        decisions = events.prediction[keep]
        scores = events.score[keep]
        labels = events.label[keep]
        partitions = events.partition[keep]
        kept_ids = ids if everything else [ids[index] for index in keep.tolist()]
        early = self.pending.take_early_labels(kept_ids)
        if early:
            labels = labels.copy()
            applied = 0
            for position, key in enumerate(kept_ids):
                found = early.get(key)
                if found is not None and labels[position] < 0:
                    labels[position] = found
                    applied += 1
            self.counters.inc(LABELS_JOINED, applied)
            self.counters.inc(EVENTS_DUPLICATE, len(early) - applied, kind="label")  # had its label
        # Every prediction is counted in every specification: one whose windows have closed
        # revises them (it is *late*; the alert rules judged them already).
        for spec in counts.specs:
            late = int(self.watermark.late(spec, timestamps).sum())
            if late:
                self.counters.inc(EVENTS_LATE, late, window=spec.name)
        # (the mask of specifications still goes to the join store: a prediction stored by an
        # earlier version may be counted in only some, and its label must update only those)
        specs = np.full(len(keep), (1 << len(counts.specs)) - 1, dtype=np.int64)
        self.watermark.advance(timestamps, partitions)
        keep_list = keep.tolist()
        models = events.model_id if everything else [events.model_id[i] for i in keep_list]
        groups = np.zeros((len(keep), len(counts.columns)), dtype=np.int32)
        for model, rows in split_by_model(models, np.arange(len(keep))).items():
            row_list = rows.tolist()
            columns = {}
            for name in counts.attributes:
                values = events.sensitive[name]
                if not everything:
                    values = [values[i] for i in keep_list]
                columns[name] = (
                    values if len(row_list) == len(keep) else [values[row] for row in row_list]
                )
            groups[rows] = counts.group_rows(model, columns, len(row_list))
            counts.count(
                model,
                groups[rows],
                timestamps[rows],
                partitions[rows],
                decisions[rows],
                scores[rows],
                labels[rows],
                specs[rows],
                count_n=True,
            )
        self.pending.add_predictions(
            kept_ids, models, timestamps, partitions, groups, decisions, scores, labels, specs
        )
        return refused

    def add_labels(self, events: Labels) -> None:
        """Join labels to their predictions and count them; a label whose prediction has not
        come yet waits for it (and ends as an orphan if it never comes)."""
        ids = events.prediction_id
        keep = first_occurrences(ids).tolist()
        self.counters.inc(EVENTS_DUPLICATE, len(ids) - len(keep), kind="label")
        label_of = {ids[index]: events.label[index] for index in keep}
        found = self.pending.lookup(list(label_of))
        waiting = found.label < 0
        self.counters.inc(EVENTS_DUPLICATE, int((~waiting).sum()), kind="label")
        known = set(found.prediction_id)
        early = [(key, label) for key, label in label_of.items() if key not in known]
        if early:
            clock = self.watermark.event_time
            added = self.pending.hold_labels(early, clock if math.isfinite(clock) else None)
            self.counters.inc(EVENTS_DUPLICATE, len(early) - added, kind="label")
        # A prediction still stored but whose panes were retired cannot be revised any more.
        retired = waiting & (found.records["ts"] < self.retention_floor())
        if retired.any():
            self.pending.set_labels(
                [
                    (found.prediction_id[row], label_of[found.prediction_id[row]])
                    for row in np.flatnonzero(retired).tolist()
                ]
            )
            self.counters.inc(LABELS_ORPHANED, int(retired.sum()))
            waiting &= ~retired
        rows = np.flatnonzero(waiting)
        if not rows.size:
            return
        joined_ids = [found.prediction_id[row] for row in rows.tolist()]
        labels = np.asarray([label_of[key] for key in joined_ids], dtype=np.int64)
        self.pending.set_labels(list(zip(joined_ids, labels.tolist(), strict=True)))
        self.counters.inc(LABELS_JOINED, len(joined_ids))
        records = found.records[rows]
        models = [found.models[row] for row in rows.tolist()]
        for model, members in split_by_model(models, np.arange(len(models))).items():
            chosen = records[members]
            self.counts.count(
                model,
                chosen["groups"],
                chosen["ts"],
                chosen["partition"].astype(np.int64),
                chosen["prediction"].astype(np.int64),
                chosen["score"],
                labels[members],
                chosen["specs"].astype(np.int64),
                count_n=False,
            )

    def refused(
        self, batch: DecodedBatch, rows: np.ndarray, reason: Reason, predictions_topic: str
    ) -> list[InvalidEvent]:
        """The rejected events of the prediction ``rows`` of ``batch`` refused for ``reason``
        (by :meth:`add_predictions`), each with its original record when the batch has it."""
        records = batch.prediction_records
        floor = self.retention_floor()
        skew = self.max_clock_skew
        out = []
        for row in rows.tolist():
            stamp = float(batch.predictions.timestamp[row])
            detail = (
                f"event time {stamp:.3f} is before {floor:.3f}, the oldest event time still "
                "held (watermark minus label_horizon); its windows were retired"
                if reason == Reason.TOO_LATE
                else f"event time {stamp:.3f} is more than {skew:.0f}s (pipeline.max_clock_skew) "
                f"ahead of the clock ({self.watermark.now:.3f})"
            )
            record = (
                records.record(int(batch.predictions.position[row]))
                if records is not None
                else Record(
                    predictions_topic,
                    int(batch.predictions.partition[row]),
                    -1,
                    batch.predictions.prediction_id[row].encode(),
                    None,
                )
            )
            out.append(InvalidEvent(record, reason, detail))
        return out
