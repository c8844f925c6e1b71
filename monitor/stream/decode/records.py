"""Raw records as they come from a topic partition, one by one or in columns.

A source hands out :class:`Record` tuples (the embedded source, the Kafka consumer in process) or
per-partition runs of columns (:data:`RecordRun`, from the consumer process and the replay); the
decoders read both as :class:`RecordColumns`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np


class Record(NamedTuple):
    """One raw message as it came from a topic partition."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


# The records of one topic partition in columns: (topic, partition, offsets, keys, values).
RecordRun = tuple[str, int, list[int], list[bytes | None], list[bytes | None]]


@dataclass
class RecordColumns:
    """Records of one topic in columns: what the decoders read, and (as :data:`RecordRun`
    pieces) how the consumer process hands records over (a few lists pickle many times faster
    than a list of tuples)."""

    topic: str
    partition: np.ndarray  # int64, one per record
    offset: list[int]
    key: list[bytes | None]
    value: list[bytes | None]
    records: Sequence[Record] | None = None  # the records these columns were made from

    def __len__(self) -> int:
        return len(self.value)

    def record(self, index: int) -> Record:
        """The record at ``index`` (the original object when made from records)."""
        if self.records is not None:
            return self.records[index]
        return Record(
            self.topic,
            int(self.partition[index]),
            self.offset[index],
            self.key[index],
            self.value[index],
        )

    @classmethod
    def of(cls, records: Sequence[Record] | RecordColumns) -> RecordColumns:
        if isinstance(records, RecordColumns):
            return records
        return cls(
            records[0].topic if records else "",
            np.fromiter((record.partition for record in records), np.int64, len(records)),
            [record.offset for record in records],
            [record.key for record in records],
            [record.value for record in records],
            records,
        )

    @classmethod
    def from_runs(cls, topic: str, runs: Sequence[RecordRun]) -> RecordColumns:
        """One topic's records from its partitions' runs, in the order given."""
        offsets: list[int] = []
        keys: list[bytes | None] = []
        values: list[bytes | None] = []
        for _topic, _partition, run_offsets, run_keys, run_values in runs:
            offsets.extend(run_offsets)
            keys.extend(run_keys)
            values.extend(run_values)
        partition = np.repeat(
            np.asarray([run[1] for run in runs], dtype=np.int64),
            [len(run[2]) for run in runs],
        )
        return cls(topic, partition, offsets, keys, values)
