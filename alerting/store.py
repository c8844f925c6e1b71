"""SQLite persistence under the state dir: alert states, their history (every fire and resolve,
kept for reports over a period), notification log, outbox, Slack threads, retraining cooldowns
and silences. One file, WAL journal, each change one transaction, so a crash leaves either the
old or the new state (never a notification logged but not queued).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import orjson

from alerting.dedup import LogEntry
from alerting.model import AlertState, Notification
from alerting.silences import Matcher, Silence

_SCHEMA = """
CREATE TABLE IF NOT EXISTS alerts (
    fingerprint TEXT PRIMARY KEY, status TEXT NOT NULL, data BLOB NOT NULL, updated_at REAL);
CREATE TABLE IF NOT EXISTS nflog (
    receiver TEXT NOT NULL, group_key TEXT NOT NULL, firing TEXT NOT NULL,
    resolved TEXT NOT NULL, timestamp REAL NOT NULL, PRIMARY KEY (receiver, group_key));
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT, receiver TEXT NOT NULL, group_key TEXT NOT NULL,
    idempotency_key TEXT NOT NULL, payload BLOB NOT NULL, created_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at REAL NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending', last_error TEXT, delivered_at REAL);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (status, id);
CREATE INDEX IF NOT EXISTS outbox_delivered ON outbox (receiver, delivered_at);
CREATE TABLE IF NOT EXISTS threads (
    receiver TEXT NOT NULL, group_key TEXT NOT NULL, ref TEXT NOT NULL,
    PRIMARY KEY (receiver, group_key));
CREATE TABLE IF NOT EXISTS cooldowns (
    receiver TEXT NOT NULL, model_id TEXT NOT NULL, last_at REAL NOT NULL,
    PRIMARY KEY (receiver, model_id));
CREATE TABLE IF NOT EXISTS episodes (
    receiver TEXT NOT NULL, episode TEXT NOT NULL, at REAL NOT NULL,
    PRIMARY KEY (receiver, episode));
CREATE TABLE IF NOT EXISTS silences (
    id TEXT PRIMARY KEY, data TEXT NOT NULL, starts_at REAL NOT NULL, ends_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS alert_history (
    fingerprint TEXT NOT NULL, status TEXT NOT NULL, at REAL NOT NULL, data BLOB NOT NULL,
    PRIMARY KEY (fingerprint, status, at));
"""


def _transition_time(state: AlertState) -> float:
    """When ``state`` fired or resolved (``updated_at`` when it says neither)."""
    moment = state.fired_at if state.status == "firing" else state.resolved_at
    return state.updated_at if moment is None else moment


@dataclass(frozen=True)
class OutboxItem:
    id: int
    receiver: str
    group_key: str
    idempotency_key: str
    notification: Notification
    created_at: float
    attempts: int
    next_attempt_at: float


@dataclass(frozen=True)
class Enqueue:
    """One notification to queue (if any) and the notification-log entry it implies (if any)."""

    receiver: str
    group_key: str
    idempotency_key: str = ""
    notification: Notification | None = None
    log: LogEntry | None = None


class AlertStore:
    """All durable state of the alert manager in ``path`` (created if missing)."""

    def __init__(self, path: str | Path, durable: bool = True) -> None:
        """``durable``: each transaction is on disk when it commits (fsync); a replay whose
        state is thrown away at its end (``fairwatch backtest``) passes ``False``."""
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(
            str(self.path), isolation_level=None, check_same_thread=False, timeout=10.0
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(f"PRAGMA synchronous={'FULL' if durable else 'OFF'}")
        self._db.executescript(_SCHEMA)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # alert states ---------------------------------------------------------------------------
    def load_alerts(self) -> list[AlertState]:
        with self._lock:
            rows = self._db.execute("SELECT data FROM alerts").fetchall()
        return [AlertState.from_json(row[0]) for row in rows]

    def save_alerts(
        self,
        states: Sequence[AlertState],
        deleted: Sequence[str] = (),
        transitions: Sequence[AlertState] = (),
    ) -> None:
        """Save ``states``, forget ``deleted`` and append ``transitions`` (states that have
        just fired or resolved) to the history, in one transaction."""
        with self._transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO alerts VALUES (?, ?, ?, ?)",
                [(s.fingerprint, s.status, s.to_json(), s.updated_at) for s in states],
            )
            db.executemany("DELETE FROM alerts WHERE fingerprint = ?", [(f,) for f in deleted])
            db.executemany(
                "INSERT OR IGNORE INTO alert_history VALUES (?, ?, ?, ?)",
                [(s.fingerprint, s.status, _transition_time(s), s.to_json()) for s in transitions],
            )

    def alert_history(self, until: float | None = None) -> list[AlertState]:
        """Every fire and resolve recorded (the state right after it), oldest first; with
        ``until``, those at or before it. Unlike :meth:`load_alerts`, nothing is forgotten."""
        query = "SELECT data FROM alert_history"
        params: tuple[float, ...] = ()
        if until is not None:
            query += " WHERE at <= ?"
            params = (until,)
        with self._lock:
            rows = self._db.execute(query + " ORDER BY at, fingerprint, status", params).fetchall()
        return [AlertState.from_json(row[0]) for row in rows]

    # notification log and outbox -----------------------------------------------------------
    def log_entry(self, receiver: str, group_key: str) -> LogEntry | None:
        with self._lock:
            row = self._db.execute(
                "SELECT firing, resolved, timestamp FROM nflog WHERE receiver=? AND group_key=?",
                (receiver, group_key),
            ).fetchone()
        if row is None:
            return None
        return LogEntry(frozenset(orjson.loads(row[0])), frozenset(orjson.loads(row[1])), row[2])

    def enqueue(self, items: Sequence[Enqueue], now: float) -> None:
        """Queue notifications and record their log entries atomically."""
        with self._transaction() as db:
            for item in items:
                if item.notification is not None:
                    db.execute(
                        "INSERT INTO outbox (receiver, group_key, idempotency_key, payload,"
                        " created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?)",
                        (
                            item.receiver,
                            item.group_key,
                            item.idempotency_key,
                            item.notification.to_json(),
                            now,
                            now,
                        ),
                    )
                if item.log is not None:
                    db.execute(
                        "INSERT OR REPLACE INTO nflog VALUES (?, ?, ?, ?, ?)",
                        (
                            item.receiver,
                            item.group_key,
                            orjson.dumps(sorted(item.log.firing)).decode(),
                            orjson.dumps(sorted(item.log.resolved)).decode(),
                            item.log.timestamp,
                        ),
                    )

    def pending(self, limit: int = 500) -> list[OutboxItem]:
        """Undelivered notifications, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, receiver, group_key, idempotency_key, payload, created_at, attempts,"
                " next_attempt_at FROM outbox WHERE status='pending' ORDER BY id LIMIT ?",
                (limit,),
            ).fetchall()
        return [
            OutboxItem(row[0], row[1], row[2], row[3], Notification.from_json(row[4]), *row[5:])
            for row in rows
        ]

    def mark_delivered(
        self, item: OutboxItem, now: float, thread_ref: str | None, clear_thread: bool
    ) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE outbox SET status='delivered', delivered_at=?, attempts=attempts+1,"
                " last_error=NULL WHERE id=?",
                (now, item.id),
            )
            if clear_thread:
                db.execute(
                    "DELETE FROM threads WHERE receiver=? AND group_key=?",
                    (item.receiver, item.group_key),
                )
            elif thread_ref is not None:
                db.execute(
                    "INSERT OR REPLACE INTO threads VALUES (?, ?, ?)",
                    (item.receiver, item.group_key, thread_ref),
                )

    def reschedule(self, item: OutboxItem, next_attempt_at: float, error: str) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE outbox SET attempts=attempts+1, next_attempt_at=?, last_error=? WHERE id=?",
                (next_attempt_at, error, item.id),
            )

    def defer(self, item: OutboxItem, next_attempt_at: float) -> None:
        with self._transaction() as db:
            db.execute("UPDATE outbox SET next_attempt_at=? WHERE id=?", (next_attempt_at, item.id))

    def mark_failed(self, item: OutboxItem, error: str) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE outbox SET status='failed', attempts=attempts+1, last_error=? WHERE id=?",
                (error, item.id),
            )

    def delivered_since(self, receiver: str, since: float) -> list[float]:
        """Delivery times to ``receiver`` after ``since`` (rate limiting), oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT delivered_at FROM outbox WHERE receiver=? AND status='delivered'"
                " AND delivered_at>? ORDER BY delivered_at",
                (receiver, since),
            ).fetchall()
        return [row[0] for row in rows]

    def outbox_counts(self) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute(
                "SELECT status, COUNT(*) FROM outbox GROUP BY status"
            ).fetchall()
        return {status: count for status, count in rows}

    def prune_outbox(self, before: float) -> None:
        """Forget delivered/failed rows older than ``before`` (pending rows are kept)."""
        with self._transaction() as db:
            db.execute("DELETE FROM outbox WHERE status!='pending' AND created_at<?", (before,))

    def thread(self, receiver: str, group_key: str) -> str | None:
        with self._lock:
            row = self._db.execute(
                "SELECT ref FROM threads WHERE receiver=? AND group_key=?", (receiver, group_key)
            ).fetchone()
        return None if row is None else str(row[0])

    # retraining -----------------------------------------------------------------------------
    def last_trigger(self, receiver: str, model_id: str) -> float | None:
        with self._lock:
            row = self._db.execute(
                "SELECT last_at FROM cooldowns WHERE receiver=? AND model_id=?",
                (receiver, model_id),
            ).fetchone()
        return None if row is None else float(row[0])

    def episode_seen(self, receiver: str, episode: str) -> bool:
        with self._lock:
            row = self._db.execute(
                "SELECT 1 FROM episodes WHERE receiver=? AND episode=?", (receiver, episode)
            ).fetchone()
        return row is not None

    def enqueue_trigger(self, item: Enqueue, model_id: str, episode: str, now: float) -> None:
        """Queue a retraining request and start the model's cooldown in one transaction."""
        assert item.notification is not None
        with self._transaction() as db:
            db.execute(
                "INSERT INTO outbox (receiver, group_key, idempotency_key, payload, created_at,"
                " next_attempt_at) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    item.receiver,
                    item.group_key,
                    item.idempotency_key,
                    item.notification.to_json(),
                    now,
                    now,
                ),
            )
            db.execute(
                "INSERT OR REPLACE INTO cooldowns VALUES (?, ?, ?)", (item.receiver, model_id, now)
            )
            db.execute(
                "INSERT OR REPLACE INTO episodes VALUES (?, ?, ?)", (item.receiver, episode, now)
            )

    # silences -------------------------------------------------------------------------------
    def add_silence(self, silence: Silence) -> None:
        data = {
            "matchers": [[m.name, m.op, m.value] for m in silence.matchers],
            "created_by": silence.created_by,
            "comment": silence.comment,
        }
        with self._transaction() as db:
            db.execute(
                "INSERT INTO silences VALUES (?, ?, ?, ?)",
                (silence.id, orjson.dumps(data).decode(), silence.starts_at, silence.ends_at),
            )

    def silences(self, now: float | None = None, include_expired: bool = True) -> list[Silence]:
        query = "SELECT id, data, starts_at, ends_at FROM silences"
        params: tuple[float, ...] = ()
        if not include_expired and now is not None:
            query += " WHERE ends_at > ?"
            params = (now,)
        with self._lock:
            rows = self._db.execute(query + " ORDER BY starts_at", params).fetchall()
        result = []
        for silence_id, data, starts_at, ends_at in rows:
            raw = orjson.loads(data)
            matchers = tuple(Matcher(name, op, value) for name, op, value in raw["matchers"])
            result.append(
                Silence(matchers, starts_at, ends_at, raw["created_by"], raw["comment"], silence_id)
            )
        return result

    def expire_silence(self, silence_id: str, now: float) -> bool:
        """End a silence now; ``False`` when no silence has that id (or a unique id prefix)."""
        with self._transaction() as db:
            rows = db.execute(
                "SELECT id FROM silences WHERE id LIKE ?", (silence_id + "%",)
            ).fetchall()
            if len(rows) != 1:
                return False
            db.execute("UPDATE silences SET ends_at=MIN(ends_at, ?) WHERE id=?", (now, rows[0][0]))
        return True
