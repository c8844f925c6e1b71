"""The pipeline core: records → decode → join → window counts → evaluated windows → listeners.

It knows nothing about Kafka: records come in as :class:`monitor.stream.events.Record` tuples from
any source (the Kafka consumer of :mod:`monitor.kafka.source`, or the
:class:`monitor.kafka.source.EmbeddedSource`
used by the demo and the tests), and the daemon (:mod:`monitor.stream.daemon`) drives it.

Public API::

    store = StateStore(config.state_dir)          # monitor.stream.state; one SQLite file
    pipeline = Pipeline(config, store, listeners=[sink, alert_manager])
    pipeline.positions                            # {(topic, partition): next offset}, restored
    rejected = pipeline.process(records)          # -> list[InvalidEvent] (bad input is data)
    rejected = pipeline.process_decoded(batch)    # a DecodedBatch from decode_batch(records)
                                                  # or decode_runs(runs from the consumer
                                                  # process), see monitor.kafka.consumer_process
    evaluations = pipeline.evaluate(now)          # evaluates the changed windows and hands
                                                  # them to every listener; returns them
    pipeline.confirm_written()                    # the sink wrote everything handed so far
    pipeline.checkpoint()                         # state + offsets in one transaction
    pipeline.samples()                            # CounterSamples (monitor.stream.counters)
    pipeline.close()

``process`` may be called any number of times between checkpoints; nothing is durable until
``checkpoint``. A window's evaluation is handed over again whenever its counts change (a late
label revises it); sinks overwrite the earlier points. Windows handed over but not yet confirmed
written are kept in the checkpoint and re-evaluated after a restart. ``now`` is only passed
through to listeners; every decision inside uses event time.

The simplest complete run, as the demo does it (see :mod:`fairwatch.app`)::

    from fairwatch.app import build_daemon
    daemon = build_daemon(config, source=EmbeddedSource(records), sink=EmbeddedSink(path),
                          health=False)           # dead letters: daemon.dead_letters.letters
    daemon.run(stop_when_idle=True)               # returns 0; closes the sink and the state

Records are ``Record(topic, partition, offset, key, value)`` with the configured topic names
(``kafka.predictions_topic`` / ``kafka.labels_topic``) and increasing offsets per partition.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from monitor.config import MonitorConfig, WindowSpec
from monitor.engine.counts import count_batch, row_width, widen
from monitor.engine.evaluate import EngineConfig, evaluate
from monitor.engine.groups import group_codes
from monitor.engine.results import WindowEvaluation
from monitor.stream.counters import PipelineCounters
from monitor.stream.events import (
    DecodeRules,
    InvalidEvent,
    Labels,
    Predictions,
    Record,
    RecordColumns,
    RecordRun,
    decode_labels,
    decode_predictions,
)
from monitor.stream.join import PendingStore
from monitor.stream.state import StateStore, TopicPartition
from monitor.stream.window import (
    GroupIndex,
    PaneCounts,
    Watermark,
    WindowKey,
    counts_by_group,
    windows_of_pane,
)
from monitor.types import CounterSample, EvaluationFilter, EvaluationListener

logger = logging.getLogger(__name__)


@dataclass
class DecodedBatch:
    """One batch of records, decoded: what the pipeline counts, and where the batch ends."""

    predictions: Predictions
    labels: Labels
    rejected: list[InvalidEvent]
    consumed: dict[str, int]  # records per topic
    positions: dict[TopicPartition, int]  # next offset per input partition
    # the prediction records decoded (``predictions.position`` indexes them)
    prediction_records: RecordColumns | None = None


def decode_batch(
    records: Sequence[Record], rules: DecodeRules, predictions_topic: str, labels_topic: str
) -> DecodedBatch:
    """Split records by topic and decode them (pure)."""
    prediction_records: list[Record] = []
    label_records: list[Record] = []
    positions: dict[TopicPartition, int] = {}
    for record in records:
        if record.topic == predictions_topic:
            prediction_records.append(record)
        elif record.topic == labels_topic:
            label_records.append(record)
        else:
            continue
        key = (record.topic, record.partition)
        if record.offset >= positions.get(key, 0):
            positions[key] = record.offset + 1
    return _decode(
        RecordColumns.of(prediction_records), RecordColumns.of(label_records), rules, positions
    )


def decode_runs(
    runs: Sequence[RecordRun], rules: DecodeRules, predictions_topic: str, labels_topic: str
) -> DecodedBatch:
    """Decode records handed over as per-partition runs (by the consumer process)."""
    positions: dict[TopicPartition, int] = {}
    for topic, partition, offsets, _keys, _values in runs:
        if offsets:
            key = (topic, partition)
            positions[key] = max(positions.get(key, 0), offsets[-1] + 1)
    return _decode(
        RecordColumns.from_runs(
            predictions_topic, [run for run in runs if run[0] == predictions_topic]
        ),
        RecordColumns.from_runs(labels_topic, [run for run in runs if run[0] == labels_topic]),
        rules,
        positions,
    )


def _decode(
    predictions_in: RecordColumns,
    labels_in: RecordColumns,
    rules: DecodeRules,
    positions: dict[TopicPartition, int],
) -> DecodedBatch:
    predictions, rejected = decode_predictions(predictions_in, rules)
    labels, label_errors = decode_labels(labels_in, rules)
    consumed = {}
    if len(predictions_in):
        consumed[predictions_in.topic] = len(predictions_in)
    if len(labels_in):
        consumed[labels_in.topic] = len(labels_in)
    return DecodedBatch(
        predictions, labels, rejected + label_errors, consumed, positions, predictions_in
    )


class StateMismatchError(RuntimeError):
    """The state directory was written for another configuration of groups."""


def decode_rules(config: MonitorConfig) -> DecodeRules:
    """What the decoder checks, from the configuration."""
    return DecodeRules(
        thresholds=config.thresholds,
        default_threshold=config.default_threshold,
        known_models_only=bool(config.models) and not config.accept_unknown_models,
        attributes=tuple(config.sensitive.attributes),
        max_event_bytes=config.pipeline.max_event_bytes,
    )


_PARTITION_SPACE = 1 << 20  # partitions per topic are far fewer


def _first_occurrences(ids: Sequence[str]) -> np.ndarray:
    seen: dict[str, int] = {}
    for position, key in enumerate(ids):
        seen.setdefault(key, position)
    return np.fromiter(seen.values(), dtype=np.int64, count=len(seen))


class Pipeline:
    """Counts events into windows and evaluates the windows they changed."""

    def __init__(
        self,
        config: MonitorConfig,
        store: StateStore,
        listeners: Sequence[EvaluationListener] = (),
        evaluation_filter: EvaluationFilter | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.listeners = list(listeners)
        self.evaluation_filter = evaluation_filter
        self.rules = decode_rules(config)
        self.engine_config: EngineConfig = config.engine
        self.specs: list[WindowSpec] = list(config.windows)
        self.spec_by_name = {spec.name: spec for spec in self.specs}
        self.attributes = list(config.sensitive.attributes)
        self.intersections = [list(members) for members in config.sensitive.intersections]
        self.score_bins = config.engine.score_bins
        self.counters = PipelineCounters()
        snapshot = store.load()
        self._check_layout(snapshot.meta)
        self.pending = PendingStore(store.connection, self._width_of_groups())
        self.panes = PaneCounts(row_width(self.score_bins))
        for key, matrix in snapshot.panes.items():
            if key[0] in self.spec_by_name:  # panes of an earlier layout are widened
                self.panes.load(key, widen(matrix, self.score_bins))
        self.group_indexes: dict[str, GroupIndex] = snapshot.group_indexes
        self.positions: dict[TopicPartition, int] = dict(snapshot.offsets)
        self.partitions: set[int] = {key[3] for key in self.panes}
        self.watermark = Watermark(config.allowed_lateness, config.pipeline.idle_timeout)
        self._restore_event_time(snapshot.meta)
        self.watermark.own(
            partition
            for topic, partition in self.positions
            if topic == config.kafka.predictions_topic
        )
        self.dirty_windows: set[WindowKey] = {
            key for key in snapshot.unflushed if key[0] in self.spec_by_name
        }
        self.unconfirmed: set[WindowKey] = set()
        self._handed_watermark = -math.inf
        self._refresh_gauges()
        if snapshot.offsets:
            logger.info(
                "event=state_restored partitions=%d panes=%d pending_labels=%d "
                "unmatched_labels=%d windows_to_rewrite=%d",
                len(self.positions),
                len(self.panes),
                self.pending.waiting_predictions,
                self.pending.early_labels,
                len(self.dirty_windows),
            )

    # -- processing ----------------------------------------------------------------------------

    def process(self, records: Sequence[Record]) -> list[InvalidEvent]:
        """Decode, join and count one batch of records; returns the rejected ones."""
        kafka = self.config.kafka
        return self.process_decoded(
            decode_batch(records, self.rules, kafka.predictions_topic, kafka.labels_topic)
        )

    def process_decoded(self, batch: DecodedBatch) -> list[InvalidEvent]:
        """Join and count a batch already decoded (:func:`decode_runs`, :func:`decode_batch`)."""
        positions = self.positions
        for key, offset in batch.positions.items():
            if offset > positions.get(key, 0):
                positions[key] = offset
        self.counters.consumed.update(batch.consumed)
        rejected = batch.rejected
        if len(batch.predictions):
            for reason, rows in self._add_predictions(batch.predictions).items():
                rejected = rejected + self._refused(batch, rows, reason)
        if len(batch.labels):
            self._add_labels(batch.labels)
        for error in rejected:
            self.counters.invalid[(error.record.topic, error.reason)] += 1
        self._refresh_gauges()
        return rejected

    def own_partitions(self, partitions: Iterable[TopicPartition]) -> None:
        """The input partitions this instance reads (from the source, once it started)."""
        topic = self.config.kafka.predictions_topic
        self.watermark.own(partition for name, partition in partitions if name == topic)
        self._refresh_gauges()

    def tick(self, now: float, lag: Mapping[TopicPartition, int]) -> None:
        """The wall clock is ``now`` and ``lag`` says which partitions have records left to
        read: partitions silent for ``pipeline.idle_timeout`` stop holding event time back."""
        topic = self.config.kafka.predictions_topic
        self.watermark.tick(
            now, (partition for (name, partition), left in lag.items() if name == topic and left)
        )
        self._refresh_gauges()

    def retention_floor(self) -> float:
        """Event time before which panes are retired: a prediction older than this cannot be
        counted any more (the label horizon past the watermark)."""
        return self.watermark.value - self.config.label_horizon

    def _refused(self, batch: DecodedBatch, rows: np.ndarray, reason: str) -> list[InvalidEvent]:
        records = batch.prediction_records
        floor = self.retention_floor()
        skew = self.config.pipeline.max_clock_skew
        out = []
        for row in rows.tolist():
            stamp = float(batch.predictions.timestamp[row])
            detail = (
                f"event time {stamp:.3f} is before {floor:.3f}, the oldest event time still "
                "held (watermark minus label_horizon); its windows were retired"
                if reason == "too_late"
                else f"event time {stamp:.3f} is more than {skew:.0f}s (pipeline.max_clock_skew) "
                f"ahead of the clock ({self.watermark.now:.3f})"
            )
            record = (
                records.record(int(batch.predictions.position[row]))
                if records is not None
                else Record(
                    self.config.kafka.predictions_topic,
                    int(batch.predictions.partition[row]),
                    -1,
                    batch.predictions.prediction_id[row].encode(),
                    None,
                )
            )
            out.append(InvalidEvent(record, reason, detail))
        return out

    def _restore_event_time(self, meta: Mapping[str, object]) -> None:
        progress = meta.get("partition_event_times")
        event_time = meta.get("event_time", meta.get("max_event_time"))  # older checkpoints
        self.watermark.restore(
            {int(key): float(value) for key, value in progress.items()}
            if isinstance(progress, dict)
            else {},
            float(event_time) if isinstance(event_time, int | float) else -math.inf,
        )

    def _add_predictions(self, events: Predictions) -> dict[str, np.ndarray]:
        """Count new predictions; returns the rows refused, by reason, which the caller
        dead-letters: ``too_late`` (before the retention floor) and ``future_timestamp``
        (further ahead of the wall clock than ``pipeline.max_clock_skew``)."""
        ids = events.prediction_id
        keep = _first_occurrences(ids)
        known = self.pending.known(ids if len(keep) == len(ids) else [ids[i] for i in keep])
        if known:
            keep = np.fromiter((i for i in keep.tolist() if ids[i] not in known), dtype=np.int64)
        self.counters.duplicate["prediction"] += len(ids) - len(keep)
        refused: dict[str, np.ndarray] = {}
        if len(keep):
            stamps = events.timestamp[keep]
            old = stamps < self.retention_floor()
            ahead = stamps > self.watermark.now + self.config.pipeline.max_clock_skew
            for reason, rows in (("too_late", old), ("future_timestamp", ahead & ~old)):
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
            self.counters.joined += applied
            self.counters.duplicate["label"] += len(early) - applied  # the event had its label
        # Every prediction is counted in every specification: one whose windows have closed
        # revises them (it is *late*; the alert rules judged them already).
        for spec in self.specs:
            late = int(self.watermark.late(spec, timestamps).sum())
            if late:
                self.counters.late[spec.name] += late
        # (the mask of specifications still goes to the join store: a prediction stored by an
        # earlier version may be counted in only some, and its label must update only those)
        specs = np.full(len(keep), (1 << len(self.specs)) - 1, dtype=np.int64)
        self.watermark.advance(timestamps, partitions)
        keep_list = keep.tolist()
        models = events.model_id if everything else [events.model_id[i] for i in keep_list]
        groups = np.zeros((len(keep), self._width_of_groups()), dtype=np.int32)
        for model, rows in self._split_by_model(models, np.arange(len(keep))).items():
            row_list = rows.tolist()
            columns = {}
            for name in self.attributes:
                values = events.sensitive[name]
                if not everything:
                    values = [values[i] for i in keep_list]
                columns[name] = (
                    values if len(row_list) == len(keep) else [values[row] for row in row_list]
                )
            index = self.group_indexes.setdefault(model, GroupIndex())
            for column, (attribute, codes, names) in enumerate(
                group_codes(columns, self.attributes, self.intersections)
            ):
                groups[rows, column] = index.rows(attribute, names)[codes]
            self._count(
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

    def _add_labels(self, events: Labels) -> None:
        ids = events.prediction_id
        keep = _first_occurrences(ids).tolist()
        self.counters.duplicate["label"] += len(ids) - len(keep)
        label_of = {ids[index]: events.label[index] for index in keep}
        found = self.pending.lookup(list(label_of))
        waiting = found.label < 0
        self.counters.duplicate["label"] += int((~waiting).sum())
        known = set(found.prediction_id)
        early = [(key, label) for key, label in label_of.items() if key not in known]
        if early:
            clock = self.watermark.event_time
            added = self.pending.hold_labels(early, clock if math.isfinite(clock) else None)
            self.counters.duplicate["label"] += len(early) - added
        # A prediction still stored but whose panes were retired cannot be revised any more.
        retired = waiting & (found.records["ts"] < self.retention_floor())
        if retired.any():
            self.pending.set_labels(
                [
                    (found.prediction_id[row], label_of[found.prediction_id[row]])
                    for row in np.flatnonzero(retired).tolist()
                ]
            )
            self.counters.orphans += int(retired.sum())
            waiting &= ~retired
        rows = np.flatnonzero(waiting)
        if not rows.size:
            return
        joined_ids = [found.prediction_id[row] for row in rows.tolist()]
        labels = np.asarray([label_of[key] for key in joined_ids], dtype=np.int64)
        self.pending.set_labels(list(zip(joined_ids, labels.tolist(), strict=True)))
        self.counters.joined += len(joined_ids)
        records = found.records[rows]
        models = [found.models[row] for row in rows.tolist()]
        for model, members in self._split_by_model(models, np.arange(len(models))).items():
            chosen = records[members]
            self._count(
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

    def _group_columns(self) -> list[str]:
        names = list(dict.fromkeys(self.attributes))
        for members in self.intersections:
            name = "&".join(sorted(set(members)))
            if name not in names:
                names.append(name)
        return names

    def _width_of_groups(self) -> int:
        return len(self._group_columns())

    def _check_layout(self, meta: Mapping[str, object]) -> None:
        """The stored state must have been written with the same group columns."""
        stored = meta.get("group_columns")
        if stored is not None and stored != self._group_columns():
            raise StateMismatchError(
                f"state_dir {self.store.path.parent} was written for the sensitive attributes and "
                f"intersections {stored}, the config now gives {self._group_columns()}; start "
                "with a new state_dir (or restore the previous sensitive: section)"
            )

    @staticmethod
    def _split_by_model(models: Sequence[str], rows: np.ndarray) -> dict[str, np.ndarray]:
        first = models[0]
        if all(model == first for model in models):
            return {first: rows}
        split: dict[str, list[int]] = {}
        for model, row in zip(models, rows.tolist(), strict=True):
            split.setdefault(model, []).append(row)
        return {model: np.asarray(members, dtype=np.int64) for model, members in split.items()}

    def _count(
        self,
        model: str,
        groups: np.ndarray,
        timestamps: np.ndarray,
        partitions: np.ndarray,
        decisions: np.ndarray,
        scores: np.ndarray,
        labels: np.ndarray,
        specs: np.ndarray,
        *,
        count_n: bool,
    ) -> None:
        """Add rows (each counted once per group column) to the panes of every spec they are in."""
        n_groups = len(self.group_indexes[model])
        columns = groups.shape[1]
        for bit, spec in enumerate(self.specs):
            selected = np.flatnonzero((specs >> bit) & 1)
            if not selected.size:
                continue
            pane_numbers = np.floor(timestamps[selected] / spec.step).astype(np.int64)
            keys = pane_numbers * _PARTITION_SPACE + partitions[selected]
            unique_keys, inverse = np.unique(keys, return_inverse=True)
            inverse = inverse.reshape(-1)
            unique = [
                (float(key // _PARTITION_SPACE) * spec.step, int(key % _PARTITION_SPACE))
                for key in unique_keys.tolist()
            ]
            flat_index = (inverse[:, None] * n_groups + groups[selected]).reshape(-1)
            matrix = count_batch(
                flat_index,
                len(unique) * n_groups,
                np.repeat(decisions[selected], columns),
                np.repeat(labels[selected], columns),
                score=np.repeat(scores[selected], columns),
                count_n=None if count_n else np.zeros(selected.size * columns, dtype=bool),
                score_bins=self.score_bins,
            ).reshape(len(unique), n_groups, -1)
            for position, (start, partition_id) in enumerate(unique):
                self.partitions.add(partition_id)
                self.panes.add((spec.name, model, start, partition_id), matrix[position])
                for window_start in windows_of_pane(spec, start):
                    self.dirty_windows.add((spec.name, model, window_start))

    # -- evaluation ----------------------------------------------------------------------------

    def evaluate(self, now: float) -> list[WindowEvaluation]:
        """Evaluate every window changed since the last call and hand them to the listeners.

        With nothing changed, the listeners are still called (with no evaluations) when the
        watermark moved, so that windows it closed are released (an idle partition lets it move
        without new counts). With an ``evaluation_filter``, only the windows it chooses are
        evaluated; those it keeps for later stay changed, those it skips are dropped."""
        due = self._due_windows()
        if not due:
            if self.watermark.value > self._handed_watermark:
                self._handed_watermark = self.watermark.value
                self._notify([], now)
            return []
        evaluations: list[WindowEvaluation] = []
        for spec_name, model, window_start in sorted(due):
            spec = self.spec_by_name[spec_name]
            index = self.group_indexes.get(model)
            matrix = self.panes.window(spec, model, window_start, sorted(self.partitions))
            if matrix is None or index is None:
                continue
            evaluations.append(
                evaluate(
                    model,
                    spec_name,
                    window_start,
                    window_start + spec.size,
                    counts_by_group(matrix, index),
                    self.engine_config,
                )
            )
        self.unconfirmed |= due
        self.dirty_windows = self.dirty_windows - due
        self.counters.windows_evaluated += len(evaluations)
        self._handed_watermark = self.watermark.value
        self._notify(evaluations, now)
        return evaluations

    def _due_windows(self) -> set[WindowKey]:
        """The changed windows to evaluate now (all of them without an evaluation filter)."""
        choose = self.evaluation_filter
        if choose is None:
            return self.dirty_windows
        due: set[WindowKey] = set()
        skipped: set[WindowKey] = set()
        for key in self.dirty_windows:
            spec_name, model, window_start = key
            end = window_start + self.spec_by_name[spec_name].size
            decision = choose.decide(model, spec_name, end)
            if decision == "evaluate":
                due.add(key)
            elif decision == "skip":
                skipped.add(key)
        self.dirty_windows = self.dirty_windows - skipped
        return due

    def _notify(self, evaluations: list[WindowEvaluation], now: float) -> None:
        for listener in self.listeners:
            try:
                listener.on_evaluations(evaluations, now)
            except Exception:  # a listener's failure must not stop the counting
                logger.exception("event=listener_failed listener=%s", type(listener).__name__)

    def confirm_written(self) -> None:
        """Everything handed to the listeners so far is durably written by the sink."""
        self.unconfirmed.clear()

    # -- checkpoint ----------------------------------------------------------------------------

    def maintain(self) -> None:
        """Apply the label horizon: expire old joins and retire panes nothing can change."""
        clock = self.watermark.event_time
        if not math.isfinite(clock):
            return
        horizon = self.config.label_horizon
        expired, orphans = self.pending.expire(clock - horizon, clock - horizon, clock)
        self.counters.expired_unlabeled += expired
        self.counters.orphans += orphans
        before = self.watermark.value - horizon
        for spec in self.specs:
            if self.panes.retire(spec, before):
                self.dirty_windows = {
                    key
                    for key in self.dirty_windows
                    if key[0] != spec.name or key[2] + spec.size >= before
                }
        self._refresh_gauges()

    def checkpoint(self) -> None:
        """Commit state, pending joins, offsets and the windows still to be written, together."""
        self.maintain()
        meta: dict[str, object] = {
            "windows": [spec.name for spec in self.specs],
            "group_columns": self._group_columns(),
        }
        if math.isfinite(self.watermark.event_time):
            meta["event_time"] = self.watermark.event_time
        meta["partition_event_times"] = {
            str(partition): time for partition, time in self.watermark.progress.items()
        }
        self.store.checkpoint(
            self.panes,
            self.group_indexes,
            self.positions,
            self.dirty_windows | self.unconfirmed,
            meta,
        )
        self.counters.checkpoints += 1

    def _refresh_gauges(self) -> None:
        self.counters.pending_labels = self.pending.waiting_predictions
        self.counters.unmatched_labels = self.pending.early_labels
        if math.isfinite(self.watermark.event_time):
            self.counters.watermark = self.watermark.value
        self.counters.partitions_idle = len(self.watermark.idle)
        self.counters.partitions_became_idle = self.watermark.became_idle

    def samples(self) -> list[CounterSample]:
        return self.counters.samples()

    def close(self) -> None:
        """Release the state database without committing (call :meth:`checkpoint` first)."""
        self.store.close()
