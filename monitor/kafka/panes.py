"""The pane topic as a source (``kafka.mode: pane_counts``): what the evaluator reads.

A :class:`KafkaSource` on the one pane topic, read ``read_committed`` (the counting job writes it
in Kafka transactions, docs/scaling.md), that differs from the events' source in three ways:

- positions are the consumer's (past the transactions' commit markers, which hold offsets but no
  record), so that a partition read to its end is at its end offset;
- :meth:`PaneTopicSource.lag` fetches the end offsets afresh (one request per cycle): a progress
  record waits for the pane topic to be read up to end offsets fetched after it was read
  (:mod:`monitor.stream.pane_intake`), and a predictions partition with records the job has not
  read yet is not idle;
- :meth:`PaneTopicSource.partitions` also names the partitions of the predictions topic, whose
  event-time progress the job publishes: the watermark is their minimum, as in-process.

Only the pane topic's offsets are committed to Kafka (the predictions topic's belong to the job).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from monitor.config import KafkaSettings
from monitor.kafka.errors import SourceError
from monitor.kafka.source import KafkaSource
from monitor.stream.decode import BatchDecoder, DecodedBatch
from monitor.types import Flag, TopicPartition

logger = logging.getLogger(__name__)


class PaneTopicSource(KafkaSource):
    """Reads the pane topic ``read_committed``, with the predictions topic's end offsets."""

    def __init__(
        self,
        settings: KafkaSettings,
        instance_id: str,
        assignment_timeout: float = 60.0,
        interrupted: Flag | None = None,
    ) -> None:
        super().__init__(
            settings,
            instance_id,
            assignment_timeout,
            interrupted,
            topics=[settings.pane_topic],
            consumer_settings={"isolation_level": "read_committed"},
        )
        self._prediction_partitions: list[Any] = []
        self._job_lag: dict[TopicPartition, int] = {}  # the predictions topic's, last known

    def start(self, positions: Mapping[TopicPartition, int]) -> None:
        from kafka import TopicPartition as KafkaTopicPartition

        started = time.monotonic()
        super().start(positions)
        topic = self.settings.predictions_topic
        partitions = self._topic_partitions(topic, started + self.settings.startup_timeout)
        if not partitions:
            self.close()
            raise SourceError(
                f"topic {topic!r} (kafka.predictions_topic) does not exist on "
                f"{self.settings.bootstrap_servers}: the counting job reads it"
            )
        self._prediction_partitions = [KafkaTopicPartition(topic, p) for p in sorted(partitions)]

    def poll_decoded(
        self, max_records: int, timeout: float, decoder: BatchDecoder
    ) -> DecodedBatch | None:
        """The next records, decoded, with the consumer's positions (``None`` when there was
        nothing new, not even a commit marker read past)."""
        before = dict(self._handed_out)
        records = self.poll(max_records, timeout)
        positions = self._positions()
        if not records and all(before.get(key, 0) >= at for key, at in positions.items()):
            return None
        batch = decoder.records(records)
        batch.positions.update(positions)
        return batch

    def _positions(self) -> dict[TopicPartition, int]:
        if not self._owns_all:
            return {}
        positions = {}
        for partition in self._consumer.assignment():
            try:
                position = self._consumer.position(partition, timeout_ms=1000)
            except Exception:  # not known yet (a reset in flight): the records say enough
                continue
            if position is not None:
                key = (partition.topic, partition.partition)
                positions[key] = position
                self._handed_out[key] = max(self._handed_out.get(key, 0), position)
        return positions

    def lag(self, positions: Mapping[TopicPartition, int]) -> dict[TopicPartition, int]:
        """Records left per partition of the pane topic (to read) and of the predictions topic
        (for the job to read, from its progress offsets in ``positions``), from end offsets
        fetched now; empty when the broker does not answer."""
        if self._consumer is None or not self._owns_all:
            return {}
        partitions = [*self._consumer.assignment(), *self._prediction_partitions]
        try:
            ends = self._consumer.end_offsets(partitions)
        except Exception as error:
            # an outage: no progress is released; the job's partitions keep their last lag
            logger.debug("event=end_offsets_failed error=%s", error)
            return dict(self._job_lag)
        lag = {}
        for partition, end in ends.items():
            key = (partition.topic, partition.partition)
            lag[key] = max(0, end - positions.get(key, 0))
        topic = self.settings.predictions_topic
        self._job_lag = {key: left for key, left in lag.items() if key[0] == topic}
        return lag

    def partitions(self) -> set[TopicPartition]:
        return super().partitions() | {
            (partition.topic, partition.partition) for partition in self._prediction_partitions
        }

    def commit(self, positions: Mapping[TopicPartition, int]) -> None:
        topic = self.settings.pane_topic
        super().commit({key: offset for key, offset in positions.items() if key[0] == topic})
