"""The Kafka source: the prediction and label topics consumed with kafka-python in one consumer
group.

A source hands out the records polled, decoded (:meth:`KafkaSource.poll_decoded`), and resumes from
the positions the pipeline restored from its checkpoint (the local checkpoint is the truth; Kafka's
committed offsets only follow it, for monitoring tools).

At start it checks that the prediction and label topics are co-partitioned (same partition count,
so the same key lands in the same partition number) and logs the result. It refuses to run as a
second instance of the group: counts are kept per input partition but not yet merged across
instances, so an instance that does not own every partition would publish partial metrics. A
newcomer that gets a partial assignment raises :class:`GroupConflictError`; a running instance that
loses partitions to a newcomer pauses until it owns every partition again (see
:mod:`monitor.kafka.group`).

Start-up is bounded: the cluster must answer within ``kafka.startup_timeout``, else
:class:`KafkaUnreachableError` (``fairwatch run`` exits 4). :meth:`KafkaSource.interrupt` (SIGTERM)
makes a start still waiting give up at once with :class:`monitor.types.StartInterrupted`.

A rebalance (partitions revoked, then assigned again) must complete although kafka-python (3.0)
mishandles a JoinGroup/SyncGroup round trip that completes while no poll is waiting for it (one
longer than the rest of a poll, on a host with its CPUs busy). Either it is thrown away and a new
JoinGroup sent, which starts yet another rebalance (the only member is the leader), again and
again; or, for the rebalance kafka-python starts itself when the topics' metadata changes,
nothing ever waits for it again: the consumer keeps polling without partitions and without
heartbeats. So while the partitions are revoked a poll waits at least :data:`REJOIN_WAIT` (the
round trip completes while it is waited for), and a consumer still without its partitions after
:data:`REJOIN_TIMEOUT` is closed and replaced by a new one, which joins again
(``event=consumer_restarted``). The source is not ready (:meth:`KafkaSource.is_ready`) while it
has no partitions.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

from monitor.config import KafkaSettings
from monitor.kafka.connection import connection_failed, create_client, kafka_client_settings
from monitor.kafka.errors import (
    GroupConflictError,
    KafkaUnreachableError,
    SourceError,
    unreachable_message,
)
from monitor.kafka.group import conflict_message, leave_group, log_co_partitioning
from monitor.stream.decode import BatchDecoder, DecodedBatch, Record, RecordRun
from monitor.types import Flag, StartInterrupted, TopicPartition

logger = logging.getLogger(__name__)

# The shortest poll while the group rebalances, in seconds (see the module's docstring).
REJOIN_WAIT = 1.0
# Seconds without partitions after which the consumer is replaced by a new one.
REJOIN_TIMEOUT = 30.0


class KafkaSource:
    """Consumes the prediction and label topics with kafka-python in one consumer group."""

    def __init__(
        self,
        settings: KafkaSettings,
        instance_id: str,
        assignment_timeout: float = 60.0,
        interrupted: Flag | None = None,
        topics: Sequence[str] | None = None,
        consumer_settings: Mapping[str, Any] | None = None,
    ) -> None:
        self.settings = settings
        self.instance_id = instance_id
        # Set by interrupt() (or by the daemon, for a source in its consumer process).
        self._interrupted: Flag = interrupted if interrupted is not None else threading.Event()
        # the prediction and label topics, unless told otherwise (the pane topic)
        self.topics = list(topics or (settings.predictions_topic, settings.labels_topic))
        self.consumer_settings = dict(consumer_settings or {})
        self.assignment_timeout = assignment_timeout
        self._consumer: Any = None
        # the next offset of each partition after the records handed out (resumed from)
        self._handed_out: dict[TopicPartition, int] = {}
        self._all_partitions: set[Any] = set()
        self._owns_all = False
        self._paused = False
        self._started = False
        # since when (monotonic) the partitions are revoked and not yet assigned again, or the
        # consumer was last replaced while they were
        self._unassigned_since: float | None = None
        self._last_commit: Any = None  # kafka-python's future of the last commit, and its offsets
        self._last_offsets: dict[Any, Any] = {}

    # -- start ---------------------------------------------------------------------------------

    def interrupt(self) -> None:
        """Make a start still in progress give up (safe from a signal handler)."""
        self._interrupted.set()

    def _connect(self) -> Any:
        """The consumer, once the cluster answers (within ``kafka.startup_timeout``)."""
        from kafka import KafkaConsumer
        from kafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor
        from kafka.errors import KafkaConnectionError, KafkaTimeoutError

        logger.info("event=kafka_connecting startup_timeout=%gs", self.settings.startup_timeout)
        configs = {
            "group_id": self.settings.group_id,
            "group_instance_id": self.instance_id,
            "session_timeout_ms": self.settings.session_timeout_ms,
            "enable_auto_commit": False,
            "auto_offset_reset": "earliest",
            # Round robin over both topics: a second member always gets a share, so both
            # instances see a partial assignment and the conflict is detected.
            "partition_assignment_strategy": [RoundRobinPartitionAssignor],
            "max_poll_records": self.settings.max_poll_records,
            "fetch_max_bytes": 64 * 1024 * 1024,
            "max_partition_fetch_bytes": 8 * 1024 * 1024,
            "reconnect_backoff_max_ms": 2000,
            **self.consumer_settings,
            **kafka_client_settings(self.settings),
        }
        try:
            return create_client(
                KafkaConsumer, configs, self.settings.startup_timeout, self._interrupted
            )
        except (KafkaTimeoutError, KafkaConnectionError):
            raise KafkaUnreachableError(unreachable_message(self.settings)) from None

    def start(self, positions: Mapping[TopicPartition, int]) -> None:
        """Connect, check the topics and wait until this instance owns every partition.

        Raises :class:`KafkaUnreachableError`, :class:`GroupConflictError`,
        :class:`SourceError` or, after :meth:`interrupt`, :class:`StartInterrupted`.
        """
        from kafka import TopicPartition as KafkaTopicPartition
        from kafka.errors import KafkaError

        self._handed_out = dict(positions)
        started = time.monotonic()
        consumer = self._connect()
        self._consumer = consumer
        counts = {}
        for topic in self.topics:
            partitions = self._topic_partitions(topic, started + self.settings.startup_timeout)
            if not partitions:
                consumer.close(autocommit=False)
                raise SourceError(
                    f"topic {topic!r} does not exist on {self.settings.bootstrap_servers}; "
                    + (
                        "create it (same partition count for predictions and labels)"
                        if len(self.topics) == 2
                        else "is the counting job running? (docs/scaling.md)"
                    )
                )
            counts[topic] = len(partitions)
            self._all_partitions.update(KafkaTopicPartition(topic, p) for p in partitions)
        if len(self.topics) == 2:
            log_co_partitioning(counts, self.topics)
        self._subscribe(consumer)
        deadline = time.monotonic() + self.assignment_timeout
        while not self._started:
            if self._interrupted.is_set():
                self.close(timeout=5.0)
                raise StartInterrupted("stop requested while waiting for partitions")
            # Positions are not advanced here: records seen now are fetched again later. Once
            # the rebalance has begun, the join is waited for REJOIN_WAIT at a time.
            wait = 0.2 if self._unassigned_since is None else REJOIN_WAIT
            try:
                consumer.poll(timeout_ms=int(wait * 1000), max_records=1, update_offsets=False)
            except (KafkaError, OSError) as error:  # the cluster went away: wait for it
                connection_failed(f"poll failed: {error}")
                if time.monotonic() > deadline:
                    self.close(timeout=5.0)
                    raise KafkaUnreachableError(unreachable_message(self.settings)) from None
                time.sleep(min(wait, 0.5))
                continue
            if consumer.assignment() and not self._owns_all:
                message = conflict_message(
                    self.settings.group_id,
                    consumer.assignment(),
                    self._all_partitions,
                    self.topics,
                )
                self.close()
                raise GroupConflictError(message)
            if self._owns_all:
                self._started = True
            elif time.monotonic() > deadline:
                self.close()
                raise SourceError(
                    f"no partitions assigned by consumer group {self.settings.group_id!r} "
                    f"within {self.assignment_timeout:.0f}s"
                )

    def _topic_partitions(self, topic: str, deadline: float) -> set[int] | None:
        """The partitions of ``topic``, asking again while the cluster does not answer (it may
        go away right after the connection was made) until ``deadline`` (monotonic): then
        :class:`KafkaUnreachableError`; after :meth:`interrupt`, :class:`StartInterrupted`."""
        from kafka.errors import KafkaError

        while True:
            try:
                partitions: set[int] | None = self._consumer.partitions_for_topic(topic)
                return partitions
            except (KafkaError, OSError) as error:
                connection_failed(f"metadata of {topic} failed: {error}")
                if self._interrupted.is_set():
                    self.close(timeout=5.0)
                    raise StartInterrupted("stop requested while the cluster was away") from None
                if time.monotonic() > deadline:
                    self.close(timeout=5.0)
                    raise KafkaUnreachableError(unreachable_message(self.settings)) from None
                time.sleep(0.5)

    def _subscribe(self, consumer: Any) -> None:
        from kafka.consumer.subscription_state import ConsumerRebalanceListener

        source = self

        class Listener(ConsumerRebalanceListener):
            def on_partitions_revoked(self, revoked: Any) -> None:
                # also called for partitions lost (a session that expired): a rebalance begins
                logger.info("event=partitions_revoked count=%d", len(revoked))
                source._on_revoked()

            def on_partitions_assigned(self, assigned: Any) -> None:
                source._on_assigned(set(assigned))

        consumer.subscribe(self.topics, listener=Listener())
        # kafka-python notes the topics' partitions for the group only on a metadata update after
        # subscribing; a first join before it is followed by a second rebalance as soon as one
        # comes (after every start). Fetching the metadata now leaves the first join the only one.
        try:
            consumer.topics()
        except Exception as error:  # at stake is only a second rebalance
            logger.debug("event=metadata_refresh_failed error=%s", error)

    def _on_revoked(self) -> None:
        if self._unassigned_since is None:
            self._unassigned_since = time.monotonic()

    def _on_assigned(self, assigned: set[Any]) -> None:
        consumer = self._consumer
        since, self._unassigned_since = self._unassigned_since, None
        unassigned_for = 0.0 if since is None else time.monotonic() - since
        if assigned != self._all_partitions:
            self._owns_all = False
            if self._started:
                logger.error(
                    "event=partial_assignment assigned=%d partitions=%d group=%s "
                    "action=paused_until_every_partition_is_owned_again",
                    len(assigned),
                    len(self._all_partitions),
                    self.settings.group_id,
                )
                if assigned:
                    consumer.pause(*assigned)
            return
        self._owns_all = True
        positions = self._handed_out
        for partition in assigned:
            offset = positions.get((partition.topic, partition.partition))
            if offset is None:
                consumer.seek_to_beginning(partition)
            else:
                consumer.seek(partition, offset)
        if self._paused:
            consumer.pause(*assigned)
        else:
            consumer.resume(*assigned)
        logger.info(
            "event=partitions_assigned count=%d resumed_from_checkpoint=true unassigned_for=%.1fs",
            len(assigned),
            unassigned_for,
        )

    # -- running -------------------------------------------------------------------------------

    def _poll(self, max_records: int, timeout: float) -> dict[Any, list[Any]]:
        """kafka-python's next records by partition (none while the broker is away:
        kafka-python reconnects by itself)."""
        from kafka.errors import KafkaError

        if self._unassigned_since is not None:
            if time.monotonic() - self._unassigned_since > REJOIN_TIMEOUT:
                self._restart_consumer()
            timeout = max(timeout, REJOIN_WAIT)  # the join is waited for (module docstring)
        try:
            batches = self._consumer.poll(timeout_ms=int(timeout * 1000), max_records=max_records)
        except (KafkaError, OSError) as error:
            # A broker outage surfaces here (metadata refresh, offset validation); positions are
            # unchanged, so polling again after a pause loses nothing. Logged once per outage.
            connection_failed(f"poll failed: {error}")
            time.sleep(min(max(timeout, 0.1), 1.0))
            return {}
        if not self._owns_all:
            return {}
        for partition, messages in batches.items():
            if messages:
                self._handed_out[(partition.topic, partition.partition)] = messages[-1].offset + 1
        return batches

    def _restart_consumer(self) -> None:
        """Replace a consumer whose rebalance has not completed within ``REJOIN_TIMEOUT`` by a
        new one, which joins the group again (and resumes from the positions handed out); a
        new one that cannot connect is tried again after another ``REJOIN_TIMEOUT``."""
        since = self._unassigned_since or time.monotonic()
        logger.warning(
            "event=consumer_restarted reason=partitions_not_assigned_again group=%s "
            "unassigned_for=%.0fs",
            self.settings.group_id,
            time.monotonic() - since,
        )
        self._unassigned_since = time.monotonic()
        try:
            consumer = self._connect()
        except SourceError as error:
            logger.warning("event=consumer_restart_failed error=%s", error)
            return
        except StartInterrupted:  # the daemon is stopping: it closes the consumer it has
            return
        old, self._consumer = self._consumer, consumer
        with contextlib.suppress(Exception):  # it is replaced whatever state it is in
            old.close(autocommit=False, timeout_ms=2000)
        self._subscribe(consumer)

    @property
    def handed_out(self) -> Mapping[TopicPartition, int]:
        """The next offset of each partition after the records handed out so far: where a
        partition assigned to this instance again resumes (the caller counts every record it is
        handed before it polls again, so this is what it has counted)."""
        return self._handed_out

    def poll(self, max_records: int, timeout: float) -> list[Record]:
        """The next records (empty while the broker is away)."""
        # kafka-python's ConsumerRecord has the fields of Record (topic, partition, offset, key,
        # value) and more; it is handed on as is rather than copied record by record.
        out: list[Record] = []
        for messages in self._poll(max_records, timeout).values():
            out.extend(messages)
        return out

    def poll_decoded(
        self, max_records: int, timeout: float, decoder: BatchDecoder
    ) -> DecodedBatch | None:
        """The next records (:meth:`poll`), decoded; ``None`` when there were none."""
        records = self.poll(max_records, timeout)
        return decoder.records(records) if records else None

    def poll_runs(self, max_records: int, timeout: float) -> list[RecordRun]:
        """The next records as one run of columns per partition (see
        :class:`monitor.stream.decode.RecordColumns`), in offset order."""
        return [
            (
                partition.topic,
                partition.partition,
                [message.offset for message in messages],
                [message.key for message in messages],
                [message.value for message in messages],
            )
            for partition, messages in self._poll(max_records, timeout).items()
            if messages
        ]

    def commit(self, positions: Mapping[TopicPartition, int]) -> None:
        """Commit the checkpointed positions to Kafka (asynchronously; failures only logged)."""
        from kafka import OffsetAndMetadata
        from kafka import TopicPartition as KafkaTopicPartition

        if not self._owns_all:
            return
        offsets = {
            KafkaTopicPartition(topic, partition): OffsetAndMetadata(offset, "", -1)
            for (topic, partition), offset in positions.items()
        }
        try:
            self._last_commit = self._consumer.commit_async(offsets)
            self._last_offsets = offsets
        except Exception as error:  # Kafka's copy of the offsets is advisory
            logger.warning("event=kafka_commit_failed error=%s", error)

    def pause(self) -> None:
        if not self._paused:
            self._paused = True
            self._consumer.pause(*self._consumer.assignment())

    def resume(self) -> None:
        if self._paused:
            self._paused = False
            if self._owns_all:
                self._consumer.resume(*self._consumer.assignment())

    def lag(self, positions: Mapping[TopicPartition, int]) -> dict[TopicPartition, int]:
        """Records behind the high-water marks known from the last fetches, per partition."""
        lag: dict[TopicPartition, int] = {}
        for partition in self._consumer.assignment():
            highwater = self._consumer.highwater(partition)
            if highwater is None:
                continue
            key = (partition.topic, partition.partition)
            lag[key] = max(0, highwater - positions.get(key, 0))
        return lag

    def partitions(self) -> set[TopicPartition]:
        return {(partition.topic, partition.partition) for partition in self._all_partitions}

    def is_ready(self) -> bool:
        """Whether this instance owns every partition (not while the group rebalances)."""
        return self._owns_all and self._unassigned_since is None

    def is_idle(self) -> bool:
        return False

    def close(self, timeout: float = 10.0) -> None:
        """Close the consumer and leave the group (a static member must be removed explicitly,
        else its partitions stay assigned to it until its session times out), within about
        ``timeout`` seconds even when the cluster does not answer."""
        if self._consumer is None:
            return
        deadline = time.monotonic() + timeout
        share = max(0.1, timeout / 3)
        try:
            self._finish_commit(share)
            self._consumer.close(autocommit=False, timeout_ms=int(share * 1000))
        finally:
            self._consumer = None
            self._owns_all = False
            leave_group(self.settings, self.instance_id, max(0.5, deadline - time.monotonic()))

    def _finish_commit(self, timeout: float) -> None:
        """Commit the last offsets (the final checkpoint's) before closing, which would cancel
        the asynchronous commit still in flight; within ``timeout`` seconds."""
        pending = self._last_commit
        if pending is None or pending.is_done or not self._owns_all:
            return
        try:
            self._consumer.commit(self._last_offsets, timeout_ms=int(timeout * 1000))
        except Exception as error:  # advisory, like every commit to Kafka
            logger.warning(
                "event=kafka_commit_failed error=%s waited=%.1fs", type(error).__name__, timeout
            )
