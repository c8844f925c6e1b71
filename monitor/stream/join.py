"""The delayed-label join: predictions waiting for labels, and labels waiting for predictions.

The store lives on disk, in the state database (SQLite, WAL), so millions of pending predictions
cost disk, not RAM. It shares the state's connection and transaction: the pending rows, the window
counts and the consumed offsets are committed together (see :mod:`monitor.stream.state`).

A pending prediction keeps only what the join needs, packed in one fixed-size record (binding
one blob instead of eight columns makes inserts several times faster): event time, score, model
(a number from ``pending_models``), partition, the window specifications that counted it (a bit
mask), the decision, and its group rows (the model's :class:`monitor.stream.window.GroupIndex`
rows).
The label is a column of its own (``-1`` until known). Rows stay after their label arrived so that
a duplicate label is recognised; they leave when the label horizon has passed.

Expiry needs no time index: each insert batch is recorded in ``pending_batches`` with its rowid
range and its latest event time, and a whole range is deleted once that time is past the
horizon. A label whose prediction is unknown waits in ``early_labels`` until the prediction
arrives or the horizon passes (an *orphan*).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

SCHEMA = """
CREATE TABLE IF NOT EXISTS pending (
    prediction_id TEXT NOT NULL UNIQUE,
    label INTEGER NOT NULL,
    record BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS pending_batches (
    last_rowid INTEGER PRIMARY KEY,
    first_rowid INTEGER NOT NULL,
    max_ts REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS pending_batches_by_time ON pending_batches (max_ts);
CREATE TABLE IF NOT EXISTS pending_models (
    number INTEGER PRIMARY KEY,
    model TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS early_labels (
    prediction_id TEXT PRIMARY KEY,
    label INTEGER NOT NULL,
    arrived REAL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS early_labels_by_arrival ON early_labels (arrived);
"""

_CHUNK = 500  # ids per IN (...) query, below SQLite's parameter limit


def record_type(group_columns: int) -> np.dtype:
    """The packed layout of one pending prediction."""
    return np.dtype(
        [
            ("ts", "<f8"),
            ("score", "<f8"),
            ("model", "<i4"),
            ("partition", "<i4"),
            ("specs", "<i4"),
            ("prediction", "i1"),
            ("groups", "<i4", (group_columns,)),
        ]
    )


@dataclass(frozen=True)
class Found:
    """Stored predictions read back for a batch of labels (columnar)."""

    prediction_id: list[str]
    label: np.ndarray
    records: np.ndarray  # of record_type
    models: list[str]  # model name of each row


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


class PendingStore:
    """Pending predictions and early labels in the state database (no commit of its own)."""

    def __init__(self, connection: sqlite3.Connection, group_columns: int) -> None:
        self.connection = connection  # the schema is created by monitor.stream.state.StateStore
        self.dtype = record_type(group_columns)
        self.models: dict[str, int] = dict(
            connection.execute("SELECT model, number FROM pending_models").fetchall()
        )
        self.model_names = {number: model for model, number in self.models.items()}
        self.waiting_predictions = self._count("SELECT COUNT(*) FROM pending WHERE label = -1")
        self.stored_predictions = self._count("SELECT COUNT(*) FROM pending")
        self.early_labels = self._count("SELECT COUNT(*) FROM early_labels")

    def _count(self, sql: str, *parameters: object) -> int:
        row = self.connection.execute(sql, parameters).fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    def _model_number(self, model: str) -> int:
        number = self.models.get(model)
        if number is None:
            number = len(self.models)
            self.connection.execute("INSERT INTO pending_models VALUES (?, ?)", (number, model))
            self.models[model] = number
            self.model_names[number] = model
        return number

    # -- predictions ---------------------------------------------------------------------------

    def known(self, prediction_ids: Sequence[str]) -> set[str]:
        """Which of ``prediction_ids`` are already stored (duplicates)."""
        if not self.stored_predictions:
            return set()
        found: set[str] = set()
        for chunk in _chunks(prediction_ids):
            marks = ",".join("?" * len(chunk))
            found.update(
                row[0]
                for row in self.connection.execute(
                    f"SELECT prediction_id FROM pending WHERE prediction_id IN ({marks})", chunk
                )
            )
        return found

    def take_early_labels(self, prediction_ids: Sequence[str]) -> dict[str, int]:
        """Labels that arrived before these predictions; they leave the early-label table."""
        if not self.early_labels:
            return {}
        found: dict[str, int] = {}
        for chunk in _chunks(prediction_ids):
            marks = ",".join("?" * len(chunk))
            found.update(
                self.connection.execute(
                    "SELECT prediction_id, label FROM early_labels "
                    f"WHERE prediction_id IN ({marks})",
                    chunk,
                ).fetchall()
            )
        if found:
            self.connection.executemany(
                "DELETE FROM early_labels WHERE prediction_id = ?", [(key,) for key in found]
            )
            self.early_labels -= len(found)
        return found

    def add_predictions(
        self,
        prediction_ids: Sequence[str],
        models: Sequence[str],
        timestamps: np.ndarray,
        partitions: np.ndarray,
        groups: np.ndarray,
        predictions: np.ndarray,
        scores: np.ndarray,
        labels: np.ndarray,
        specs: np.ndarray,
    ) -> None:
        """Store new predictions (``groups`` is ``rows × group columns``; NaN score = none)."""
        count = len(prediction_ids)
        if not count:
            return
        records = np.zeros(count, dtype=self.dtype)
        records["ts"] = timestamps
        records["score"] = scores
        first = models[0]
        if all(model == first for model in models):
            records["model"] = self._model_number(first)
        else:
            records["model"] = [self._model_number(model) for model in models]
        records["partition"] = partitions
        records["specs"] = specs
        records["prediction"] = predictions
        records["groups"] = groups
        packed = records.tobytes()
        size = self.dtype.itemsize
        rows = zip(
            prediction_ids,
            labels.tolist(),
            [packed[start : start + size] for start in range(0, len(packed), size)],
            strict=True,
        )
        last_before = self._count("SELECT MAX(rowid) FROM pending")
        self.connection.executemany("INSERT INTO pending VALUES (?, ?, ?)", rows)
        last = self._count("SELECT MAX(rowid) FROM pending")
        self.connection.execute(
            "INSERT INTO pending_batches VALUES (?, ?, ?)",
            (last, last_before + 1, float(timestamps.max())),
        )
        self.stored_predictions += count
        self.waiting_predictions += int((labels < 0).sum())

    # -- labels --------------------------------------------------------------------------------

    def lookup(self, prediction_ids: Sequence[str]) -> Found:
        """The stored predictions among ``prediction_ids``."""
        ids: list[str] = []
        labels: list[int] = []
        blobs: list[bytes] = []
        if self.stored_predictions:
            for chunk in _chunks(prediction_ids):
                marks = ",".join("?" * len(chunk))
                for key, label, blob in self.connection.execute(
                    "SELECT prediction_id, label, record FROM pending "
                    f"WHERE prediction_id IN ({marks})",
                    chunk,
                ):
                    ids.append(key)
                    labels.append(label)
                    blobs.append(blob)
        records = np.frombuffer(b"".join(blobs), dtype=self.dtype)
        names = self.model_names
        return Found(
            prediction_id=ids,
            label=np.asarray(labels, dtype=np.int64),
            records=records,
            models=[names[number] for number in records["model"].tolist()],
        )

    def set_labels(self, labels: Sequence[tuple[str, int]]) -> None:
        """Record the labels of waiting predictions (``(prediction_id, label)`` pairs)."""
        self.connection.executemany(
            "UPDATE pending SET label = ? WHERE prediction_id = ?",
            [(label, prediction_id) for prediction_id, label in labels],
        )
        self.waiting_predictions -= len(labels)

    def hold_labels(self, labels: Sequence[tuple[str, int]], arrived: float | None) -> int:
        """Keep labels whose prediction has not arrived; returns how many were new.

        ``arrived`` is the event-time clock at arrival (``None`` before any prediction was seen:
        the clock is then stamped by the next :meth:`expire`)."""
        before = self.connection.total_changes
        self.connection.executemany(
            "INSERT OR IGNORE INTO early_labels VALUES (?, ?, ?)",
            [(prediction_id, label, arrived) for prediction_id, label in labels],
        )
        added = self.connection.total_changes - before
        self.early_labels += added
        return added

    # -- horizon -------------------------------------------------------------------------------

    def expire(
        self, predictions_before: float, labels_before: float, clock: float
    ) -> tuple[int, int]:
        """Forget predictions older than ``predictions_before`` (event time; whole insert
        batches whose latest event is older) and early labels held since before
        ``labels_before``; returns (unlabeled predictions expired, orphans). Labels that arrived
        before the clock started are stamped with ``clock``."""
        execute = self.connection.execute
        execute("UPDATE early_labels SET arrived = ? WHERE arrived IS NULL", (clock,))
        unlabeled = removed = 0
        batches = execute(
            "SELECT first_rowid, last_rowid FROM pending_batches WHERE max_ts < ?",
            (predictions_before,),
        ).fetchall()
        for first, last in batches:
            unlabeled += self._count(
                "SELECT COUNT(*) FROM pending WHERE rowid BETWEEN ? AND ? AND label = -1",
                first,
                last,
            )
            removed += execute(
                "DELETE FROM pending WHERE rowid BETWEEN ? AND ?", (first, last)
            ).rowcount
            execute("DELETE FROM pending_batches WHERE last_rowid = ?", (last,))
        orphans = execute("DELETE FROM early_labels WHERE arrived < ?", (labels_before,)).rowcount
        self.stored_predictions -= removed
        self.waiting_predictions -= unlabeled
        self.early_labels -= orphans
        return unlabeled, orphans
