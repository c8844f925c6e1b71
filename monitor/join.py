"""The delayed-label join: predictions waiting for labels, and labels waiting for predictions.

The store lives on disk, in the state database (SQLite, WAL), so millions of pending predictions
cost disk, not RAM. It shares the state's connection and transaction: the pending rows, the window
counts and the consumed offsets are committed together (see :mod:`monitor.state`).

A pending prediction keeps only what the join needs: its model, event time, partition, group rows
(the model's :class:`monitor.window.GroupIndex` rows, int32), decision, score, the window
specifications that counted it (a bit mask), and its label once known (``-1`` before). Rows stay
after their label arrived so that a duplicate label is recognised; they leave when the label
horizon passes. A label whose prediction is unknown waits in ``early_labels`` until the prediction
arrives or the horizon passes (an *orphan*).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

SCHEMA = """
CREATE TABLE IF NOT EXISTS pending (
    prediction_id TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    ts REAL NOT NULL,
    partition INTEGER NOT NULL,
    groups BLOB NOT NULL,
    prediction INTEGER NOT NULL,
    score REAL,
    label INTEGER NOT NULL,
    specs INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS pending_by_time ON pending (ts);
CREATE TABLE IF NOT EXISTS early_labels (
    prediction_id TEXT PRIMARY KEY,
    label INTEGER NOT NULL,
    arrived REAL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS early_labels_by_arrival ON early_labels (arrived);
"""

_CHUNK = 500  # ids per IN (...) query, below SQLite's parameter limit


@dataclass(frozen=True)
class PendingPrediction:
    """A stored prediction as the join reads it back."""

    prediction_id: str
    model: str
    timestamp: float
    partition: int
    groups: np.ndarray
    prediction: int
    score: float
    label: int
    specs: int


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


class PendingStore:
    """Pending predictions and early labels in the state database (no commit of its own)."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection  # the schema is created by monitor.state.StateStore
        self.waiting_predictions = self._count("SELECT COUNT(*) FROM pending WHERE label = -1")
        self.stored_predictions = self._count("SELECT COUNT(*) FROM pending")
        self.early_labels = self._count("SELECT COUNT(*) FROM early_labels")

    def _count(self, sql: str, *parameters: object) -> int:
        row = self.connection.execute(sql, parameters).fetchone()
        return int(row[0]) if row else 0

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
        partitions: Sequence[int],
        groups: np.ndarray,
        predictions: np.ndarray,
        scores: np.ndarray,
        labels: np.ndarray,
        specs: np.ndarray,
    ) -> None:
        """Store new predictions (``groups`` is ``rows × attributes`` int32; NaN score = none)."""
        group_bytes = np.ascontiguousarray(groups, dtype=np.int32)
        rows = [
            (
                prediction_ids[index],
                models[index],
                float(timestamps[index]),
                int(partitions[index]),
                group_bytes[index].tobytes(),
                int(predictions[index]),
                None if scores[index] != scores[index] else float(scores[index]),
                int(labels[index]),
                int(specs[index]),
            )
            for index in range(len(prediction_ids))
        ]
        self.connection.executemany("INSERT INTO pending VALUES (?,?,?,?,?,?,?,?,?)", rows)
        self.stored_predictions += len(rows)
        self.waiting_predictions += int((labels < 0).sum())

    # -- labels --------------------------------------------------------------------------------

    def lookup(self, prediction_ids: Sequence[str]) -> dict[str, PendingPrediction]:
        """The stored predictions among ``prediction_ids``."""
        found: dict[str, PendingPrediction] = {}
        if not self.stored_predictions:
            return found
        for chunk in _chunks(prediction_ids):
            marks = ",".join("?" * len(chunk))
            for row in self.connection.execute(
                "SELECT prediction_id, model, ts, partition, groups, prediction, score, label, "
                f"specs FROM pending WHERE prediction_id IN ({marks})",
                chunk,
            ):
                found[row[0]] = PendingPrediction(
                    prediction_id=row[0],
                    model=row[1],
                    timestamp=row[2],
                    partition=row[3],
                    groups=np.frombuffer(row[4], dtype=np.int32),
                    prediction=row[5],
                    score=float("nan") if row[6] is None else row[6],
                    label=row[7],
                    specs=row[8],
                )
        return found

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
        """Forget predictions older than ``predictions_before`` (event time) and early labels
        held since before ``labels_before``; returns (unlabeled predictions expired, orphans).
        Labels that arrived before the clock started are stamped with ``clock``."""
        self.connection.execute(
            "UPDATE early_labels SET arrived = ? WHERE arrived IS NULL", (clock,)
        )
        unlabeled = self._count(
            "SELECT COUNT(*) FROM pending WHERE ts < ? AND label = -1", predictions_before
        )
        removed = self.connection.execute(
            "DELETE FROM pending WHERE ts < ?", (predictions_before,)
        ).rowcount
        orphans = self.connection.execute(
            "DELETE FROM early_labels WHERE arrived < ?", (labels_before,)
        ).rowcount
        self.stored_predictions -= removed
        self.waiting_predictions -= unlabeled
        self.early_labels -= orphans
        return unlabeled, orphans
