"""The pipeline without Kafka: records from memory and dead letters kept in a list (the demo's
in-process runs, ``fairwatch`` tests, benchmarks).

:class:`EmbeddedSource` is a :class:`monitor.types.Source` and :class:`MemoryDeadLetters` a
:class:`monitor.types.DeadLetters`, so the daemon runs them exactly as it runs Kafka.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from monitor.stream.decode import BatchDecoder, DecodedBatch, InvalidEvent, Record
from monitor.types import TopicPartition


class EmbeddedSource:
    """Records held in memory; behaves like one consumer owning all partitions. More records can
    be appended while the daemon runs."""

    def __init__(self, records: Sequence[Record] = ()) -> None:
        self.records: list[Record] = list(records)
        self._cursor = 0
        self._positions: Mapping[TopicPartition, int] = {}
        self._paused = False
        self.committed: dict[TopicPartition, int] = {}

    def append(self, records: Sequence[Record]) -> None:
        self.records.extend(records)

    def start(self, positions: Mapping[TopicPartition, int]) -> None:
        self._positions = dict(positions)

    def poll(self, max_records: int, timeout: float) -> list[Record]:
        """The next records after the positions started from (none while paused)."""
        if self._paused:
            return []
        out: list[Record] = []
        while self._cursor < len(self.records) and len(out) < max_records:
            record = self.records[self._cursor]
            self._cursor += 1
            if record.offset >= self._positions.get((record.topic, record.partition), 0):
                out.append(record)
        return out

    def poll_decoded(
        self, max_records: int, timeout: float, decoder: BatchDecoder
    ) -> DecodedBatch | None:
        """The next records (:meth:`poll`), decoded; ``None`` when there were none."""
        records = self.poll(max_records, timeout)
        return decoder.records(records) if records else None

    def commit(self, positions: Mapping[TopicPartition, int]) -> None:
        self.committed.update(positions)

    def pause(self) -> None:
        self._paused = True

    def resume(self) -> None:
        self._paused = False

    def lag(self, positions: Mapping[TopicPartition, int]) -> dict[TopicPartition, int]:
        lag = dict.fromkeys(self.partitions(), 0)
        for record in self.records[self._cursor :]:
            key = (record.topic, record.partition)
            lag[key] = lag.get(key, 0) + 1
        return lag

    def partitions(self) -> set[TopicPartition]:
        return {(record.topic, record.partition) for record in self.records}

    def is_ready(self) -> bool:
        return True

    def is_idle(self) -> bool:
        return self._cursor >= len(self.records)

    def interrupt(self) -> None:
        """Nothing to interrupt: starting never waits."""

    def close(self, timeout: float = 0.0) -> None:
        """Nothing to release."""


class MemoryDeadLetters:
    """Keeps dead letters in a list (the embedded pipeline and tests)."""

    def __init__(self) -> None:
        self.letters: list[InvalidEvent] = []

    def send(self, errors: Sequence[InvalidEvent]) -> None:
        self.letters.extend(errors)

    def flush(self, timeout: float) -> bool:
        return True

    def close(self, timeout: float = 0.0) -> None:
        """Nothing to release."""
