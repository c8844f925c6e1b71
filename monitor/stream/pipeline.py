"""The pipeline core: records → decode → join → window counts → evaluated windows → listeners.

It knows nothing about Kafka: records come in from any source (the Kafka consumer of
:mod:`monitor.kafka.source`, or the :class:`monitor.stream.memory.EmbeddedSource` used by the demo
and the tests), decoded by :mod:`monitor.stream.decode`, and the daemon
(:mod:`monitor.stream.daemon`) drives it. The stages it is made of: the intake
(:mod:`monitor.stream.intake`: deduplication, refusals by event time, the label join) and the
window counts (:mod:`monitor.stream.counting`).

Public API::

    store = StateStore(config.state_dir)          # monitor.stream.state; one SQLite file
    pipeline = Pipeline(config, store, listeners=[sink, alert_manager])
    pipeline.positions                            # {(topic, partition): next offset}, restored
    rejected = pipeline.process(records)          # -> list[InvalidEvent] (bad input is data)
    rejected = pipeline.process_decoded(batch)    # a DecodedBatch, decoded by the source with
                                                  # pipeline.decoder (see Source.poll_decoded)
    evaluations = pipeline.evaluate(now)          # evaluates the changed windows and hands
                                                  # them to every listener; returns them
    pipeline.confirm_written()                    # the sink wrote everything handed so far
    pipeline.checkpoint()                         # state + offsets in one transaction
    pipeline.samples()                            # CounterSamples (monitor.stream.counters)
    pipeline.close()

``process`` may be called any number of times between checkpoints; nothing is durable until
``checkpoint``. A window's evaluation is handed over again whenever its counts change (a late
label revises it); sinks overwrite the earlier points. Windows handed over but not yet confirmed
written are kept in the checkpoint and re-evaluated after a restart. Listeners get
``on_evaluations(evaluations, now, watermark)``: ``now`` is only passed through, every decision
inside uses event time, and ``watermark`` is the pipeline's when it handed them over.

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
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from monitor.config import MonitorConfig
from monitor.engine.evaluate import EngineConfig
from monitor.engine.results import WindowEvaluation
from monitor.stream.counters import (
    CHECKPOINTS,
    EVENTS_CONSUMED,
    EVENTS_INVALID,
    LABELS_AWAITING_PREDICTION,
    LABELS_ORPHANED,
    PARTITIONS_BECAME_IDLE,
    PARTITIONS_IDLE,
    PREDICTIONS_AWAITING_LABEL,
    PREDICTIONS_EXPIRED_UNLABELED,
    WATERMARK,
    WINDOWS_EVALUATED,
    PipelineCounters,
)
from monitor.stream.counting import WindowCounts, column_names
from monitor.stream.decode import (
    BatchDecoder,
    DecodedBatch,
    InvalidEvent,
    Record,
    batch_decoder,
)
from monitor.stream.intake import Intake
from monitor.stream.join import PendingStore
from monitor.stream.pane_intake import PaneIntake, restore_held
from monitor.stream.state import StateStore
from monitor.stream.window import PaneCounts, Watermark, WindowKey
from monitor.types import CounterSample, EvaluationFilter, EvaluationListener, TopicPartition

logger = logging.getLogger(__name__)


class StateMismatchError(RuntimeError):
    """The state directory was written for another configuration of groups."""


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
        self.decoder: BatchDecoder = batch_decoder(config)
        self.engine_config: EngineConfig = config.engine
        self.counters = PipelineCounters()
        snapshot = store.load()
        columns = column_names(config.sensitive.attributes, config.sensitive.intersections)
        self._check_layout(snapshot.meta, columns)
        self.pending = PendingStore(store.connection, len(columns))
        self.counts = WindowCounts(
            config.windows,
            config.sensitive.attributes,
            config.sensitive.intersections,
            config.engine.score_bins,
            snapshot.panes,
            snapshot.group_indexes,
            snapshot.unflushed,
        )
        self.positions: dict[TopicPartition, int] = dict(snapshot.offsets)
        self.watermark = Watermark(config.allowed_lateness, config.pipeline.idle_timeout)
        self._restore_event_time(snapshot.meta)
        self.watermark.own(
            partition
            for topic, partition in self.positions
            if topic == config.kafka.predictions_topic
        )
        self.intake = Intake(
            self.counts,
            self.pending,
            self.watermark,
            self.counters,
            label_horizon=config.label_horizon,
            max_clock_skew=config.pipeline.max_clock_skew,
        )
        self.pane_intake: PaneIntake | None = None
        if config.kafka.mode == "pane_counts":  # the events are counted by a counting tier
            self.pane_intake = PaneIntake(
                self.counts,
                self.watermark,
                self.counters,
                self.positions,
                label_horizon=config.label_horizon,
                predictions_topic=config.kafka.predictions_topic,
                pane_topic=config.kafka.pane_topic,
                held=restore_held(snapshot.meta.get("held_progress")),
            )
        self.unconfirmed: set[WindowKey] = set()
        self._handed_watermark = -math.inf
        self._refresh_gauges()
        if snapshot.offsets:
            logger.info(
                "event=state_restored partitions=%d panes=%d pending_labels=%d "
                "unmatched_labels=%d windows_to_rewrite=%d",
                len(self.positions),
                len(self.counts.panes),
                self.pending.waiting_predictions,
                self.pending.early_labels,
                len(self.counts.changed),
            )

    @property
    def panes(self) -> PaneCounts:
        """The counts of every pane (:attr:`counts`)."""
        return self.counts.panes

    # -- processing ----------------------------------------------------------------------------

    def process(self, records: Sequence[Record]) -> list[InvalidEvent]:
        """Decode, join and count one batch of records; returns the rejected ones."""
        return self.process_decoded(self.decoder.records(records))

    def process_decoded(self, batch: DecodedBatch) -> list[InvalidEvent]:
        """Join and count a batch already decoded (with :attr:`decoder`)."""
        positions = self.positions
        for key, offset in batch.positions.items():
            if offset > positions.get(key, 0):
                positions[key] = offset
        rejected = batch.rejected
        if len(batch.predictions):
            topic = self.config.kafka.predictions_topic
            for reason, rows in self.intake.add_predictions(batch.predictions).items():
                rejected = rejected + self.intake.refused(batch, rows, reason, topic)
        if len(batch.labels):
            self.intake.add_labels(batch.labels)
        if batch.panes is not None and self.pane_intake is not None:
            self.pane_intake.add(batch.panes)
        # (rejected before consumed: a reader of the counters that sees a batch consumed sees
        # its rejections too; counted once per topic and reason, not once per record)
        invalid = Counter((error.record.topic, error.reason) for error in rejected)
        for (topic, reason), count in invalid.items():
            self.counters.inc(EVENTS_INVALID, count, topic=topic, reason=reason)
        for topic, consumed in batch.consumed.items():
            self.counters.inc(EVENTS_CONSUMED, consumed, topic=topic)
        self._refresh_gauges()
        return rejected

    def own_partitions(self, partitions: Iterable[TopicPartition]) -> None:
        """The input partitions this instance reads (from the source, once it started)."""
        partitions = list(partitions)
        topic = self.config.kafka.predictions_topic
        self.watermark.own(partition for name, partition in partitions if name == topic)
        if self.pane_intake is not None:
            pane_topic = self.config.kafka.pane_topic
            self.pane_intake.pane_partitions = {key for key in partitions if key[0] == pane_topic}
        self._refresh_gauges()

    def tick(self, now: float, lag: Mapping[TopicPartition, int]) -> None:
        """The wall clock is ``now`` and ``lag`` says which partitions have records left to
        read: partitions silent for ``pipeline.idle_timeout`` stop holding event time back.
        In ``pane_counts`` mode, progress whose counts are all read is applied first (``lag``
        of the predictions topic is then what the counting tier has left to read)."""
        if self.pane_intake is not None:
            self.pane_intake.release(lag)
        topic = self.config.kafka.predictions_topic
        self.watermark.tick(
            now, (partition for (name, partition), left in lag.items() if name == topic and left)
        )
        self._refresh_gauges()

    def _restore_event_time(self, meta: Mapping[str, object]) -> None:
        progress = meta.get("partition_event_times")
        event_time = meta.get("event_time", meta.get("max_event_time"))  # older checkpoints
        self.watermark.restore(
            {int(key): float(value) for key, value in progress.items()}
            if isinstance(progress, dict)
            else {},
            float(event_time) if isinstance(event_time, int | float) else -math.inf,
        )

    def _check_layout(self, meta: Mapping[str, object], columns: list[str]) -> None:
        """The stored state must have been written with the same group columns."""
        stored_mode = meta.get("mode", "events")
        if meta.get("group_columns") is not None and stored_mode != self.config.kafka.mode:
            raise StateMismatchError(
                f"state_dir {self.store.path.parent} was written in kafka.mode {stored_mode}, "
                f"the config now gives {self.config.kafka.mode}; start with a new state_dir"
            )
        stored = meta.get("group_columns")
        if stored is not None and stored != columns:
            raise StateMismatchError(
                f"state_dir {self.store.path.parent} was written for the sensitive attributes and "
                f"intersections {stored}, the config now gives {columns}; start "
                "with a new state_dir (or restore the previous sensitive: section)"
            )

    # -- evaluation ----------------------------------------------------------------------------

    def evaluate(self, now: float) -> list[WindowEvaluation]:
        """Evaluate every window changed since the last call and hand them to the listeners.

        With nothing changed, the listeners are still called (with no evaluations) when the
        watermark moved, so that windows it closed are released (an idle partition lets it move
        without new counts). With an ``evaluation_filter``, only the windows it chooses are
        evaluated; those it keeps for later stay changed, those it skips are dropped."""
        watermark = self.watermark.value
        due = self._due_windows(watermark)
        if not due:
            if watermark > self._handed_watermark:
                self._handed_watermark = watermark
                self._notify([], now, watermark)
            return []
        evaluations = self.counts.evaluate(sorted(due), self.engine_config)
        self.unconfirmed |= due
        self.counts.changed = self.counts.changed - due
        self.counters.inc(WINDOWS_EVALUATED, len(evaluations))
        self._handed_watermark = watermark
        self._notify(evaluations, now, watermark)
        return evaluations

    def _due_windows(self, watermark: float) -> set[WindowKey]:
        """The changed windows to evaluate now (all of them without an evaluation filter)."""
        choose = self.evaluation_filter
        if choose is None:
            return self.counts.changed
        due: set[WindowKey] = set()
        skipped: set[WindowKey] = set()
        for key in self.counts.changed:
            spec_name, model, _window_start = key
            decision = choose.decide(model, spec_name, self.counts.window_end(key), watermark)
            if decision == "evaluate":
                due.add(key)
            elif decision == "skip":
                skipped.add(key)
        self.counts.changed = self.counts.changed - skipped
        return due

    def _notify(self, evaluations: list[WindowEvaluation], now: float, watermark: float) -> None:
        for listener in self.listeners:
            try:
                listener.on_evaluations(evaluations, now, watermark)
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
        self.counters.inc(PREDICTIONS_EXPIRED_UNLABELED, expired)
        self.counters.inc(LABELS_ORPHANED, orphans)
        self.counts.retire(self.watermark.value - horizon)
        self._refresh_gauges()

    def checkpoint(self) -> None:
        """Commit state, pending joins, offsets and the windows still to be written, together."""
        self.maintain()
        meta: dict[str, object] = {
            "windows": [spec.name for spec in self.counts.specs],
            "group_columns": self.counts.columns,
            "mode": self.config.kafka.mode,
        }
        if self.pane_intake is not None:
            meta["held_progress"] = self.pane_intake.held_progress()
        if math.isfinite(self.watermark.event_time):
            meta["event_time"] = self.watermark.event_time
        meta["partition_event_times"] = {
            str(partition): time for partition, time in self.watermark.progress.items()
        }
        self.store.checkpoint(
            self.counts.panes,
            self.counts.group_indexes,
            self.positions,
            self.counts.changed | self.unconfirmed,
            meta,
        )
        self.counters.inc(CHECKPOINTS)

    def _refresh_gauges(self) -> None:
        self.counters.set(PREDICTIONS_AWAITING_LABEL, self.pending.waiting_predictions)
        self.counters.set(LABELS_AWAITING_PREDICTION, self.pending.early_labels)
        if math.isfinite(self.watermark.event_time):
            self.counters.set(WATERMARK, self.watermark.value)
        self.counters.set(PARTITIONS_IDLE, len(self.watermark.idle))
        self.counters.set(PARTITIONS_BECAME_IDLE, self.watermark.became_idle)

    def samples(self) -> list[CounterSample]:
        return self.counters.samples()

    def close(self) -> None:
        """Release the state database without committing (call :meth:`checkpoint` first)."""
        self.store.close()
