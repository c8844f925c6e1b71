"""A batch of records of both input topics, decoded: what the pipeline counts, and where the batch
ends (the next offset of each partition). Pure: records in, :class:`DecodedBatch` out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from monitor.config import MonitorConfig
from monitor.stream.decode.decoders import decode_labels, decode_predictions
from monitor.stream.decode.events import Labels, Predictions
from monitor.stream.decode.panes import PaneBatch, decode_panes
from monitor.stream.decode.reasons import InvalidEvent
from monitor.stream.decode.records import Record, RecordColumns, RecordRun
from monitor.stream.decode.rules import DecodeRules, decode_rules
from monitor.types import TopicPartition


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
    # pane counts and progress (kafka.mode: pane_counts; then there are no events)
    panes: PaneBatch | None = None


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


@dataclass(frozen=True)
class BatchDecoder:
    """The rules and topic names a batch is decoded with: what a source is handed to decode the
    records it polls, in whichever form it holds them (:meth:`records` or :meth:`runs`)."""

    rules: DecodeRules
    predictions_topic: str
    labels_topic: str

    def records(self, records: Sequence[Record]) -> DecodedBatch:
        """:func:`decode_batch` of ``records``."""
        return decode_batch(records, self.rules, self.predictions_topic, self.labels_topic)

    def runs(self, runs: Sequence[RecordRun]) -> DecodedBatch:
        """:func:`decode_runs` of ``runs``."""
        return decode_runs(runs, self.rules, self.predictions_topic, self.labels_topic)


@dataclass(frozen=True)
class PaneDecoder(BatchDecoder):
    """Decodes the pane topic (``kafka.mode: pane_counts``): a batch without events, carrying
    :attr:`DecodedBatch.panes`."""

    pane_topic: str = ""
    score_bins: int = 0

    def records(self, records: Sequence[Record]) -> DecodedBatch:
        mine = [record for record in records if record.topic == self.pane_topic]
        positions: dict[TopicPartition, int] = {}
        for record in mine:
            key = (record.topic, record.partition)
            positions[key] = max(positions.get(key, 0), record.offset + 1)
        panes, rejected = decode_panes(mine, self.score_bins, self.predictions_topic)
        empty = _decode(RecordColumns.of([]), RecordColumns.of([]), self.rules, {})  # no events
        consumed = {self.pane_topic: len(mine)} if mine else {}
        return replace(
            empty, rejected=rejected, consumed=consumed, positions=positions, panes=panes
        )

    def runs(self, runs: Sequence[RecordRun]) -> DecodedBatch:
        return self.records(
            [
                Record(topic, partition, offset, key, value)
                for topic, partition, offsets, keys, values in runs
                for offset, key, value in zip(offsets, keys, values, strict=True)
            ]
        )


def batch_decoder(config: MonitorConfig) -> BatchDecoder:
    """The decoder of the configured topics with the configured rules (of the pane topic in
    ``kafka.mode: pane_counts``)."""
    kafka = config.kafka
    rules = decode_rules(config)
    if kafka.mode == "pane_counts":
        return PaneDecoder(
            rules,
            kafka.predictions_topic,
            kafka.labels_topic,
            pane_topic=kafka.pane_topic,
            score_bins=config.engine.score_bins,
        )
    return BatchDecoder(rules, kafka.predictions_topic, kafka.labels_topic)
