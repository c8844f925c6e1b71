"""The checkpoint: window counts, pending joins and consumed offsets in one SQLite transaction.

Everything the pipeline needs to resume lives in ``<state_dir>/state.sqlite`` (WAL mode). The
pipeline works inside one open transaction: pending-join rows are written as batches are
processed, and :meth:`StateStore.checkpoint` adds the changed panes, new group rows, the next
offset of every input partition, the event-time clock and the windows not yet confirmed written by
the sink, then commits. A crash at any moment therefore leaves the last checkpoint, whose state
matches its offsets exactly: the consumer seeks there and nothing is lost or counted twice.
(bytewax's resume state: the snapshot is the offset after the last item handed out.)
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from monitor.config.pipeline import DEFAULT_STATE_CACHE_MB
from monitor.stream.join import SCHEMA as JOIN_SCHEMA
from monitor.stream.window import GroupIndex, PaneCounts, PaneKey, WindowKey
from monitor.types import TopicPartition

SCHEMA = """
CREATE TABLE IF NOT EXISTS panes (
    spec TEXT NOT NULL, model TEXT NOT NULL, pane_start REAL NOT NULL, partition INTEGER NOT NULL,
    rows INTEGER NOT NULL, counts BLOB NOT NULL,
    PRIMARY KEY (spec, model, pane_start, partition)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS group_rows (
    model TEXT NOT NULL, row INTEGER NOT NULL, attribute TEXT NOT NULL, grp TEXT NOT NULL,
    PRIMARY KEY (model, row)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS offsets (
    topic TEXT NOT NULL, partition INTEGER NOT NULL, next_offset INTEGER NOT NULL,
    PRIMARY KEY (topic, partition)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS unflushed (
    spec TEXT NOT NULL, model TEXT NOT NULL, window_start REAL NOT NULL,
    PRIMARY KEY (spec, model, window_start)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
"""


@dataclass
class Snapshot:
    """What a checkpoint restores."""

    panes: dict[PaneKey, np.ndarray] = field(default_factory=dict)
    group_indexes: dict[str, GroupIndex] = field(default_factory=dict)
    offsets: dict[TopicPartition, int] = field(default_factory=dict)
    unflushed: set[WindowKey] = field(default_factory=set)
    meta: dict[str, object] = field(default_factory=dict)


def connect(path: Path, cache_mb: int = DEFAULT_STATE_CACHE_MB) -> sqlite3.Connection:
    """Open the state database in WAL mode with manual transactions."""
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA journal_mode=WAL")
    # NORMAL is durable against a crash of the process (kill -9); a power loss may lose the
    # last checkpoint, which then replays from the previous one (still consistent).
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute(f"PRAGMA cache_size=-{cache_mb * 1024}")
    connection.execute("PRAGMA temp_store=FILE")
    connection.execute("PRAGMA wal_autocheckpoint=10000")
    return connection


class StateLockedError(RuntimeError):
    """Another process uses the state directory."""


def lock_state_dir(state_dir: Path) -> int:
    """Hold an exclusive lock on ``state_dir`` for the life of the process (or raise)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / "lock"
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        holder = os.pread(descriptor, 32, 0).decode(errors="replace").strip() or "unknown"
        os.close(descriptor)
        raise StateLockedError(
            f"state_dir {state_dir} is in use by another fairwatch process (pid {holder}); "
            "each instance needs its own state_dir"
        ) from None
    os.ftruncate(descriptor, 0)
    os.pwrite(descriptor, str(os.getpid()).encode(), 0)
    return descriptor


class StateStore:
    """The checkpoint database; the pipeline's writes stay in one transaction until committed."""

    def __init__(self, state_dir: str | Path, cache_mb: int = DEFAULT_STATE_CACHE_MB) -> None:
        self._lock = lock_state_dir(Path(state_dir))
        self.path = Path(state_dir) / "state.sqlite"
        self.connection = connect(self.path, cache_mb)
        self.connection.executescript(SCHEMA + JOIN_SCHEMA)
        self._saved_group_rows: dict[str, int] = {}
        self.connection.execute("BEGIN")

    def load(self) -> Snapshot:
        """Read the last committed checkpoint (call right after opening)."""
        snapshot = Snapshot()
        rows: dict[str, list[tuple[int, str, str]]] = {}
        for model, row, attribute, group in self.connection.execute(
            "SELECT model, row, attribute, grp FROM group_rows ORDER BY model, row"
        ):
            rows.setdefault(model, []).append((row, attribute, group))
        for model, entries in rows.items():
            snapshot.group_indexes[model] = GroupIndex((a, g) for _r, a, g in entries)
            self._saved_group_rows[model] = len(entries)
        for spec, model, start, partition, count, blob in self.connection.execute(
            "SELECT spec, model, pane_start, partition, rows, counts FROM panes"
        ):
            matrix = np.frombuffer(blob, dtype=np.int64).reshape(count, -1).copy()
            snapshot.panes[(spec, model, start, partition)] = matrix
        snapshot.offsets = {
            (topic, partition): offset
            for topic, partition, offset in self.connection.execute(
                "SELECT topic, partition, next_offset FROM offsets"
            )
        }
        snapshot.unflushed = {
            (spec, model, start)
            for spec, model, start in self.connection.execute(
                "SELECT spec, model, window_start FROM unflushed"
            )
        }
        snapshot.meta = {
            key: json.loads(value)
            for key, value in self.connection.execute("SELECT key, value FROM meta")
        }
        return snapshot

    def checkpoint(
        self,
        panes: PaneCounts,
        group_indexes: Mapping[str, GroupIndex],
        offsets: Mapping[TopicPartition, int],
        unflushed: Iterable[WindowKey],
        meta: Mapping[str, object],
    ) -> None:
        """Write the changes since the last checkpoint and commit them with the offsets."""
        execute = self.connection.execute
        for model, index in group_indexes.items():
            saved = self._saved_group_rows.get(model, 0)
            if len(index) > saved:
                self.connection.executemany(
                    "INSERT OR REPLACE INTO group_rows VALUES (?, ?, ?, ?)",
                    [(model, row, *index.keys[row]) for row in range(saved, len(index))],
                )
        self.connection.executemany(
            "DELETE FROM panes WHERE spec = ? AND model = ? AND pane_start = ? AND partition = ?",
            list(panes.removed_panes),
        )
        changed = []
        for key in panes.dirty_panes:
            matrix = panes.matrix(key)
            if matrix is not None:
                changed.append((*key, matrix.shape[0], np.ascontiguousarray(matrix).tobytes()))
        self.connection.executemany(
            "INSERT OR REPLACE INTO panes VALUES (?, ?, ?, ?, ?, ?)", changed
        )
        self.connection.executemany(
            "INSERT OR REPLACE INTO offsets VALUES (?, ?, ?)",
            [(topic, partition, offset) for (topic, partition), offset in offsets.items()],
        )
        execute("DELETE FROM unflushed")
        self.connection.executemany("INSERT INTO unflushed VALUES (?, ?, ?)", list(unflushed))
        self.connection.executemany(
            "INSERT OR REPLACE INTO meta VALUES (?, ?)",
            [(key, json.dumps(value)) for key, value in meta.items()],
        )
        execute("COMMIT")
        execute("BEGIN")
        for model, index in group_indexes.items():
            self._saved_group_rows[model] = len(index)
        panes.dirty_panes.clear()
        panes.removed_panes.clear()

    def close(self) -> None:
        """Close without committing (the open transaction is rolled back)."""
        with contextlib.suppress(sqlite3.OperationalError):
            self.connection.execute("ROLLBACK")
        self.connection.close()
        self.release()

    def release(self) -> None:
        """Give up the state directory lock (closing the connection first is the caller's)."""
        if self._lock >= 0:
            os.close(self._lock)
            self._lock = -1
